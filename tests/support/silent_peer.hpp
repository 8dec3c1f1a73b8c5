// Peers that misbehave below HTTP, for timeout tests: a listener whose accept queue is full (so a
// connect gets no answer), and a listener that accepts and never reads (so writes stall).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

namespace roundtrip::testing {

// Listens with a backlog of 0 and fills its accept queue with connections it never accepts: the
// kernel then drops further SYNs, and a client's connect hangs until its timeout.
class full_listener {
public:
    full_listener() : acceptor_(io_)
    {
        using boost::asio::ip::tcp;
        tcp::endpoint at(boost::asio::ip::make_address("127.0.0.1"), 0);
        acceptor_.open(at.protocol());
        acceptor_.bind(at);
        acceptor_.listen(0);
        // Raw non-blocking connects: Asio's synchronous connect would wait for each to finish.
        auto to = acceptor_.local_endpoint();
        for (int i = 0; i < 4; ++i) {
            auto& s = fillers_.emplace_back(std::make_unique<tcp::socket>(io_));
            s->open(tcp::v4());
            s->non_blocking(true);
            ::connect(s->native_handle(), to.data(), static_cast<socklen_t>(to.size())); // in progress, or queued
        }
    }
    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

private:
    boost::asio::io_context io_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::vector<std::unique_ptr<boost::asio::ip::tcp::socket>> fillers_;
};

// Accepts one connection and holds it without reading, until destroyed.
class deaf_listener {
public:
    deaf_listener() : acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}), peer_(io_)
    {
        thread_ = std::thread([this] {
            boost::system::error_code ignored;
            acceptor_.accept(peer_, ignored);
        });
    }
    ~deaf_listener()
    {
        boost::system::error_code ignored;
        // Unblock a pending accept with a connection of our own, then let go.
        boost::asio::ip::tcp::socket poke(io_);
        poke.connect(acceptor_.local_endpoint(), ignored);
        thread_.join();
    }
    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

private:
    boost::asio::io_context io_;
    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::ip::tcp::socket peer_;
    std::thread thread_;
};

} // namespace roundtrip::testing
