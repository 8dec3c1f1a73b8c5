// The cookie-date of an Expires attribute, parsed with RFC 6265's algorithm (section 5.1.1), which
// accepts the many date formats servers actually send.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace roundtrip::cookies_detail {

/// Returns `t` as a system_clock time, clamped to the clock's range (libstdc++'s nanoseconds end in
/// 2262; RFC 6265 section 5.2.1 lets a date past the latest representable one be that one).
std::chrono::system_clock::time_point clamped(std::chrono::sys_seconds t) noexcept;

/// Returns the time `text` names (clamped), or nullopt when it is not a cookie-date.
std::optional<std::chrono::system_clock::time_point> parse_cookie_date(std::string_view text);

} // namespace roundtrip::cookies_detail
