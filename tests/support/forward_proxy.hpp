// A forward HTTP proxy for the proxy tests, on 127.0.0.1: CONNECT opens a tunnel to the host:port
// asked for (IP literals and localhost) and relays bytes both ways; an absolute-form request is
// answered by the proxy itself, with a body that repeats the request line and the
// Proxy-Authorization it carried, so a test sees what the proxy saw. It can demand credentials (407)
// and refuse tunnels with a status of the test's choosing. One thread; counts what it served.
#pragma once

#include "loopback_service.hpp"
#include "relay.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

namespace roundtrip::testing {

struct forward_proxy_settings {
    std::string require_authorization; // e.g. "Basic dTpw"; empty: anyone may use the proxy
    unsigned refuse_connect = 0;       // answer every CONNECT with this status; 0: open tunnels
    bool ignore_connect = false;       // read a CONNECT and never answer it
    std::string after_established;     // bytes sent right after "200 Connection established"
};

class forward_proxy {
public:
    using settings = forward_proxy_settings;

    explicit forward_proxy(settings s = {}) : settings_(std::move(s)) {}

    std::uint16_t port() const { return service_.port(); }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port()); }
    std::size_t connections() const noexcept { return service_.connections(); }
    std::size_t tunnels() const noexcept { return tunnels_; }
    // The request line of the last request or CONNECT the proxy read.
    std::string last_request_line() const
    {
        std::lock_guard lock(mutex_);
        return last_line_;
    }

private:
    using tcp = boost::asio::ip::tcp;

    static std::string field(const std::string& head, std::string_view name)
    {
        const std::string key = "\r\n" + std::string(name) + ": ";
        const auto at = head.find(key);
        if (at == std::string::npos)
            return {};
        const auto from = at + key.size();
        return head.substr(from, head.find("\r\n", from) - from);
    }

    boost::asio::awaitable<void> serve(tcp::socket client)
    {
        namespace asio = boost::asio;
        std::string in;
        for (;;) {
            const std::size_t end = co_await asio::async_read_until(client, asio::dynamic_buffer(in), "\r\n\r\n",
                                                                    asio::use_awaitable);
            const std::string head = in.substr(0, end);
            in.erase(0, end);
            const std::string line = head.substr(0, head.find("\r\n"));
            {
                std::lock_guard lock(mutex_);
                last_line_ = line;
            }
            const std::string auth = field(head, "Proxy-Authorization");
            if (!settings_.require_authorization.empty() && auth != settings_.require_authorization) {
                const std::string deny = "HTTP/1.1 407 Proxy Authentication Required\r\n"
                                         "Proxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 6\r\n\r\ndenied";
                co_await asio::async_write(client, asio::buffer(deny), asio::use_awaitable);
                continue;
            }
            if (line.starts_with("CONNECT ")) {
                co_await tunnel(std::move(client), line.substr(8, line.find(' ', 8) - 8));
                co_return;
            }
            const std::string body = line + "|" + auth;
            const std::string out = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
            co_await asio::async_write(client, asio::buffer(out), asio::use_awaitable);
        }
    }

    boost::asio::awaitable<void> tunnel(tcp::socket client, std::string target)
    {
        namespace asio = boost::asio;
        if (settings_.ignore_connect) { // the connection stays open, unanswered, until the proxy stops
            asio::steady_timer never(service_.io(), asio::steady_timer::time_point::max());
            co_await never.async_wait(asio::use_awaitable);
            co_return;
        }
        if (settings_.refuse_connect) {
            const std::string no = "HTTP/1.1 " + std::to_string(settings_.refuse_connect) + " Refused\r\nContent-Length: 0\r\n\r\n";
            co_await asio::async_write(client, asio::buffer(no), asio::use_awaitable);
            co_return;
        }
        const auto colon = target.rfind(':');
        std::string host = target.substr(0, colon);
        if (host.size() > 2 && host.front() == '[')
            host = host.substr(1, host.size() - 2);
        tcp::resolver names(service_.io());
        auto found = co_await names.async_resolve(host, target.substr(colon + 1), asio::use_awaitable);
        auto server = std::make_shared<tcp::socket>(service_.io());
        co_await asio::async_connect(*server, found, asio::use_awaitable);
        ++tunnels_;
        const std::string ok = "HTTP/1.1 200 Connection established\r\n\r\n" + settings_.after_established;
        co_await asio::async_write(client, asio::buffer(ok), asio::use_awaitable);
        auto shared_client = std::make_shared<tcp::socket>(std::move(client));
        relay_both_ways(service_.io(), shared_client, server);
    }

    settings settings_;
    std::atomic<std::size_t> tunnels_{0};
    mutable std::mutex mutex_;
    std::string last_line_;
    loopback_service service_{[this](tcp::socket peer) { return serve(std::move(peer)); }}; // last
};

} // namespace roundtrip::testing
