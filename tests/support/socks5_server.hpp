// A SOCKS5 proxy (RFC 1928, RFC 1929) for the SOCKS tests, on 127.0.0.1: CONNECT to an IPv4 or IPv6
// address or to a name (resolved here) opens a tunnel and relays bytes both ways. It can demand a
// username and password, and refuse every CONNECT with a reply code of the test's choosing. It
// records the address type and the destination of the last CONNECT, so a test sees who resolved the
// name. One thread.
#pragma once

#include "loopback_service.hpp"
#include "relay.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>

namespace roundtrip::testing {

struct socks5_server_settings {
    std::string username, password; // both empty: no authentication
    unsigned char refuse_with = 0;   // answer every CONNECT with this reply code; 0: open tunnels
};

class socks5_server {
public:
    using settings = socks5_server_settings;

    explicit socks5_server(settings s = {}) : settings_(std::move(s)) {}

    std::uint16_t port() const { return service_.port(); }
    std::string url(std::string_view scheme = "socks5h") const
    {
        return std::string(scheme) + "://127.0.0.1:" + std::to_string(port());
    }
    std::size_t connections() const noexcept { return service_.connections(); }
    std::size_t tunnels() const noexcept { return tunnels_; }
    // The last CONNECT's destination: "name localhost:443", "ipv4 127.0.0.1:443", "ipv6 ::1:443".
    std::string last_destination() const
    {
        std::lock_guard lock(mutex_);
        return last_destination_;
    }

private:
    using tcp = boost::asio::ip::tcp;

    // GCC 12 takes the coroutine frame's allocation and release (Asio's own operator new and delete)
    // for a mismatched pair: a false warning.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
    boost::asio::awaitable<void> serve(tcp::socket client)
    {
        namespace asio = boost::asio;
        using asio::use_awaitable;
        std::array<unsigned char, 512> in{};
        co_await asio::async_read(client, asio::buffer(in.data(), 2), use_awaitable); // VER NMETHODS
        const std::size_t methods = in[1];
        co_await asio::async_read(client, asio::buffer(in.data(), methods), use_awaitable);
        const bool wants_password = !settings_.username.empty() || !settings_.password.empty();
        const unsigned char method = wants_password ? 2 : 0;
        const bool offered = std::find(in.begin(), in.begin() + methods, method) != in.begin() + methods;
        const unsigned char choice[] = {5, static_cast<unsigned char>(offered ? method : 0xff)};
        co_await asio::async_write(client, asio::buffer(choice), use_awaitable);
        if (!offered)
            co_return;
        if (wants_password) {
            co_await asio::async_read(client, asio::buffer(in.data(), 2), use_awaitable); // VER ULEN
            std::string user(in[1], '\0');
            co_await asio::async_read(client, asio::buffer(user), use_awaitable);
            co_await asio::async_read(client, asio::buffer(in.data(), 1), use_awaitable); // PLEN
            std::string password(in[0], '\0');
            co_await asio::async_read(client, asio::buffer(password), use_awaitable);
            const bool good = user == settings_.username && password == settings_.password;
            const unsigned char status[] = {1, static_cast<unsigned char>(good ? 0 : 1)};
            co_await asio::async_write(client, asio::buffer(status), use_awaitable);
            if (!good)
                co_return;
        }
        co_await asio::async_read(client, asio::buffer(in.data(), 4), use_awaitable); // VER CMD RSV ATYP
        std::string host, kind;
        if (in[3] == 1 || in[3] == 4) {
            const std::size_t size = in[3] == 1 ? 4 : 16;
            co_await asio::async_read(client, asio::buffer(in.data(), size), use_awaitable);
            if (size == 4) {
                asio::ip::address_v4::bytes_type b;
                std::copy_n(in.begin(), 4, b.begin());
                host = asio::ip::address_v4(b).to_string();
                kind = "ipv4";
            } else {
                asio::ip::address_v6::bytes_type b;
                std::copy_n(in.begin(), 16, b.begin());
                host = asio::ip::address_v6(b).to_string();
                kind = "ipv6";
            }
        } else {
            co_await asio::async_read(client, asio::buffer(in.data(), 1), use_awaitable);
            host.resize(in[0]);
            co_await asio::async_read(client, asio::buffer(host), use_awaitable);
            kind = "name";
        }
        co_await asio::async_read(client, asio::buffer(in.data(), 2), use_awaitable);
        const std::uint16_t port = static_cast<std::uint16_t>(in[0] << 8 | in[1]);
        {
            std::lock_guard lock(mutex_);
            last_destination_ = kind + " " + host + ":" + std::to_string(port);
        }
        auto reply = [&](unsigned char code) {
            return std::array<unsigned char, 10>{5, code, 0, 1, 127, 0, 0, 1, 0, 0};
        };
        auto server = std::make_shared<tcp::socket>(service_.io());
        unsigned char code = settings_.refuse_with;
        if (code == 0) {
            try {
                tcp::resolver names(service_.io());
                auto found = co_await names.async_resolve(host, std::to_string(port), use_awaitable);
                co_await asio::async_connect(*server, found, use_awaitable);
            } catch (const std::exception&) {
                code = 5; // connection refused, or the name did not resolve: close enough for the tests
            }
        }
        co_await asio::async_write(client, asio::buffer(reply(code)), use_awaitable);
        if (code != 0)
            co_return;
        ++tunnels_;
        auto shared_client = std::make_shared<tcp::socket>(std::move(client));
        relay_both_ways(service_.io(), shared_client, server);
    }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

    settings settings_;
    std::atomic<std::size_t> tunnels_{0};
    mutable std::mutex mutex_;
    std::string last_destination_;
    loopback_service service_{[this](tcp::socket peer) { return serve(std::move(peer)); }}; // last
};

} // namespace roundtrip::testing
