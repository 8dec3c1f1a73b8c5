// The request a call sends, with the per-request settings and the observers of its attempts.
#pragma once

#include <roundtrip/detail/config.hpp>
#include <roundtrip/events.hpp>
#include <roundtrip/header_fields.hpp>
#include <roundtrip/limits.hpp>
#include <roundtrip/tls.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace roundtrip {

class body_source;

namespace detail {
struct call_state;
struct observer_node;
struct request_access;
} // namespace detail

/// A `request` is one HTTP request: method, absolute URL, headers and a buffered body, plus the
/// settings that belong to this request alone. Middleware receive it by value and may change it.
///
/// Nothing is checked when a request is built: the transport validates the method, URL and headers
/// before any connection is made and fails the attempt with `error::invalid_url`, `invalid_method`,
/// `invalid_header_name` or `invalid_header_value`.
///
/// The transport adds `Host` and, when there is a body or the method expects one, `Content-Length`.
/// A request is a value: copies share the observers added before the copy, and the call they
/// belong to. It is not safe to use one request object from two threads at once.
class request {
public:
    /// The method, e.g. "GET"; any RFC 9110 token. Default "GET".
    std::string method = "GET";
    /// The absolute URL, e.g. "http://example.com:8080/path?q=1". User info in it is never sent.
    std::string url;
    /// Header fields, sent after `Host` (a `Host` field here replaces the URL's authority).
    /// `Content-Length`, `Transfer-Encoding` and `Connection` are the transport's to set.
    header_fields headers;
    /// The body, sent as is with a `Content-Length`. Empty means none.
    std::string body;
    /// A body produced while the request is sent (a `body_pipe`, or a `body_source` of your own);
    /// when set, it replaces `body`. One-shot: the request is then not replayable.
    std::shared_ptr<body_source> body_stream;
    /// Leaves the response body on the connection for the caller to read through
    /// `response::body_stream`, without a size limit; the connection returns to the pool when the
    /// body has been read to its end. Default false: the body is read into `response::body`.
    bool stream_response = false;
    /// Replaces the transport's limits for this request.
    std::optional<roundtrip::limits> limits;
    /// Replaces the transport's TLS configuration for this request's server (https only; TLS with
    /// an `https://` proxy keeps the transport's): its connections are made, pooled and reused
    /// apart from those of other configs.
    std::optional<tls_config> tls;
    /// How long the whole call may take; 0 means the client's default (`client_options::timeout`).
    /// Read by the client when the call starts; afterwards, read `deadline()`.
    clock::duration timeout{};
    /// Asks the transport for a new connection instead of an idle one, e.g. after a failure on a
    /// reused connection. The new connection is pooled afterwards like any other.
    bool new_connection = false;

    request() = default;
    /// Builds a request with a method and a URL.
    request(std::string_view method, std::string_view url);

    /// Returns when the call must be finished: set by the client when the call starts from
    /// `timeout` or the client's default; `clock::time_point::max()` means no deadline.
    /// Middleware that wait (a retry's backoff) must not wait past it; the transport enforces it.
    clock::time_point deadline() const noexcept { return deadline_; }

    /// Sets the deadline directly; for middleware that shorten it, e.g. a per-attempt timeout.
    void set_deadline(clock::time_point t) noexcept { deadline_ = t; }

    /// Adds an observer of every attempt made with this request from now on, including the
    /// transport's transparent retries. Observers added earlier (by outer middleware) receive each
    /// event first. The request and its copies share ownership of `o` until their last attempt's
    /// last event. Adding one allocates once; a request without observers allocates nothing for them.
    void observe(std::shared_ptr<observer> o, observer_hooks hooks = observer_hooks::events);

    /// The call this request belongs to, set by the client; 0 outside a client call.
    std::uint64_t call_id() const noexcept;

private:
    friend struct detail::request_access;

    clock::time_point deadline_ = clock::time_point::max();
    std::shared_ptr<const detail::observer_node> observers_; // innermost first; shared by copies
    std::shared_ptr<detail::call_state> call_;               // shared by copies; null outside a client
};

/// Returns whether `req` may be sent again after it may have reached the server: its method is
/// idempotent (RFC 9110, section 9.2.2: GET, HEAD, OPTIONS, TRACE, PUT, DELETE) or it carries an
/// `Idempotency-Key` header, and its body can be sent again: a buffered body can, a `body_stream`
/// cannot. This is the
/// library's one replayability rule: the transport's transparent retries and the retry middleware
/// both ask it.
bool is_replayable(const request& req) noexcept;

/// Returns whether `req`'s body can be sent again, whatever its method: a buffered body (or none)
/// can, a `body_stream` cannot. For a middleware that resends a request the server refused without
/// acting on it (a 401, a 421), where the method's idempotency does not matter.
bool body_is_replayable(const request& req) noexcept;

/// An `origin` is where a request goes, as the transport dials it (RFC 6454): scheme, host and port.
struct origin {
    std::string scheme;     ///< "http" or "https"
    std::string host;       ///< A name, or an IP literal without brackets ("::1").
    std::uint16_t port = 0; ///< The URL's port, or the scheme's default (80, 443).

    friend bool operator==(const origin&, const origin&) = default;
};

/// Returns the origin of `req.url`, or nullopt when it is not an absolute http or https URL the
/// transport would accept. For a middleware that keys state on the destination (a circuit breaker,
/// a per-host limit) without parsing URLs itself; `http://h:443` and `https://h:443` differ.
std::optional<origin> origin_of(const request& req);

/// Returns the origin as "https://example.com:443" ("http://[::1]:8080" for IPv6).
std::string to_string(const origin& o);

} // namespace roundtrip
