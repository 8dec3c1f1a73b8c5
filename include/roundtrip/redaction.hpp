// The redaction policy: which header values and URL parts are secret, and how they are shown. One
// policy for everything that writes requests down: logging, the CLI, tracing, metrics.
#pragma once

#include <roundtrip/header_fields.hpp>

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace roundtrip {

/// What a redacted value is replaced with (OpenTelemetry's convention for `url.full`).
inline constexpr std::string_view redacted = "REDACTED";

/// A `redaction` decides which header values and URL parts may be written down. The default, which
/// every writer of roundtrip uses (logging, tracing, the CLI), redacts the values of the headers
/// `Authorization`, `Proxy-Authorization`, `Cookie`, `Set-Cookie`, `WWW-Authenticate`,
/// `Proxy-Authenticate`, `X-Api-Key`, `X-Auth-Token` and `X-Amz-Security-Token`; the user info of
/// URLs; and the query parameters that carry credentials in pre-signed URLs and OAuth: `AWSAccessKeyId`,
/// `Signature`, `X-Amz-Signature`, `X-Amz-Credential`, `X-Amz-Security-Token`, `X-Goog-Signature`,
/// `X-Goog-Credential`, `sig` and `access_token`. More header names and query parameters can be added. `allow_only` turns it around: every header value is redacted except the names listed.
/// Header names compare case-insensitively, query parameter names exactly. Copyable, immutable once
/// shared; safe to read from many threads.
class redaction {
public:
    /// The default policy described above.
    redaction();

    /// A policy that shows only the values of `headers` (and still redacts URL user info).
    static redaction allow_only(std::initializer_list<std::string_view> headers);

    /// Redacts the values of header `name` too.
    redaction& redact_header(std::string_view name);
    /// Redacts the values of query parameter `name` in URLs.
    redaction& redact_query(std::string_view name);

    /// Returns whether the values of header `name` are redacted.
    bool redacts(std::string_view header_name) const noexcept;

    /// Returns whether the values of query parameter `name` (decoded) are redacted in URLs.
    bool redacts_query(std::string_view name) const noexcept;

    /// Returns `value`, or `redacted` when header `name` is secret.
    std::string_view header_value(std::string_view name, std::string_view value) const noexcept;

    /// Returns `url` with its user info and the values of redacted query parameters replaced by
    /// `redacted`. A URL that does not parse is returned as "(unparsed url)": it may hold anything.
    std::string url(std::string_view url) const;

private:
    bool allow_list_ = false;
    std::vector<std::string> headers_; // denied, or (allow-list mode) allowed, names
    std::vector<std::string> query_;
};

} // namespace roundtrip
