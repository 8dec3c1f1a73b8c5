// A Set-Cookie field value parsed as RFC 6265 section 5.2 says (lenient, as user agents are),
// before the jar's storage rules judge it.
#pragma once

#include <roundtrip/middleware/cookie_jar.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace roundtrip::cookies_detail {

struct set_cookie {
    std::string name, value;
    std::optional<std::chrono::system_clock::time_point> expires; ///< Expires, when it parsed
    std::optional<std::int64_t> max_age;                          ///< Max-Age in seconds; wins over Expires
    std::optional<std::string> domain; ///< lowercase, without a leading dot; absent when empty
    std::optional<std::string> path;   ///< absent when empty or not starting with '/'
    bool secure = false;
    bool http_only = false;
    roundtrip::same_site same_site = same_site::unset;
};

/// Returns the parsed cookie, or nullopt when the value has no `=` in its first part, an empty
/// name, or a control character in its name or value.
std::optional<set_cookie> parse_set_cookie(std::string_view text);

/// `s` with ASCII letters in lowercase: domains, attribute names.
std::string lowercase(std::string_view s);

/// The name a Set-Cookie value gives its cookie (for an event), parsed or not.
std::string_view name_part(std::string_view text) noexcept;

} // namespace roundtrip::cookies_detail
