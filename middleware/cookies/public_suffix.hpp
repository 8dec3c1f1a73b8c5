// Whether a domain is a public suffix ("com", "co.uk", "github.io"), from Debian's public suffix
// list through libpsl: a server may not set a cookie for one.
#pragma once

#include <string_view>

namespace roundtrip::cookies_detail {

/// `domain` is lowercase ASCII (an IDN in its punycode form), without a trailing dot.
bool is_public_suffix(std::string_view domain);

/// Returns the registrable domain `domain` is in, the public suffix and one label more
/// ("shop.example.co.uk" -> "example.co.uk"): what browsers call its site. `domain` itself when it
/// has none (a public suffix, "localhost").
std::string registrable_domain(std::string_view domain);

} // namespace roundtrip::cookies_detail
