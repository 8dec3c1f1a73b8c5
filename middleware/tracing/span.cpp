// The span data model's out-of-line parts: id validity and hex, attribute lookup.
#include <roundtrip/middleware/tracing/span.hpp>

#include <algorithm>
#include <cstddef>
#include <span>

namespace roundtrip {
namespace {

bool has_nonzero_byte(std::span<const std::uint8_t> bytes) noexcept
{
    return std::any_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b != 0; });
}

// Lowercase, as W3C Trace Context requires in `traceparent` and OTLP/JSON accepts.
std::string lower_hex(std::span<const std::uint8_t> bytes)
{
    static constexpr char digits[] = "0123456789abcdef";
    std::string out(bytes.size() * 2, '0');
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 0xf];
    }
    return out;
}

} // namespace

bool trace_id::valid() const noexcept { return has_nonzero_byte(bytes); }

std::string trace_id::hex() const { return lower_hex(bytes); }

bool span_id::valid() const noexcept { return has_nonzero_byte(bytes); }

std::string span_id::hex() const { return lower_hex(bytes); }

const attribute_value* span::find(std::string_view key) const noexcept
{
    const auto it = std::find_if(attributes.begin(), attributes.end(), [&](const attribute& a) { return a.key == key; });
    return it == attributes.end() ? nullptr : &it->value;
}

} // namespace roundtrip
