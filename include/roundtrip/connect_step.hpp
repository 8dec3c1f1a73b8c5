// The connect step: how a new connection reaches its next hop, replaceable by the user.
#pragma once

#include <roundtrip/detail/config.hpp>
#include <roundtrip/proxy.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/generic/stream_protocol.hpp>

#include <cstdint>
#include <functional>
#include <string_view>

namespace roundtrip {

/// A stream socket as the connect step makes it: Asio's generic one, which is TCP or Unix-domain.
/// A `tcp::socket` or `local::stream_protocol::socket` converts to it by move.
using stream_socket = asio::generic::stream_protocol::socket;

/// What a connect step is asked to reach.
struct connect_target {
    /// The pool key of the connection being made ("https://example.com:443"; with a proxy,
    /// "...#proxy=socks5h://proxy:1080"): connections the step makes for one key are interchangeable.
    std::string_view key;
    /// The next hop, not resolved: the server's host (a name, or an IP literal without brackets), or
    /// the proxy's when the request goes through one.
    std::string_view host;
    std::uint16_t port = 0;
    /// The proxy `host` is, or null. Once the step is done roundtrip asks it for the tunnel (CONNECT,
    /// SOCKS5) or sends it the request.
    const proxy* via = nullptr;
    /// The server the connection is for, whether or not a proxy is in between.
    std::string_view server_host;
    std::uint16_t server_port = 0;
    /// The transport's executor: make the socket on it.
    executor ex;
};

/// Completes a connect step, once: with a connected socket, or with the error that failed it (the
/// dial fails with it, and `connect_done` carries it). May be called from any thread.
using connect_handler = asio::any_completion_handler<void(error_code, stream_socket)>;

/// A connect step replaces how the transport reaches a new connection's next hop: by default it
/// resolves the host (pins, the DNS cache, the resolver) and races its addresses (RFC 8305), as
/// `dial_options` describe. A step of your own (Go's `Transport.DialContext`, .NET's
/// `SocketsHttpHandler.ConnectCallback`) connects however it likes — a Unix-domain socket per host,
/// a service registry, a socket from elsewhere — and hands over the socket; roundtrip then speaks to
/// the proxy if there is one and runs TLS for https, verified against the server's name.
///
/// It runs on the transport's executor and must not block. The handler's cancellation slot is
/// signalled (`cancellation_type::terminal`), on the transport's executor, when the dial's deadline
/// passes or its attempt is cancelled: stop, and complete with an error. (Asio's slots are not
/// thread-safe: a step whose operations run on another executor must pass the signal on there.) The dial does not wait for that: it fails at once,
/// and a socket handed over later is closed. `dial_options` that shape sockets and name lookups
/// (`tcp_no_delay`, `keep_alive`, `local_address`, `prepare_socket`, `unix_socket`, `fallback_delay`,
/// `resolver`, `dns_cache`, `pins`) are the default step's: a step of your own sets up its sockets
/// itself. Its events are one `connect_start` before it runs and one `connect_done` after, with the
/// address the socket is connected to; no `dns_*`, except for the server's name through a
/// `socks5://` proxy, which is resolved here before the step runs.
using connect_step = std::function<void(const connect_target& target, connect_handler done)>;

} // namespace roundtrip
