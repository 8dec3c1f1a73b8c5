// TLS in front of another local TCP server, on 127.0.0.1: each connection's TLS is terminated here
// and its bytes relayed to and from the server behind. Put before a forward_proxy, it makes an
// https:// proxy. One thread; counts the handshakes that succeeded.
#pragma once

#include "loopback_service.hpp"
#include "relay.hpp"

#include <roundtrip/testing/test_certs.hpp>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>

#include <atomic>
#include <memory>
#include <optional>

namespace roundtrip::testing {

class tls_front {
public:
    // Serves TLS as `identity` and relays to 127.0.0.1:`backend_port`.
    tls_front(std::uint16_t backend_port, const pem_identity& identity) : backend_port_(backend_port)
    {
        context_.use_certificate_chain(boost::asio::buffer(identity.cert));
        context_.use_private_key(boost::asio::buffer(identity.key), boost::asio::ssl::context::pem);
        service_.emplace([this](tcp::socket peer) { return serve(std::move(peer)); });
    }

    std::uint16_t port() const { return service_->port(); }
    std::size_t handshakes() const noexcept { return handshakes_; }

private:
    using tcp = boost::asio::ip::tcp;

    boost::asio::awaitable<void> serve(tcp::socket peer)
    {
        namespace asio = boost::asio;
        auto client = std::make_shared<asio::ssl::stream<tcp::socket>>(std::move(peer), context_);
        co_await client->async_handshake(asio::ssl::stream_base::server, asio::use_awaitable);
        ++handshakes_;
        auto backend = std::make_shared<tcp::socket>(service_->io());
        co_await backend->async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), backend_port_),
                                        asio::use_awaitable);
        relay_both_ways(service_->io(), client, backend);
    }

    std::uint16_t backend_port_;
    boost::asio::ssl::context context_{boost::asio::ssl::context::tls_server};
    std::atomic<std::size_t> handshakes_{0};
    std::optional<loopback_service> service_; // last: see loopback_service; started once context_ is ready
};

} // namespace roundtrip::testing
