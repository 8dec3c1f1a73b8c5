// See trace_context.hpp.
#include <roundtrip/middleware/tracing/trace_context.hpp>

#include <chrono>
#include <cstdint>
#include <random>

namespace roundtrip {
namespace {

int hex_digit(char c) noexcept
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1; // uppercase is invalid in version 00
}

// Reads 2 * N lowercase hex digits into `out`.
template <std::size_t N>
bool read_hex(std::string_view text, std::array<std::uint8_t, N>& out) noexcept
{
    if (text.size() != 2 * N)
        return false;
    for (std::size_t i = 0; i < N; ++i) {
        const int hi = hex_digit(text[2 * i]), lo = hex_digit(text[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
    }
    return true;
}

// A per-thread xoshiro256** generator: fast, and good enough for ids that need to be unique, not
// secret. Seeded from the system's entropy once per thread.
class id_source {
public:
    id_source() noexcept
    {
        try {
            std::random_device entropy;
            for (auto& word : state_)
                word = (static_cast<std::uint64_t>(entropy()) << 32) ^ entropy();
        } catch (...) {
            // No entropy source: the clock and this thread's own address still differ between
            // threads and runs; splitmix64 spreads them over the state.
            std::uint64_t x = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count())
                              ^ reinterpret_cast<std::uintptr_t>(this);
            for (auto& word : state_) {
                x += 0x9e3779b97f4a7c15ULL;
                std::uint64_t z = x;
                z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
                z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
                word = z ^ (z >> 31);
            }
        }
    }

    std::uint64_t next() noexcept
    {
        const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
        const std::uint64_t t = state_[1] << 17;
        state_[2] ^= state_[0];
        state_[3] ^= state_[1];
        state_[1] ^= state_[2];
        state_[0] ^= state_[3];
        state_[2] ^= t;
        state_[3] = rotl(state_[3], 45);
        return result;
    }

private:
    static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
    std::uint64_t state_[4];
};

id_source& ids() noexcept
{
    thread_local id_source source;
    return source;
}

template <std::size_t N>
void fill_random(std::array<std::uint8_t, N>& bytes) noexcept
{
    do {
        for (std::size_t i = 0; i < N; i += 8) {
            std::uint64_t word = ids().next();
            for (std::size_t j = 0; j < 8 && i + j < N; ++j, word >>= 8)
                bytes[i + j] = static_cast<std::uint8_t>(word);
        }
    } while (bytes == std::array<std::uint8_t, N>{});
}

} // namespace

std::optional<span_context> parse_traceparent(std::string_view value) noexcept
{
    // version "-" trace-id "-" parent-id "-" flags: 2 + 1 + 32 + 1 + 16 + 1 + 2 = 55 characters.
    constexpr std::size_t size_00 = 55;
    if (value.size() < size_00 || value[2] != '-' || value[35] != '-' || value[52] != '-')
        return std::nullopt;
    std::array<std::uint8_t, 1> version{}, flags{};
    span_context out;
    if (!read_hex(value.substr(0, 2), version) || version[0] == 0xff || !read_hex(value.substr(3, 32), out.trace.bytes)
        || !read_hex(value.substr(36, 16), out.span.bytes) || !read_hex(value.substr(53, 2), flags))
        return std::nullopt;
    // Version 00 has nothing after the flags; a later version may add fields, after a dash.
    if (value.size() > size_00 && (version[0] == 0 || value[size_00] != '-'))
        return std::nullopt;
    if (!out.valid())
        return std::nullopt;
    out.sampled = (flags[0] & 0x01) != 0;
    return out;
}

std::string format_traceparent(const span_context& context)
{
    std::string out;
    out.reserve(55);
    out.append("00-").append(context.trace.hex()).append("-").append(context.span.hex());
    out.append(context.sampled ? "-01" : "-00");
    return out;
}

trace_id new_trace_id() noexcept
{
    trace_id id;
    fill_random(id.bytes);
    return id;
}

span_id new_span_id() noexcept
{
    span_id id;
    fill_random(id.bytes);
    return id;
}

} // namespace roundtrip
