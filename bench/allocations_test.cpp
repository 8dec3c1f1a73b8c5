// Pins the heap allocations of a keep-alive request at what the request and the response are made
// of: the caller's request, and the response's fields and body as Beast's parser builds them. The
// client's own machinery — call and attempt records, coroutine frames, handlers, pool entries, read
// buffers — allocates nothing in the steady state. A count, not a time: it repeats exactly.
#include "counting_new.hpp"

#include <roundtrip/client.hpp>
#include <roundtrip/testing/test_server.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <string>

using namespace roundtrip;

namespace {

const std::string body = "hello, world!";
const std::vector<std::pair<std::string, std::string>> extra_fields = {
    {"Content-Type", "text/plain"}, {"Cache-Control", "no-cache"}, {"X-Served-By", "test-server-1"}};

// What Beast's parser alone allocates for the server's answer: the response's own fields and body.
std::uint64_t parser_allocations()
{
    std::string wire = "HTTP/1.1 200 Scripted\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    for (const auto& [name, value] : extra_fields)
        wire += name + ": " + value + "\r\n";
    wire += "\r\n" + body;
    // No test macro inside the counted part: doctest allocates to record an assertion.
    boost::system::error_code ec;
    bool done = false, whole = false;
    const std::uint64_t before = bench::thread_allocation_count();
    {
        boost::beast::http::response_parser<boost::beast::http::string_body> parser;
        std::size_t used = 0;
        while (!ec && !parser.is_done() && used < wire.size())
            used += parser.put(asio::buffer(wire.data() + used, wire.size() - used), ec);
        done = parser.is_done();
        auto message = parser.release();
        whole = message.body() == body;
    }
    const std::uint64_t counted = bench::thread_allocation_count() - before;
    REQUIRE_FALSE(ec);
    REQUIRE(done);
    REQUIRE(whole);
    return counted;
}

} // namespace

TEST_CASE("a keep-alive request allocates only its request and its response's fields and body")
{
    testing::test_server server([](const testing::server_request&, testing::exchange& x) {
        x.reply(200, body, extra_fields);
    });
    const std::string url = server.url("/items");

    std::uint64_t before = bench::thread_allocation_count();
    { request probe("GET", url); }
    const std::uint64_t per_request = bench::thread_allocation_count() - before; // the caller's request
    const std::uint64_t per_response = parser_allocations();

    constexpr int warm_up = 50, measured = 500;
    asio::io_context io(1);
    client c(io.get_executor()); // everything on this thread: the count is this thread's
    std::uint64_t start = 0, end = 0;
    int ok = 0;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            for (int i = 0; i < warm_up + measured; ++i) {
                if (i == warm_up)
                    start = bench::thread_allocation_count();
                auto [ec, resp] = co_await c.async_send(request("GET", url), asio::as_tuple(asio::use_awaitable));
                ok += !ec && resp.status == 200 && resp.body == body;
            }
            end = bench::thread_allocation_count();
            c.close();
        },
        asio::detached);
    io.run();

    REQUIRE(ok == warm_up + measured);
    const std::uint64_t expected = measured * (per_request + per_response);
    MESSAGE("allocations over ", measured, " requests: ", end - start, " (request ", per_request, ", response ",
            per_response, " each)");
    CHECK(per_response > 0); // the count sees Beast's allocations at all
    CHECK(end - start <= expected);
}
