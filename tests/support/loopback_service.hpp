// What every test proxy stands on: an acceptor on 127.0.0.1 (a free port) and one thread running an
// io_context, which hands each accepted socket to a coroutine of the owner's. The owner declares it
// as its last member: destroyed first, it stops the thread (and frees every coroutine frame and
// socket with its io_context) before anything those coroutines use is gone.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>

namespace roundtrip::testing {

class loopback_service {
public:
    using tcp = boost::asio::ip::tcp;
    using serve_fn = std::function<boost::asio::awaitable<void>(tcp::socket)>;

    explicit loopback_service(serve_fn serve) : serve_(std::move(serve))
    {
        boost::asio::co_spawn(io_, accept(), boost::asio::detached);
        thread_ = std::thread([this] { io_.run(); });
    }
    ~loopback_service()
    {
        io_.stop();
        thread_.join();
    }
    loopback_service(const loopback_service&) = delete;
    loopback_service& operator=(const loopback_service&) = delete;

    // For the owner's coroutines: the sockets and timers they make.
    boost::asio::io_context& io() noexcept { return io_; }
    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
    std::size_t connections() const noexcept { return connections_; }

private:
    boost::asio::awaitable<void> accept()
    {
        for (;;) {
            tcp::socket peer = co_await acceptor_.async_accept(boost::asio::use_awaitable);
            ++connections_;
            boost::asio::co_spawn(io_, serve_(std::move(peer)), boost::asio::detached);
        }
    }

    serve_fn serve_;
    boost::asio::io_context io_;
    tcp::acceptor acceptor_{io_, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)};
    std::atomic<std::size_t> connections_{0};
    std::thread thread_;
};

} // namespace roundtrip::testing
