// A connection's stream is not tied to TCP: an HTTP/1.1 exchange runs over a Unix-domain socket
// exactly as the transport runs it over TCP (the shape the connecting work builds on).
#include "connection.hpp"
#include "http1_exchange.hpp"
#include "target.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <optional>
#include <string>

using namespace roundtrip;
using namespace roundtrip::detail;

namespace {

using unix_socket = asio::local::stream_protocol;

// Answers one request on the first connection it accepts.
asio::awaitable<void> serve_once(unix_socket::acceptor& acceptor, std::string& seen)
{
    unix_socket::socket peer = co_await acceptor.async_accept(asio::use_awaitable);
    std::string in;
    co_await asio::async_read_until(peer, asio::dynamic_buffer(in), "\r\n\r\n", asio::use_awaitable);
    seen = in;
    const std::string out = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
    co_await asio::async_write(peer, asio::buffer(out), asio::use_awaitable);
}

} // namespace

TEST_CASE("an exchange runs over a Unix-domain socket as over TCP")
{
    const auto path = std::filesystem::temp_directory_path() / ("roundtrip-unix-" + std::to_string(::getpid()));
    std::filesystem::remove(path);
    asio::io_context io;
    unix_socket::acceptor acceptor(io, unix_socket::endpoint(path.string()));
    std::string seen;
    asio::co_spawn(io, serve_once(acceptor, seen), asio::detached);

    request req("GET", "http://sidecar/status");
    target where;
    REQUIRE_FALSE(parse_target(req, where));
    const timeouts waits;
    const limits bounds;
    const observer_list nobody;
    const event_sink sink(&nobody, nullptr, 1, 1);
    const stop_state running;
    call_state call;
    source_read body_read;
    const http1::exchange_scope x{req, where, sink, waits, bounds, running, false, call, body_read};

    auto dog = std::make_shared<watchdog>(io.get_executor());
    auto stream = std::make_unique<timed_stream>(io.get_executor(), dog);
    timed_stream& s = *stream;
    connection c(std::move(stream), 1, endpoint{});
    result r;
    http1::exchange_outcome out;
    std::optional<endpoint> local;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            auto [ec] = co_await s.async_connect(unix_socket::endpoint(path.string()), http1::use_tuple);
            out.error = ec;
            if (!ec)
                out = co_await http1::exchange(s, c, x, r);
            local = c.local_endpoint();
            c.close();
            acceptor.close(); // if the connect failed, the accept still waits
            dog->rest();
        },
        asio::detached);
    io.run_for(std::chrono::seconds(10));
    std::filesystem::remove(path);

    CHECK_FALSE(out.error);
    CHECK(r.response.status == 200);
    CHECK(r.response.body == "hello");
    CHECK(seen.starts_with("GET /status HTTP/1.1\r\n"));
    CHECK(seen.find("Host: sidecar\r\n") != std::string::npos);
    REQUIRE(local);
    CHECK(*local == endpoint{}); // not an IP endpoint: events carry the unspecified address
}
