// roundtrip's error codes, the error classes callers test for, and the mapping from any
// error_code (system, Asio, Beast, OpenSSL) to exactly one class.
#pragma once

#include <roundtrip/detail/config.hpp>

#include <boost/system/system_error.hpp>

#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

namespace roundtrip {

/// An `error` is a failure roundtrip itself detects. Its category is named "roundtrip"; messages are
/// short, lowercase and never contain request data (header values, URLs), so they are safe to log.
enum class error {
    /// The URL does not parse as an absolute URI with a host.
    invalid_url = 1,
    /// The URL's scheme is not one roundtrip speaks (`http` and `https`).
    unsupported_scheme,
    /// The URL's port is not a number from 1 to 65535.
    invalid_port,
    /// The method is empty or is not an RFC 9110 token (for example it holds a space, CR, LF or NUL).
    invalid_method,
    /// A header name is empty or is not an RFC 9110 token.
    invalid_header_name,
    /// A header value holds CR, LF, NUL or another control character.
    invalid_header_value,
    /// A setting is unusable: a TLS file that is missing, unreadable or malformed, a cipher list or
    /// ALPN protocol OpenSSL or roundtrip refuses.
    invalid_config,
    /// Name resolution found no address for the host.
    host_not_found,
    /// Name resolution failed for another reason (the resolver's own error is not kept).
    dns_failed,
    /// Name resolution and connecting together took longer than `timeouts::connect`.
    connect_timeout,
    /// No response byte arrived within `timeouts::response_header` after the request was written.
    response_header_timeout,
    /// A read of the response made no progress for `timeouts::read_inactivity`.
    read_timeout,
    /// A write of the request made no progress for `timeouts::write_inactivity`.
    write_timeout,
    /// The call's deadline passed before a response was obtained.
    deadline_exceeded,
    /// The server closed the connection before the response was complete.
    unexpected_eof,
    /// The server's response does not follow HTTP/1.1 framing.
    protocol_error,
    /// The response head exceeded the header size limit.
    header_too_large,
    /// The response body exceeded the body size limit.
    body_too_large,
    /// The call was cancelled through its cancellation slot or by `client::close()`.
    canceled,
    /// A coroutine middleware let an exception other than `system_error` escape.
    middleware_threw,
    /// A request's `body_source` delivered more or fewer bytes than its `length()` announced.
    body_length_mismatch,
    /// The server's certificate chain does not lead to a trusted CA (unknown issuer, self-signed).
    tls_untrusted_certificate,
    /// The server's certificate, or one in its chain, has expired or is not valid yet.
    tls_certificate_expired,
    /// The server's certificate is not for the URL's host (or IP address).
    tls_hostname_mismatch,
    /// The TLS handshake failed for another reason: no common version or cipher, an alert, a
    /// certificate the server refused.
    tls_handshake_failed,
    /// The server does not speak TLS on this port (it answered in plain text, e.g. plain HTTP).
    tls_not_spoken,
    /// The TLS handshake took longer than `tls_options::handshake_timeout`.
    tls_handshake_timeout,
    /// The server answered a plain-HTTP request in TLS: the URL should be https.
    tls_answer_to_http,
    /// The server refused the connection: nothing listens on the port. (The operating system's own
    /// code is on the `connect_done` event; so for the next three.)
    connection_refused,
    /// The connection was reset or broken by the server or the network.
    connection_reset,
    /// The network or the host is unreachable, or no local address can reach it.
    network_unreachable,
    /// The operating system gave up on the connection (unanswered retransmissions or keep-alive probes).
    network_timeout,
    /// Reading or writing failed in a way none of the other codes names.
    io_failed,
    /// TLS failed after the handshake: a record that does not decrypt or parse, or an alert from the
    /// server. (An alert refusing the client's certificate, which TLS 1.3 sends after the handshake
    /// completed, is `tls_handshake_failed`.)
    tls_failed,
    /// A proxy refused to open the tunnel or relay the connection: a `CONNECT` answered with
    /// anything but 2xx (its status is on `proxy_connect_done`), or an answer that is not HTTP.
    proxy_error,
};

/// A `condition` is a class of errors that callers test for: `ec == condition::timeout` holds for
/// every timeout, whichever layer reported it. `classify` maps each error_code to exactly one class.
/// The enumerators' names are the error class names the CLI prints.
enum class condition {
    timeout = 1,
    connection_refused,
    connection_reset,
    connect_failed,
    eof,
    dns_failure,
    tls_verify_failed,
    hostname_mismatch,
    tls_handshake_failed,
    protocol_error,
    header_too_large,
    body_too_large,
    invalid_url,
    invalid_header,
    invalid_method,
    invalid_config,
    proxy_error,
    canceled,
    other,
};

/// Returns the category of `error`, named "roundtrip".
const boost::system::error_category& error_category() noexcept;

/// Returns the category of `condition`, named "roundtrip.condition".
const boost::system::error_category& condition_category() noexcept;

/// Returns `e` as an error_code in roundtrip's category.
error_code make_error_code(error e) noexcept;

/// Returns `c` as an error_condition that compares equal to every error_code of that class.
boost::system::error_condition make_error_condition(condition c) noexcept;

/// Returns `ec` as a code of roundtrip's category, of the same class: a system, Asio, Beast or
/// OpenSSL error becomes the `error` that names it (`ECONNREFUSED` is `error::connection_refused`).
/// Success, roundtrip's own codes and codes of other categories (a plugin's own) are returned as
/// they are. Every call completes with its error passed through this; a custom round tripper can
/// do the same.
error_code as_roundtrip_error(const error_code& ec) noexcept;

/// Returns the one class `ec` belongs to, of roundtrip's own; `condition::other` for anything
/// unknown, and for a middleware's class of its own (which `error_class` names).
/// A default-constructed (success) error_code has no class: calling this with one is a caller bug.
condition classify(const error_code& ec) noexcept;

/// Returns the class's name, as the CLI prints it: "timeout", "connection_refused", ...
std::string_view to_string(condition c) noexcept;

/// A `classified_category` is the base of a middleware's own error category: each of its codes
/// belongs to a class, named by `class_name`, which is what the CLI, the logging and tracing
/// middleware and `call_failed` show (`too_many_redirects: ...`). A class may be one of roundtrip's
/// (`to_string(condition)`'s names: "timeout", "protocol_error", ...), and then `classify` and
/// `ec == condition::...` see the code as that class too; or a name of the middleware's own, in
/// snake_case, which `classify` calls `condition::other`. Messages follow roundtrip's rule: short,
/// lowercase, never request data.
class classified_category : public boost::system::error_category {
public:
    /// Returns the class of code `ev`. Must not throw; the view must stay valid for the program's life.
    virtual std::string_view class_name(int ev) const noexcept = 0;

    /// Maps the code to roundtrip's condition of the same name, when its class is one of them.
    boost::system::error_condition default_error_condition(int ev) const noexcept override;
};

/// Returns the name of the class `ec` belongs to: `to_string(classify(ec))` for roundtrip's codes and
/// for the system, Asio, Beast and OpenSSL codes it translates; the class a `classified_category`
/// names for its code; "other" for anything else. A success has no class: calling this with one is a
/// caller bug.
std::string_view error_class(const error_code& ec) noexcept;

/// What `client::send` throws: a `boost::system::system_error` (so `e.code()` is the error) whose
/// `what()` reads "CLASS: message" (`error_class`), e.g. "connection_refused: connection refused", without the
/// category, value and source location a plain system_error appends.
class call_failed : public boost::system::system_error {
public:
    explicit call_failed(error_code ec);
    const char* what() const noexcept override { return text_.c_str(); }

private:
    std::string text_;
};

} // namespace roundtrip

template <>
struct boost::system::is_error_code_enum<roundtrip::error> : std::true_type {};

template <>
struct boost::system::is_error_condition_enum<roundtrip::condition> : std::true_type {};
