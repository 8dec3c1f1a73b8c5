// The cookies middleware's event: a Set-Cookie the jar refused, and why.
#pragma once

#include <roundtrip/field_writer.hpp>

#include <string_view>

namespace roundtrip {

/// Why a cookie jar refused a `Set-Cookie`.
enum class cookie_refusal {
    invalid,            ///< It does not parse (no `=`, an empty name), or the response's URL does not.
    too_large,          ///< Its name and value together pass `max_cookie_bytes` (4096).
    public_suffix,      ///< Its `Domain` is a public suffix ("co.uk") other than the host itself.
    domain_mismatch,    ///< Its `Domain` does not cover the host that sent it.
    secure_over_http,   ///< It is `Secure` but came over http (RFC 6265bis).
    prefix_rules,       ///< Its name starts `__Secure-` or `__Host-` and it breaks that prefix's rules.
    overwrites_secure,  ///< It came over http and would replace a `Secure` cookie (RFC 6265bis).
};

/// Returns the enumerator's name: "public_suffix", "secure_over_http", ...
std::string_view to_string(cookie_refusal r) noexcept;

/// `cookie_refused` fires when the cookies middleware's jar refuses a `Set-Cookie` of a response.
/// The cookie's value is never part of it.
struct cookie_refused {
    static constexpr std::string_view event_name = "cookie_refused";
    static constexpr std::string_view attribute_prefix = "roundtrip.cookies";

    std::string_view name; ///< The cookie's name, as far as it parsed.
    cookie_refusal reason = cookie_refusal::invalid;

    void write_fields(field_writer& out) const { out("name", name), out("reason", to_string(reason)); }
};

} // namespace roundtrip
