// A connection: one Beast TCP stream with its read buffer and its history. It serves one exchange at
// a time; the pool keeps it between exchanges.
#pragma once

#include <roundtrip/detail/config.hpp>
#include <roundtrip/events.hpp>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace roundtrip::detail {

struct connection {
    // Takes the stream by pointer: Beast 1.81 moves a basic_stream by moving its state into a new
    // object, which breaks operations still running on the old one (the dial's connect, here).
    connection(std::unique_ptr<boost::beast::tcp_stream> s, std::uint64_t conn_id)
        : stream(*s), owned_stream(std::move(s)), id(conn_id), created(clock::now())
    {
        error_code ignored;
        local = stream.socket().local_endpoint(ignored);
        remote = stream.socket().remote_endpoint(ignored);
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

    // Closes the socket, sending FIN; pending operations complete with operation_aborted.
    void close() noexcept
    {
        error_code ignored;
        stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
        stream.socket().close(ignored);
    }

    boost::beast::tcp_stream& stream;
    std::unique_ptr<boost::beast::tcp_stream> owned_stream;
    boost::beast::flat_buffer buffer; // bytes read and not yet parsed
    std::string head;                 // the request head being written; reused across requests
    std::uint64_t id;
    clock::time_point created;
    std::uint64_t requests_served = 0;
    endpoint local;
    endpoint remote;
    std::string key;             // the pool key: "http://host:port"
    void* idle_handle = nullptr; // while idle: the pool's handle for it
    std::uint64_t idle_epoch = 0; // bumped when it enters or leaves the idle pool: older watchers are stale
};

} // namespace roundtrip::detail
