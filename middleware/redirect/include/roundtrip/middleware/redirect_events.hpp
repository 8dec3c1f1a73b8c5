// The redirect middleware's events and error: each hop it follows, each 3xx it does not, and the
// error of a call that redirected too often.
#pragma once

#include <roundtrip/error.hpp>
#include <roundtrip/field_writer.hpp>

#include <cstdint>
#include <string_view>

namespace roundtrip {

/// Why the redirect middleware returned a 3xx response instead of following it.
enum class redirect_refusal {
    no_location,          ///< The response has no `Location` field.
    invalid_location,     ///< `Location` is not a URL reference, or does not resolve to an http(s) URL.
    downgrade,            ///< It leads from https to http (`redirect_options::allow_downgrade` is off).
    body_not_replayable,  ///< A 307 or 308 keeps the body, and the body cannot be sent again.
    policy,               ///< `redirect_options::policy` said stop.
};

/// Returns the enumerator's name: "downgrade", "body_not_replayable", ...
std::string_view to_string(redirect_refusal r) noexcept;

/// `redirect_followed` fires for each hop the middleware follows, before the request to `to` is sent.
/// `from` and `to` are the URLs as the requests carry them, which may hold credentials: writers
/// (logs, spans, the CLI's `--trace`) get them through the default redaction policy.
struct redirect_followed {
    static constexpr std::string_view event_name = "redirect_followed";
    static constexpr std::string_view attribute_prefix = "roundtrip.redirect";

    unsigned status = 0;   ///< The 3xx being followed.
    std::uint32_t hop = 0; ///< 1 for the first redirect of the call.
    std::string_view to_origin; ///< Where the next request goes: "https://example.com:443".
    bool cross_origin = false;  ///< It leaves the origin: credentials were removed.
    bool method_changed = false; ///< A 301, 302 or 303 turned the request into a GET without a body.
    std::string_view from; ///< The URL that answered with the 3xx.
    std::string_view to;   ///< The URL the next request goes to.

    /// Writes the URLs redacted (`redaction.hpp`'s default policy).
    void write_fields(field_writer& out) const;
};

/// `redirect_refused` fires when the middleware returns a 3xx instead of following it.
struct redirect_refused {
    static constexpr std::string_view event_name = "redirect_refused";
    static constexpr std::string_view attribute_prefix = "roundtrip.redirect";

    unsigned status = 0;
    redirect_refusal reason = redirect_refusal::no_location;

    void write_fields(field_writer& out) const { out("status", status), out("reason", to_string(reason)); }
};

/// The redirect middleware's own error codes; their class is named after each.
enum class redirect_error {
    /// The call met more redirects than `redirect_options::max_redirects` allows.
    too_many_redirects = 1,
};

/// The category of `redirect_error` (a `classified_category`: `error_class` names the class).
const classified_category& redirect_category() noexcept;
inline error_code make_error_code(redirect_error e) noexcept { return {static_cast<int>(e), redirect_category()}; }

} // namespace roundtrip

template <>
struct boost::system::is_error_code_enum<roundtrip::redirect_error> : std::true_type {};
