// TLS in front of another local TCP server, on 127.0.0.1: each connection's TLS is terminated here
// and its bytes relayed to and from the server behind. Put before a forward_proxy, it makes an
// https:// proxy. One thread; counts the handshakes that succeeded.
#pragma once

#include "relay.hpp"

#include <roundtrip/testing/test_certs.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>

namespace roundtrip::testing {

class tls_front {
public:
    // Serves TLS as `identity` and relays to 127.0.0.1:`backend_port`.
    tls_front(std::uint16_t backend_port, const pem_identity& identity) : backend_port_(backend_port)
    {
        using tcp = boost::asio::ip::tcp;
        context_.use_certificate_chain(boost::asio::buffer(identity.cert));
        context_.use_private_key(boost::asio::buffer(identity.key), boost::asio::ssl::context::pem);
        acceptor_.emplace(io_, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
        boost::asio::co_spawn(io_, accept(), boost::asio::detached);
        thread_ = std::thread([this] { io_.run(); });
    }
    ~tls_front()
    {
        io_.stop();
        thread_.join();
    }
    tls_front(const tls_front&) = delete;
    tls_front& operator=(const tls_front&) = delete;

    std::uint16_t port() const { return acceptor_->local_endpoint().port(); }
    std::size_t handshakes() const noexcept { return handshakes_; }

private:
    using tcp = boost::asio::ip::tcp;
    using tls_stream = boost::asio::ssl::stream<tcp::socket>;

    boost::asio::awaitable<void> accept()
    {
        for (;;) {
            tcp::socket peer = co_await acceptor_->async_accept(boost::asio::use_awaitable);
            boost::asio::co_spawn(io_, serve(std::move(peer)), boost::asio::detached);
        }
    }

    boost::asio::awaitable<void> serve(tcp::socket peer)
    {
        namespace asio = boost::asio;
        auto client = std::make_shared<tls_stream>(std::move(peer), context_);
        co_await client->async_handshake(asio::ssl::stream_base::server, asio::use_awaitable);
        ++handshakes_;
        auto backend = std::make_shared<tcp::socket>(io_);
        co_await backend->async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), backend_port_),
                                        asio::use_awaitable);
        asio::co_spawn(io_, relay(client, backend), asio::detached);
        asio::co_spawn(io_, relay(backend, client), asio::detached);
    }

    std::uint16_t backend_port_;
    boost::asio::io_context io_;
    boost::asio::ssl::context context_{boost::asio::ssl::context::tls_server};
    std::optional<tcp::acceptor> acceptor_;
    std::thread thread_;
    std::atomic<std::size_t> handshakes_{0};
};

} // namespace roundtrip::testing
