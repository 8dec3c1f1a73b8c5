// Fuzzes what a request must pass before any connection is made: the method, the URL (Boost.URL and
// roundtrip's own checks on port and host) and a header field. Whatever is accepted must be safe to
// put on the wire: no byte in the request line or Host field that could end or split them.
#include "require.hpp"
#include "target.hpp"

#include <roundtrip/header_fields.hpp>

#include <cstdint>
#include <string_view>

using namespace roundtrip;
using roundtrip::fuzz::require;
using namespace roundtrip::detail;

namespace {

bool has_separator_or_control(std::string_view s)
{
    for (unsigned char c : s)
        if (c <= 0x20 || c == 0x7f)
            return true;
    return false;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    // Layout: the lengths of the method, the header name and the header value, then the three, then
    // the URL.
    if (size < 3)
        return 0;
    std::string_view rest(reinterpret_cast<const char*>(data + 3), size - 3);
    auto take = [&rest](std::size_t n) {
        auto part = rest.substr(0, std::min(n, rest.size()));
        rest.remove_prefix(part.size());
        return part;
    };
    const auto method = take(data[0] % 16), name = take(data[1] % 32), value = take(data[2]);

    request req{std::string(method), std::string(rest)};
    if (!name.empty())
        req.headers.insert(name, value);
    target t;
    if (parse_target(req, t))
        return 0;
    require(is_token(req.method));
    require(t.port != 0);
    require(!t.path.empty() && t.path.front() == '/');
    require(!has_separator_or_control(t.path));
    require(!t.host.empty() && !has_separator_or_control(t.host));
    require(!t.host_header.empty() && !has_separator_or_control(t.host_header));
    for (const auto& f : req.headers)
        require(is_token(f.name_string()) && is_field_value(f.value()));
    return 0;
}
