// Whether a domain is a public suffix ("com", "co.uk", "github.io"), from Debian's public suffix
// list through libpsl: a server may not set a cookie for one.
#pragma once

#include <string_view>

namespace roundtrip::cookies_detail {

/// `domain` is lowercase ASCII (an IDN in its punycode form).
bool is_public_suffix(std::string_view domain);

} // namespace roundtrip::cookies_detail
