// Lifecycle events of calls, attempts and connections, and the observers that receive them.
//
// An event is a small value recording one moment: `dns_start`, `got_conn{reused, was_idle, idle_time}`,
// `conn_closed{reason}`. Observers receive events. When nobody observes, events cost nothing: the
// transport checks for observers before it builds an event, so nothing is built, allocated, formatted
// or called.
//
// Who receives what
//   - An observer registered on the client (`client_options::observers`, or the observer a middleware's
//     layer is built with, `layer(middleware, observer)`) receives every event of every call, and the
//     connection-scoped events that no call owns (an idle connection closed by the pool: call id 0,
//     attempt 0).
//   - An observer a middleware adds to a request with `request::observe` receives the events of every
//     attempt made beneath that middleware's call to `next`, including the transport's own transparent
//     retries; it never sees the events of an attempt another middleware started on a copy made
//     before the observer was added. Several observers of one attempt each receive every event, in
//     chain order: client observers first, then scoped observers outermost first.
//
// The contract for observers
//   - Events arrive on the client's strand, one at a time: never concurrently for one client.
//   - Observers are fast and never block, throw (`on_event` is noexcept) or call back into the client.
//     Copy what you need: string views and spans in an event are valid only during the call.
//   - Every `*_start` is followed by its `*_done` for the same call and attempt, also on failure and
//     cancellation: dns_start/dns_done, connect_start/connect_done (one pair per address tried),
//     proxy_connect_start/proxy_connect_done, tls_handshake_start/tls_handshake_done, wait_for_conn_start/wait_for_conn_done,
//     call_start/call_done.
//   - On a reused connection there are no dns_*, connect_*, proxy_connect_* or tls_* events: got_conn follows get_conn
//     with `reused = true`. An IP-literal host, or a dial through a Unix-domain socket, has no dns_*
//     events. A dial whose addresses from the DNS cache all failed looks the name up again: a second
//     [dns_start, dns_done] pair follows its connect_* pairs.
//   - The order within an attempt is: get_conn, [wait_for_conn_start, wait_for_conn_done],
//     [dns_start, dns_done], [connect_start, connect_done]..., [proxy_connect_start, proxy_connect_done],
//     [tls_handshake_start, tls_handshake_done],
//     got_conn, wrote_headers, wrote_request, got_first_response_byte, [got_1xx]..., response_headers,
//     response_body_done, then put_idle_conn or conn_not_pooled followed by conn_closed, and last
//     attempt_done. An attempt that fails stops where it failed; its connection, if it had one, still
//     reports conn_not_pooled{broken or protocol_error} and conn_closed; attempt_done ends it too,
//     with the error. (An attempt refused before it asked for a connection — an invalid URL — has no
//     events at all.)
//   - Late binding: an attempt that started a dial and was handed another connection first (one that
//     another attempt returned) reports that connection's got_conn and exchange, while its own dial's
//     remaining dns_*/connect_* events arrive later — possibly after call_done — with the dial's
//     connection id, which differs from got_conn's. Every *_start still gets its *_done.
//   - A retry (by the transport or by a middleware) repeats the sequence with the next attempt number.
//   - A middleware reports its own decisions as events of its own (`custom_event`, middleware_event.hpp)
//     with `emit` (middleware.hpp), to the client's observers and to the observers of middleware above
//     it: the retry middleware's retry_scheduled and retry_given_up, say. They carry the call's last
//     attempt number and arrive in `event_data` as a `middleware_event`.
//   - Events that may arrive after the call completed: conn_closed for a connection that was pooled
//     (idle timeout, peer close, client close); events of a connection whose dial the call abandoned.
//     A buffered response's events all precede the call's completion. A streamed one
//     (`request::stream_response`) reports attempt_done after its head, and response_body_done,
//     put_idle_conn or conn_not_pooled, and conn_closed when its body ends, which is after call_done.
#pragma once

#include <roundtrip/detail/config.hpp>
#include <roundtrip/field_writer.hpp>
#include <roundtrip/header_fields.hpp>
#include <roundtrip/middleware_event.hpp>

#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>

