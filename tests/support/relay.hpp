// Copies bytes between two streams until either end closes, then passes the close on: a tunnel, for
// the test proxies. A stream is a TCP socket, or a TLS stream over one.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <memory>

namespace roundtrip::testing {

// One direction of a tunnel.
template <class From, class To>
boost::asio::awaitable<void> relay(std::shared_ptr<From> from, std::shared_ptr<To> to)
{
    namespace asio = boost::asio;
    char data[16 * 1024];
    try {
        for (;;) {
            const std::size_t n = co_await from->async_read_some(asio::buffer(data), asio::use_awaitable);
            co_await asio::async_write(*to, asio::buffer(data, n), asio::use_awaitable);
        }
    } catch (const std::exception&) {
    }
    boost::system::error_code ignored;
    to->lowest_layer().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
}

// Both directions, each a coroutine on `io` that keeps its streams alive.
template <class A, class B>
void relay_both_ways(boost::asio::io_context& io, std::shared_ptr<A> a, std::shared_ptr<B> b)
{
    boost::asio::co_spawn(io, relay(a, b), boost::asio::detached);
    boost::asio::co_spawn(io, relay(b, a), boost::asio::detached);
}

} // namespace roundtrip::testing
