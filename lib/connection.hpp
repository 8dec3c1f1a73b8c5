// A connection: one stream socket (timed by the transport's watchdog; TCP or Unix-domain), with its
// read buffer and its history. It serves one exchange at a time; the pool keeps it
// between exchanges.
#pragma once

#include "event_sink.hpp"
#include "timed_stream.hpp"

#include <roundtrip/detail/config.hpp>
#include <roundtrip/events.hpp>

#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace roundtrip::detail {

class tls_context;
class idle_place;

using response_parser = boost::beast::http::response_parser<boost::beast::http::string_body>;

// The response a connection is reading, kept with the connection so that a streamed body can be read
// after the exchange that read its head has returned.
struct response_in {
    std::optional<response_parser> parser;
    std::size_t head_bytes = 0; // of the head being read (or the trailers), against the head limit
    bool in_trailers = false;   // the final chunk arrived: what follows are trailer fields
    bool keep_alive = false;    // decided from the head alone (trailers may not change it)
    bool request_body_unsent = false; // the server answered before the announced body was sent

    // The final (zero-size) chunk starts the trailer section, whose fields count as head bytes. Beast
    // keeps a reference to this callback, so it lives here, beside the parser.
    struct trailer_watch {
        bool* in_trailers;
        void operator()(std::uint64_t size, std::string_view, error_code&) const
        {
            if (size == 0)
                *in_trailers = true;
        }
    } watch_chunks{&in_trailers};

    response_in() = default;
    response_in(const response_in&) = delete; // watch_chunks points into it
    response_in& operator=(const response_in&) = delete;
};

// The IP address and port of a socket's endpoint, as events carry them; unspecified for another family.
inline endpoint ip_endpoint_of(const asio::generic::stream_protocol::endpoint& e) noexcept
{
    endpoint ip;
    const int family = e.protocol().family();
    if ((family == AF_INET || family == AF_INET6) && e.size() <= ip.capacity()) {
        std::memcpy(ip.data(), e.data(), e.size());
        ip.resize(e.size());
    }
    return ip;
}

// What a connection through an https:// proxy adds to it: on the heap, so that other connections
// do not carry its room.
struct proxy_tls_layer {
    using tunneled_stream = asio::ssl::stream<asio::ssl::stream<timed_stream&>&>;
    // The key the proxy's TLS sessions are kept under (its URL), which OpenSSL's new-session callback
    // reads through a pointer, as the pool key for the server's.
    std::string session_key;
    std::shared_ptr<tls_context> tunneled_config; // what `tunneled` was made with; outlives it
    // TLS with the server inside the tunnel the proxy opened, over the connection's `tls` (the
    // proxy's); for https URLs.
    std::optional<tunneled_stream> tunneled;
};

struct connection {
    // Takes the stream by pointer: the dial made it, and its address must not change (operations
    // and the watchdog refer to it).
    // `to` is the address the stream connected to.
    connection(std::unique_ptr<timed_stream> s, std::uint64_t conn_id, endpoint to)
        : stream(*s), owned_stream(std::move(s)), id(conn_id), created(clock::now()), remote(to)
    {
    }

    // The local address, asked of the socket the first time someone wants it (an observer of
    // got_conn): a system call no connection needs for itself.
    endpoint local_endpoint()
    {
        if (!local) {
            error_code ignored;
            local = ip_endpoint_of(stream.socket().local_endpoint(ignored));
        }
        return *local;
    }

    // Whether an idle connection is still usable: a peek that finds bytes (which cannot be a response
    // to anything) or the server's FIN says no, and why. One non-blocking syscall.
    std::optional<close_reason> idle_fault() noexcept
    {
        char byte;
        const auto n = ::recv(stream.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n > 0)
            return close_reason::stray_bytes_idle;
        if (n == 0)
            return close_reason::peer_closed_idle;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return std::nullopt;
        return close_reason::error;
    }