namespace roundtrip {

/// An `endpoint` is a TCP address and port.
using endpoint = asio::ip::tcp::endpoint;

/// Why a connection was not returned to the pool after its response.
enum class not_pooled_reason {
    connection_close,    ///< `Connection: close`, HTTP/1.0 without keep-alive, or a read-until-close body.
    body_not_drained,    ///< The response body was not read to its end.
    pool_full,           ///< The host's idle limit (`max_idle_per_host`) is reached, or only attempts that
                         ///< want a new connection wait for the host. (At the total limit, `max_idle`,
                         ///< the longest-idle connection is evicted instead.)
    keep_alive_disabled, ///< The transport does not keep connections alive.
    max_lifetime,        ///< The connection is older than the pool's maximum lifetime.
    broken,              ///< An I/O error, timeout or cancellation left the connection unusable.
    protocol_error,      ///< The server broke HTTP/1.1 framing (or TLS's, after the handshake); the bytes
                         ///< that follow cannot be trusted.
    request_body_unsent, ///< The server answered before the announced request body was sent
                         ///< (`Expect: 100-continue`): it may still wait for that body.
};

/// Why a connection was closed.
enum class close_reason {
    not_pooled,       ///< Closed after its response; a conn_not_pooled event said why.
    idle_timeout,     ///< Idle for longer than the pool's idle timeout.
    max_lifetime,     ///< Older than the pool's maximum lifetime while idle.
    peer_closed_idle, ///< The server closed it while it was idle.
    stray_bytes_idle, ///< The server sent bytes while it was idle; they cannot be a response.
    close_idle,       ///< `close_idle()` was called.
    client_closed,    ///< The client was closed.
    evicted,          ///< Its place was needed: the idle pool was full (`max_idle`) and this was its
                      ///< longest-idle connection, or an attempt wanting a new connection waited at
                      ///< the host's connection limit.
    error,            ///< A read error (not a clean close) while it was idle.
};

/// Why an attempt did not get a connection from the idle pool (`got_conn::not_reused`).
enum class not_reused_reason {
    none,                     ///< It did: the connection was idle in the pool (`was_idle`).
    no_idle,                  ///< The pool had no idle connection for the attempt's scheme, host and port.
    idle_stale,               ///< The idle ones were found closed by the server (or sent stray bytes).
    idle_expired,             ///< The idle ones were past the idle timeout or the maximum lifetime.
    new_connection_requested, ///< The request asked for a new connection (`request::new_connection`).
};

/// Where a dial's addresses came from (`dns_done::source`).
enum class dns_source {
    lookup,    ///< The resolver was asked for this dial.
    cache,     ///< The transport's DNS cache (`dns_cache_options`), without a lookup.
    coalesced, ///< A lookup another dial had started for the same name: one resolver call served both.
    pinned,    ///< The name is pinned (`name_pins`): no lookup, no cache.
};

/// `call_start` fires when `client::async_send` starts a call, before the first middleware runs.
struct call_start {
    std::string_view method;
    std::string_view url; ///< As given: may hold credentials; redact before recording it.
};
/// `call_done` fires when the call completes, after the last middleware returned.
struct call_done {
    error_code error;     ///< Success iff the call obtained a response.
    unsigned status = 0;  ///< The response's status, 0 when there is none.
    clock::duration took{}; ///< Since call_start.
};
/// `get_conn` fires when an attempt asks the transport for a connection: the first event of an attempt.
/// It says where the attempt goes and what it sends, for observers that see attempts without the
/// call (scoped observers receive no `call_start`).
struct get_conn {
    std::string_view scheme; ///< "http" or "https": with host and port, what connections are pooled by.
    std::string_view host;
    std::uint16_t port = 0;
    std::string_view method;
    std::string_view url; ///< As given: may hold credentials; redact before recording it. Not among
                          ///< the fields writers show (`write_fields`).
    bool transparent_retry = false; ///< The round tripper resends the previous attempt's request by
                                    ///< itself: that attempt failed on a reused connection before any
                                    ///< response byte (`attempt_events::retries_transparently`).
};
/// `wait_for_conn_start` fires when an attempt waits because its host is at its connection limit.
struct wait_for_conn_start {};
/// `wait_for_conn_done` ends the wait, with an error when the wait was cancelled or timed out.
struct wait_for_conn_done {
    error_code error;
    clock::duration took{}; ///< Since wait_for_conn_start.
};
/// `dns_start` fires when name resolution starts; never for an IP-literal host.
struct dns_start {
    std::string_view host;
};
/// `dns_done` ends name resolution with the addresses found or an error, and says where they came
/// from. A dial that fails on every address from the cache looks the name up once more: a second
/// dns_start/dns_done pair, whose source is `lookup` (or `coalesced`).
struct dns_done {
    std::span<const endpoint> addresses;
    error_code error;
    clock::duration took{}; ///< Since dns_start.
    dns_source source = dns_source::lookup;
};
/// `connect_start` fires for each address a dial tries, in order.
struct connect_start {
    endpoint remote;              ///< Unspecified (0.0.0.0:0) for a Unix-domain socket.
    std::string_view unix_socket; ///< The socket's path, when the dial connects to one.
};
/// `connect_done` ends the connect to one address: success, its failure, or canceled when
/// another address won the race.
struct connect_done {
    endpoint remote;
    error_code error; ///< The operating system's own code (e.g. ECONNREFUSED); the call ends with
                      ///< its roundtrip counterpart (`error::connection_refused`).
    clock::duration took{}; ///< Since this address's connect_start.
    std::string_view unix_socket; ///< The socket's path, when the dial connected to one (`remote` is
                                  ///< then unspecified).
};
/// `proxy_connect_start` fires when a dial asks a proxy for a tunnel, once the connection to the
/// proxy is made: `CONNECT` to an HTTP proxy (for https), the SOCKS5 handshake (for http and https).
struct proxy_connect_start {
    std::string_view proxy;  ///< The proxy as `scheme://host:port`; never its credentials.
    std::string_view target; ///< The `host:port` the tunnel goes to (for socks5://, the address resolved here).
};
/// `proxy_connect_done` ends it: the tunnel is open, or `error` says why not. From an HTTP proxy,
/// anything but 2xx is `proxy_error`. From a SOCKS5 proxy, a reply code other than 0 is
/// `connection_refused` for 5 (the server refused the proxy), else `proxy_error`; so is a refused
/// authentication or a proxy that does not speak SOCKS5.
struct proxy_connect_done {
    /// The proxy's answer: the HTTP status of its answer to `CONNECT`, or the SOCKS5 reply code (RFC
    /// 1928's REP: 0 succeeded, 1 general failure, 2 not allowed, 3 network unreachable, 4 host
    /// unreachable, 5 connection refused, 6 TTL expired, 7 command or 8 address type not supported).
    /// 0 when none arrived (`error` says why).
    unsigned status = 0;
    error_code error;
    clock::duration took{}; ///< Since proxy_connect_start.
};
/// `tls_handshake_start` fires before a TLS handshake on a new connection.
struct tls_handshake_start {
    std::string_view server_name; ///< The SNI sent; empty for an IP literal (RFC 6066 forbids it).
};
/// `tls_handshake_done` ends the handshake. On failure `error` is set, and when the server's
/// certificate was refused, `peer_subject` and `verify_error` say whose and why.
struct tls_handshake_done {
    error_code error;
    std::string_view version;      ///< "TLSv1.3", "TLSv1.2"
    std::string_view cipher;       ///< The negotiated cipher suite, e.g. "TLS_AES_256_GCM_SHA384".
    std::string_view alpn;         ///< The protocol the server chose by ALPN; empty if none.
    bool resumed = false;          ///< A session of an earlier connection was resumed.
    std::string_view peer_subject; ///< The server certificate's subject, one line; empty on resumption
                                   ///< when the session does not carry it. Also set when verification failed.
    std::string_view verify_error; ///< Why verification refused the server's certificate, in OpenSSL's
                                   ///< words ("self-signed certificate", "certificate has expired",
                                   ///< "hostname mismatch"); empty when it did not.
    clock::duration took{};        ///< Since tls_handshake_start.
};
/// `got_conn` fires when an attempt has a connection to write its request on.
struct got_conn {
    bool reused = false;             ///< The connection served an earlier request.
    bool was_idle = false;           ///< It was taken from the idle pool.
    clock::duration idle_time{};     ///< How long it was idle, when `was_idle`.
    endpoint local;
    endpoint remote;
    not_reused_reason not_reused = not_reused_reason::none; ///< Why the idle pool did not serve the
                                                            ///< attempt; `none` when `was_idle`.
    bool late_bound = false; ///< The attempt was waiting for a dial of its own and got a connection another
                             ///< attempt returned first (its dial's events come later, see above).
};
/// `wrote_headers` fires when the request head has been handed to the socket.
struct wrote_headers {};
/// `wrote_request` fires when the whole request was written, or its write failed.
struct wrote_request {
    std::uint64_t bytes = 0; ///< Bytes written, head and body.
    error_code error;
};
/// `got_first_response_byte` fires when the first byte of the response arrives.
struct got_first_response_byte {};
/// `got_1xx` fires for each interim (1xx) response; the final response follows.
struct got_1xx {
    unsigned status = 0;
};
/// `response_headers` fires when the final response head has been read.
struct response_headers {
    unsigned status = 0;
    unsigned version = 11; ///< The response's HTTP version: 11 or 10.
};
/// `response_body_done` fires when the response body has been read to its end, or its read failed.
struct response_body_done {
    std::uint64_t bytes = 0;
    error_code error;
};
/// `put_idle_conn` fires when the connection returns to the idle pool.
struct put_idle_conn {};
/// `conn_not_pooled` fires when the connection is not returned to the pool; conn_closed follows.
struct conn_not_pooled {
    not_pooled_reason reason;
};
/// `attempt_done` ends an attempt: the transport's last event for it, whether it obtained a response
/// or failed, so observers can close what they opened at `get_conn`. For a streamed response it fires
/// once the head has been read; the body's events follow when it is read.
struct attempt_done {
    error_code error;    ///< Success iff the attempt obtained a response.
    unsigned status = 0; ///< The response's status, 0 when there is none.
    clock::duration took{}; ///< Since get_conn; 0 for an attempt that ended before asking for a connection.
};
/// `conn_closed` fires when a connection is closed.
struct conn_closed {
    close_reason reason;
    std::uint64_t requests_served = 0;
    clock::duration lifetime{};
};

/// The payload of an event: exactly one of the event types above, or a `middleware_event` carrying
/// an event a middleware defined (middleware_event.hpp).
using event_data = std::variant<
    call_start, call_done, get_conn, wait_for_conn_start, wait_for_conn_done, dns_start, dns_done,
    connect_start, connect_done, proxy_connect_start, proxy_connect_done, tls_handshake_start, tls_handshake_done, got_conn, wrote_headers,
    wrote_request, got_first_response_byte, got_1xx, response_headers, response_body_done,
    put_idle_conn, conn_not_pooled, conn_closed, attempt_done, middleware_event>;

/// An `event` is one moment of a call, an attempt or a connection, with where and when it happened.
struct event {
    std::uint64_t call = 0;      ///< The call's id, from 1; 0 for a connection event no call owns.
    std::uint32_t attempt = 0;   ///< The attempt's number within its call, from 1; 0 outside attempts.
    std::uint64_t conn = 0;      ///< The connection's id, from 1: the one being dialed for dns_*, connect_*
                                 ///< and tls_* events; 0 while the attempt has none.
    clock::time_point at;        ///< When it happened.
    event_data data;
};

/// Returns the name of the event's type as written above ("dns_start", "got_conn", ...), or a
/// middleware event's own name ("retry_scheduled").
std::string_view name(const event& e) noexcept;
/// Hands each field of the event's payload to `out`, in the order its type declares them; a
/// middleware event's through its own `write_fields`. The event's ids and time are not fields.
void write_fields(const event& e, field_writer& out);
/// Returns the event as one line for people: its name, then its fields as `key=value`, e.g.
/// `got_conn reused=false was_idle=false idle_us=0 local=127.0.0.1:51000 remote=127.0.0.1:8080`.
/// Error fields are the error class (`error=timeout`), never a message that could carry request
/// data. Builds a string: call it only when the line will be shown.
std::string describe(const event& e);
/// Returns a copy of `e` that may be kept past its delivery: a middleware event's value is copied
/// (`middleware_event::kept`). String views and spans inside the payload still point where they did.
event keep(const event& e);
/// Returns the address as writers show it: "127.0.0.1:80", or "[::1]:80" for IPv6.
std::string to_string(const endpoint& e);
/// Returns the enumerator's name: "connection_close", "pool_full", ...
std::string_view to_string(not_pooled_reason r) noexcept;
/// Returns the enumerator's name: "idle_timeout", "peer_closed_idle", ...
std::string_view to_string(close_reason r) noexcept;
/// Returns the enumerator's name: "none", "no_idle", "idle_stale", ...
std::string_view to_string(not_reused_reason r) noexcept;
/// Returns the enumerator's name: "lookup", "cache", "coalesced", "pinned".
std::string_view to_string(dns_source s) noexcept;

/// Returns the event's payload if it is a `T` — one of roundtrip's event types or a middleware's
/// `custom_event` — else null: `if (auto r = event_cast<retry_scheduled>(e)) ...`.
template <class T>
const T* event_cast(const event& e) noexcept
{
    if constexpr (custom_event<T>) {
        const auto* m = std::get_if<middleware_event>(&e.data);
        return m ? m->template get<T>() : nullptr;
    } else {
        return std::get_if<T>(&e.data);
    }
}

/// An `attempt_id` names one attempt of one call.
struct attempt_id {
    std::uint64_t call = 0;
    std::uint32_t attempt = 0;
};

/// An `observer` receives lifecycle events. Derive from it and override `on_event`; override
/// `on_attempt_headers` too when you need to set headers on every attempt, and say so when you add it
/// (`request::observe(obs, observer_hooks::events_and_headers)`), so that observers without it cost
/// nothing at write time. See the contract at the top of this header.
class observer {
public:
    virtual ~observer() = default;

    /// Receives one event. Must not block, throw, or call into the client.
    virtual void on_event(const event& e) noexcept = 0;

    /// Runs just before each attempt's request head is written, on a copy of the request's headers
    /// owned by that attempt, so each attempt (a transparent retry too) can carry its own values, as
    /// W3C `traceparent` needs. Values set here are validated like the request's own.
    virtual void on_attempt_headers(attempt_id attempt, header_fields& headers) noexcept;
};

/// Which of an observer's hooks a request calls.
enum class observer_hooks {
    events,             ///< `on_event` only.
    events_and_headers, ///< `on_event` and `on_attempt_headers`.
};

} // namespace roundtrip
