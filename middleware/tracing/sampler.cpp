// See sampler.hpp.
#include <roundtrip/middleware/tracing/sampler.hpp>

#include <algorithm>
#include <cmath>

namespace roundtrip {

sampler sampler::always_on() noexcept { return sampler(rule::always, 0, false); }

sampler sampler::always_off() noexcept { return sampler(rule::never, 0, false); }

sampler sampler::ratio(double ratio) noexcept
{
    if (!(ratio > 0)) // NaN included
        return always_off();
    if (ratio >= 1)
        return always_on();
    constexpr double span = 9223372036854775808.0; // 2^63
    return sampler(rule::ratio, static_cast<std::uint64_t>(std::floor(ratio * span)), false);
}

sampler sampler::parent_based(sampler root) noexcept
{
    root.parent_based_ = true;
    return root;
}

bool sampler::should_sample(const span_context* parent, const trace_id& trace) const noexcept
{
    if (parent_based_ && parent && parent->valid())
        return parent->sampled;
    switch (rule_) {
    case rule::always: return true;
    case rule::never: return false;
    case rule::ratio: break;
    }
    // The trace id's last 8 bytes as a big-endian number, its top bit dropped: W3C level 2 asks
    // that the rightmost 7 bytes be random, and the top bit keeps the comparison in 63 bits.
    std::uint64_t low = 0;
    for (std::size_t i = 8; i < 16; ++i)
        low = (low << 8) | trace.bytes[i];
    return (low & 0x7fffffffffffffffULL) < threshold_;
}

} // namespace roundtrip
