// An HTTP/1.1 server on a Unix-domain socket, for the tests of connecting through one: it answers
// every request on a connection with 200 and a body naming the socket and the request's Host, keeps
// connections alive, and counts them. One thread; the socket file is removed when it stops.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>

namespace roundtrip::testing {

class unix_server {
public:
    // Listens at a fresh path in the temporary directory; `name` tells servers of one test apart.
    explicit unix_server(const std::string& name = "server")
        : path_((std::filesystem::temp_directory_path()
                 / ("roundtrip-" + name + "-" + std::to_string(::getpid()) + ".sock"))
                    .string())
    {
        std::filesystem::remove(path_);
        acceptor_.emplace(io_, boost::asio::local::stream_protocol::endpoint(path_));
        boost::asio::co_spawn(io_, accept(), boost::asio::detached);
        thread_ = std::thread([this] { io_.run(); });
    }
    ~unix_server()
    {
        io_.stop();
        thread_.join();
        std::filesystem::remove(path_);
    }

    const std::string& path() const noexcept { return path_; }
    std::size_t connections() const noexcept { return connections_; }

private:
    using socket = boost::asio::local::stream_protocol::socket;

    boost::asio::awaitable<void> accept()
    {
        for (;;) {
            socket peer = co_await acceptor_->async_accept(boost::asio::use_awaitable);
            ++connections_;
            boost::asio::co_spawn(io_, serve(std::move(peer)), boost::asio::detached);
        }
    }

    boost::asio::awaitable<void> serve(socket peer)
    {
        std::string in;
        for (;;) {
            const std::size_t head = co_await boost::asio::async_read_until(peer, boost::asio::dynamic_buffer(in),
                                                                            "\r\n\r\n", boost::asio::use_awaitable);
            std::string host;
            if (auto at = in.find("\r\nHost: "); at != std::string::npos && at < head)
                host = in.substr(at + 8, in.find("\r\n", at + 8) - at - 8);
            in.erase(0, head); // these tests send no request bodies
            const std::string body = path_ + " " + host;
            const std::string out = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
            co_await boost::asio::async_write(peer, boost::asio::buffer(out), boost::asio::use_awaitable);
        }
    }

    std::string path_;
    boost::asio::io_context io_;
    std::optional<boost::asio::local::stream_protocol::acceptor> acceptor_;
    std::thread thread_;
    std::atomic<std::size_t> connections_{0};
};

} // namespace roundtrip::testing
