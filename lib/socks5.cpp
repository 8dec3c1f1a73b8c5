// The SOCKS5 handshake: greeting, authentication, CONNECT, each a write and a bounded read.
#include "socks5.hpp"

#include <roundtrip/error.hpp>
#include <roundtrip/proxy.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>

namespace roundtrip::detail::socks5 {
namespace {

constexpr unsigned char version = 5;
constexpr unsigned char no_authentication = 0;
constexpr unsigned char username_password = 2;
constexpr unsigned char no_acceptable_method = 0xff;
constexpr unsigned char connect_command = 1;
constexpr unsigned char ipv4 = 1, domain_name = 3, ipv6 = 4; // address types (ATYP)

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

void append_port(std::string& out, std::uint16_t port)
{
    out += static_cast<char>(port >> 8);
    out += static_cast<char>(port & 0xff);
}

// A read or write that fails because the proxy hung up says that it is not the proxy we took it
// for; other errors (a timeout, a cancel) are the caller's to interpret.
error_code failure(error_code ec)
{
    return ec == asio::error::eof || ec == asio::error::connection_reset ? error_code(error::proxy_error) : ec;
}

} // namespace

std::string greeting(bool with_credentials)
{
    std::string out{static_cast<char>(version)};
    if (with_credentials)
        out += {2, static_cast<char>(no_authentication), static_cast<char>(username_password)};
    else
        out += {1, static_cast<char>(no_authentication)};
    return out;
}

std::string credentials(std::string_view username, std::string_view password)
{
    std::string out{1}; // the sub-negotiation's version
    out += static_cast<char>(username.size());
    out += username;
    out += static_cast<char>(password.size());
    out += password;
    return out;
}

std::string connect_request(std::string_view host, std::uint16_t port)
{
    std::string out{static_cast<char>(version), static_cast<char>(connect_command), 0};
    error_code not_ip;
    const auto ip = asio::ip::make_address(std::string(host), not_ip);
    if (not_ip) {
        out += static_cast<char>(domain_name);
        out += static_cast<char>(host.size());
        out += host;
    } else if (ip.is_v4()) {
        out += static_cast<char>(ipv4);
        for (unsigned char b : ip.to_v4().to_bytes())
            out += static_cast<char>(b);
    } else {
        out += static_cast<char>(ipv6);
        for (unsigned char b : ip.to_v6().to_bytes())
            out += static_cast<char>(b);
    }
    append_port(out, port);
    return out;
}

std::size_t reply_size(std::span<const unsigned char, 5> head)
{
    constexpr std::size_t fixed = 4 + 2; // VER REP RSV ATYP, and the port
    switch (head[3]) {
    case ipv4:
        return fixed + 4;
    case ipv6:
        return fixed + 16;
    case domain_name:
        return fixed + 1 + head[4];
    default:
        return 0;
    }
}

error_code reply_error(unsigned reply)
{
    if (reply == 0)
        return {};
    if (reply == 5)
        return error::connection_refused;
    return error::proxy_error;
}

// GCC 12 inlines Asio's frame allocation (aligned_alloc) and its release (free) into this coroutine and
// takes them for a mismatched pair: a false warning.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
asio::awaitable<outcome> handshake(timed_stream& stream, const proxy& via, std::string host, std::uint16_t port)
{
    const bool with_credentials = !via.username.empty() || !via.password.empty();
    std::string out = greeting(with_credentials);
    auto [wrote, n1] = co_await asio::async_write(stream, asio::buffer(out), use_tuple);
    if (wrote)
        co_return outcome{0, failure(wrote)};
    std::array<unsigned char, 4 + 2 + 255 + 1> in{}; // the longest reply: a name of 255 bytes
    auto [read, n2] = co_await asio::async_read(stream, asio::buffer(in.data(), 2), use_tuple);
    if (read)
        co_return outcome{0, failure(read)};
    if (in[0] != version || in[1] == no_acceptable_method || (in[1] == username_password && !with_credentials)
        || (in[1] != no_authentication && in[1] != username_password))
        co_return outcome{0, error::proxy_error};

    if (in[1] == username_password) {
        out = credentials(via.username, via.password);
        auto [ec, n3] = co_await asio::async_write(stream, asio::buffer(out), use_tuple);
        if (!ec)
            std::tie(ec, n3) = co_await asio::async_read(stream, asio::buffer(in.data(), 2), use_tuple);
        if (ec)
            co_return outcome{0, failure(ec)};
        if (in[0] != 1 || in[1] != 0) // refused
            co_return outcome{0, error::proxy_error};
    }

    out = connect_request(host, port);
    auto [ec, n4] = co_await asio::async_write(stream, asio::buffer(out), use_tuple);
    if (!ec)
        std::tie(ec, n4) = co_await asio::async_read(stream, asio::buffer(in.data(), 5), use_tuple);
    if (ec)
        co_return outcome{0, failure(ec)};
    const std::size_t size = reply_size(std::span<const unsigned char, 5>(in.data(), 5));
    if (in[0] != version || size == 0)
        co_return outcome{0, error::proxy_error};
    // The rest of the reply (the address the proxy bound, which nothing here needs), so that what
    // follows it is the server's.
    std::tie(ec, n4) = co_await asio::async_read(stream, asio::buffer(in.data() + 5, size - 5), use_tuple);
    if (ec && in[1] == 0)
        co_return outcome{0, failure(ec)};
    co_return outcome{in[1], reply_error(in[1])}; // a refusal stands even when the proxy hung up after it
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

} // namespace roundtrip::detail::socks5