    // Closes the socket, sending FIN; pending operations complete with operation_aborted. shutdown
    // first: a child process the application forked may hold a copy of the descriptor, and close()
    // alone would then send nothing.
    void close() noexcept
    {
        error_code ignored;
        stream.socket().shutdown(asio::socket_base::shutdown_both, ignored);
        stream.socket().close(ignored);
    }

    // Runs `f` with the stream HTTP travels on: the innermost TLS stream (TLS with the server, or with
    // an https:// proxy that takes http requests), else the socket's.
    template <class F>
    decltype(auto) on_stream(F&& f)
    {
        if (auto* inner = tunneled_tls())
            return f(*inner);
        return tls ? f(*tls) : f(stream);
    }

    // The TLS session HTTP travels in, or null.
    SSL* http_tls() noexcept
    {
        if (auto* inner = tunneled_tls())
            return inner->native_handle();
        return tls ? tls->native_handle() : nullptr;
    }

    // TLS with the server inside an https:// proxy's, or null.
    proxy_tls_layer::tunneled_stream* tunneled_tls() noexcept
    {
        return via_tls && via_tls->tunneled ? &*via_tls->tunneled : nullptr;
    }

    timed_stream& stream;
    std::unique_ptr<timed_stream> owned_stream;
    std::shared_ptr<tls_context> tls_config; // what `tls` was made with; outlives it (declared first)
    // Over `stream`: TLS with the server for https, or with an https:// proxy.
    std::optional<asio::ssl::stream<timed_stream&>> tls;
    // Through an https:// proxy (declared after `tls`, whose stream its own runs over).
    std::unique_ptr<proxy_tls_layer> via_tls;
    std::string tls_peer; // the subject of the certificate the last handshake met, for its event
    boost::beast::flat_buffer buffer; // bytes read and not yet parsed
    response_in in;                   // while an exchange or a streamed body reads a response
    std::string head;                 // the request head being written; reused across requests
    std::uint64_t id;
    clock::time_point created;
    std::uint64_t requests_served = 0;
    std::optional<endpoint> local; // see local_endpoint()
    endpoint remote;
    std::string key;             // the pool key: "http://host:port"
    idle_place* idle = nullptr;   // while idle: where it sits in the pool (set by conn_broker)
    std::uint64_t idle_epoch = 0; // bumped when it enters or leaves the idle pool: older watchers are stale
    bool watch_pending = false;   // in the transport's list for the next watch round
    bool watched = false;         // a readiness wait of the idle watcher is armed
    clock::time_point idle_since; // while a TLS look decides whether a pooled connection is usable
};

using conn_ptr = std::shared_ptr<connection>;

// How long closing a TLS connection waits for the peer's close_notify after sending its own.
inline constexpr auto close_notify_wait = std::chrono::milliseconds(100);

// Closes `c` for good. A TLS connection first sends close_notify — a clean end, which also keeps its
// session resumable (OpenSSL discards the session of a connection freed without one) — and waits a
// moment for the peer's, never longer: a peer that does not answer must not hold the socket. Inside an
// https:// proxy's TLS, the server's TLS ends first, then the proxy's, each within its moment.
inline void shut_down(conn_ptr c)
{
    if (!c->tls)
        return c->close();
    c->stream.expires_after(close_notify_wait);
    auto& tls = *c->tls;
    auto* tunneled = c->tunneled_tls();
    if (!tunneled)
        return tls.async_shutdown([c = std::move(c)](error_code) { c->close(); });
    tunneled->async_shutdown([c = std::move(c)](error_code) mutable {
        c->stream.expires_after(close_notify_wait); // the proxy's close_notify is sent even when the server did not answer
        auto& tls = *c->tls;
        tls.async_shutdown([c = std::move(c)](error_code) { c->close(); });
    });
}

// Where a connection goes when the response it carries is finished: the transport, which pools or
// closes it. Only called on the transport's strand.
class connection_home {
public:
    virtual ~connection_home() = default;
    virtual void give_back(conn_ptr c, const event_sink& sink, std::optional<not_pooled_reason> refused) = 0;
};

} // namespace roundtrip::detail
