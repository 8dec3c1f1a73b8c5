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
    // OpenTelemetry's consistent probability sampling: keep a trace when its 56 random bits are at
    // least the rejection threshold (1 - ratio) * 2^56.
    constexpr double two_to_56 = 72057594037927936.0;
    return sampler(rule::ratio, static_cast<std::uint64_t>(std::ceil((1 - ratio) * two_to_56)), false);
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
    // The randomness W3C trace context level 2 guarantees: the trace id's rightmost 7 bytes.
    std::uint64_t randomness = 0;
    for (std::size_t i = 9; i < 16; ++i)
        randomness = (randomness << 8) | trace.bytes[i];
    return randomness >= threshold_;
}

} // namespace roundtrip
