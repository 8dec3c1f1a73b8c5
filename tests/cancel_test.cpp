// Cancellation: through the handler's cancellation slot, by close(), and by destroying the client,
// in each phase of an attempt and in a middleware's own wait.
#include <roundtrip/testing/recorder.hpp>
#include "silent_resolver.hpp"
#include <roundtrip/testing/test_server.hpp>

#include <roundtrip/client.hpp>
#include <roundtrip/error.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <doctest/doctest.h>

#include <future>

using namespace roundtrip;
using namespace std::chrono_literals;
using namespace boost::asio::experimental::awaitable_operators;

namespace {

testing::handler stall()
{
    return [](const testing::server_request&, testing::exchange& ex) { ex.stall(); };
}

// Sends on an io_context run by this thread and cancels through the slot after `after`, with `type`.
std::pair<error_code, std::shared_ptr<testing::recorder>> cancel_after(client_options options, request req,
                                                                   std::chrono::milliseconds after,
                                                                   asio::cancellation_type type = asio::cancellation_type::terminal)
{
    asio::io_context io;
    auto events = std::make_shared<testing::recorder>();
    options.observers.push_back(events);
    client c(io.get_executor(), std::move(options));
    asio::cancellation_signal cancel;
    error_code ec;
    int completions = 0;
    c.async_send(std::move(req), asio::bind_cancellation_slot(cancel.slot(), [&](error_code e, response) {
                     ec = e;
                     ++completions;
                 }));
    asio::steady_timer timer(io, after);
    timer.async_wait([&](error_code) { cancel.emit(type); });
    const auto give_up = clock::now() + 10s;
    while (completions == 0 && clock::now() < give_up)
        io.run_one_for(100ms);
    CHECK(completions == 1);
    events->completed_at = events->names();
    // What the call left running (a dial it abandoned) ends when the client closes.
    c.close();
    io.run_for(5s);
    return {ec, events};
}

} // namespace

TEST_CASE("cancelling through the slot while waiting for the response ends the call with canceled")
{
    testing::test_server server(stall());
    auto [ec, events] = cancel_after({}, request("GET", server.url()), 100ms);
    CHECK(ec == error::canceled);
    CHECK(ec == condition::canceled);
    CHECK(events->names().ends_with("wrote_request conn_not_pooled conn_closed attempt_done call_done"));
    CHECK(events->first<conn_not_pooled>()->reason == not_pooled_reason::broken);
}

TEST_CASE("partial cancellation ends a call at any point, as terminal does")
{
    testing::test_server server(stall());
    auto [ec, events] = cancel_after({}, request("GET", server.url()), 100ms, asio::cancellation_type::partial);
    CHECK(ec == error::canceled);
    CHECK(events->names().ends_with("attempt_done call_done"));
}

TEST_CASE("total cancellation is declined once the request was written: the call goes on to its end")
{
    testing::test_server server(stall());
    request req("GET", server.url());
    req.timeout = 400ms;
    auto [ec, events] = cancel_after({}, std::move(req), 100ms, asio::cancellation_type::total);
    CHECK(ec == error::deadline_exceeded); // not canceled: the server may have acted on the request
    CHECK(server.requests() == 1);
}

TEST_CASE("total cancellation ends a call that has written nothing yet: one waiting for a connection")
{
    testing::test_server server(stall());
    client_options options;
    options.transport.pool.max_conns_per_host = 1;
    asio::io_context io;
    client c(io.get_executor(), std::move(options));
    request first("GET", server.url());
    first.timeout = 2s;
    error_code first_ec;
    c.async_send(first, [&](error_code e, response) { first_ec = e; });
    // The second call queues behind the first for the host's only connection.
    asio::cancellation_signal cancel;
    error_code second_ec;
    int second_done = 0;
    c.async_send(request("GET", server.url()), asio::bind_cancellation_slot(cancel.slot(), [&](error_code e, response) {
                     second_ec = e;
                     ++second_done;
                 }));
    asio::steady_timer timer(io, 200ms);
    timer.async_wait([&](error_code) { cancel.emit(asio::cancellation_type::total); });
    const auto give_up = clock::now() + 10s;
    while (second_done == 0 && clock::now() < give_up)
        io.run_one_for(100ms);
    CHECK(second_done == 1);
    CHECK(second_ec == error::canceled);
    CHECK(server.requests() == 1);
    c.close();
    io.run_for(5s);
}

TEST_CASE("cancelling during a lookup that never answers ends the call at once; the dial goes on")
{
    client_options options;
    options.transport.dial.resolver = std::make_shared<testing::silent_resolver>();
    auto [ec, events] = cancel_after(std::move(options), request("GET", "http://slow.test/"), 50ms);
    CHECK(ec == error::canceled);
    // The abandoned dial would go to the pool if it connected; the client's close ends it, and its
    // dns_start is still paired.
    CHECK(events->completed_at == "call_start get_conn dns_start attempt_done call_done");
    CHECK(events->names() == "call_start get_conn dns_start attempt_done call_done dns_done");
    CHECK(events->first<dns_done>()->error == error::canceled);
}

TEST_CASE("cancelling reaches a middleware's own wait")
{
    layer slow = [](request req, next next) -> asio::awaitable<result> {
        asio::steady_timer wait(co_await asio::this_coro::executor, 10s);
        co_await wait.async_wait(asio::use_awaitable); // throws operation_aborted when cancelled
        co_return co_await next(std::move(req));
    };
    auto [ec, events] = cancel_after(client_options{.middleware = {slow}}, request("GET", "http://127.0.0.1:1/"), 50ms);
    CHECK(ec == error::canceled);
    CHECK(events->names() == "call_start call_done");
}

TEST_CASE("close() ends every call in flight with canceled and fails later calls at once")
{
    testing::test_server server(stall());
    client c;
    auto first = c.async_send(request("GET", server.url()), asio::use_future);
    auto second = c.async_send(request("GET", server.url()), asio::use_future);
    // Wait until both requests reached the server, so both calls are in the exchange.
    for (int i = 0; i < 500 && server.requests() < 2; ++i)
        std::this_thread::sleep_for(10ms);
    REQUIRE(server.requests() == 2);
    c.close();
    REQUIRE(first.wait_for(5s) == std::future_status::ready);
    REQUIRE(second.wait_for(5s) == std::future_status::ready);
    auto code_of = [](auto& f) {
        try {
            f.get();
        } catch (const boost::system::system_error& e) {
            return e.code();
        }
        return error_code();
    };
    CHECK(code_of(first) == error::canceled);
    CHECK(code_of(second) == error::canceled);
    result later = c.round_trip(request("GET", server.url()));
    CHECK(later.error == error::canceled);
    CHECK(server.connections() == 2);
}

TEST_CASE("close() also ends a call waiting in a middleware")
{
    layer slow = [](request req, next next) -> asio::awaitable<result> {
        asio::steady_timer wait(co_await asio::this_coro::executor, 10s);
        co_await wait.async_wait(asio::use_awaitable);
        co_return co_await next(std::move(req));
    };
    client c(client_options{.middleware = {slow}});
    auto pending = c.async_send(request("GET", "http://127.0.0.1:1/"), asio::use_future);
    std::this_thread::sleep_for(50ms);
    c.close();
    REQUIRE(pending.wait_for(5s) == std::future_status::ready);
    CHECK_THROWS_AS(pending.get(), boost::system::system_error);
}

TEST_CASE("destroying a client with a call in flight completes that call with canceled")
{
    testing::test_server server(stall());
    std::future<response> pending;
    {
        client c;
        pending = c.async_send(request("GET", server.url()), asio::use_future);
        for (int i = 0; i < 500 && server.requests() < 1; ++i)
            std::this_thread::sleep_for(10ms);
    }
    REQUIRE(pending.wait_for(5s) == std::future_status::ready);
    try {
        pending.get();
        FAIL("expected canceled");
    } catch (const boost::system::system_error& e) {
        CHECK(e.code() == error::canceled);
    }
}

TEST_CASE("a middleware's own race ends the attempt it started, even one waiting for a connection")
{
    // One connection per host, held by a call the server never answers: the raced call's attempt
    // waits for a connection. The middleware's timer wins the race; the attempt must end with it,
    // not when a connection frees up (never, here) or at the deadline.
    testing::test_server server(stall());
    client_options options;
    options.transport.pool.max_conns_per_host = 1;
    options.middleware.push_back([](request req, next next) -> asio::awaitable<result> {
        if (!req.headers.count("X-Race"))
            co_return co_await next(std::move(req));
        asio::steady_timer timer(co_await asio::this_coro::executor, 100ms);
        auto outcome = co_await (next(std::move(req)) || timer.async_wait(asio::use_awaitable));
        result r;
        if (outcome.index() == 0)
            r = std::get<0>(std::move(outcome));
        else
            r.error = error::deadline_exceeded; // the middleware's own verdict: its timer won
        co_return r;
    });
    client c(std::move(options));
    auto holder = c.async_send(request("GET", server.url("/hold")), asio::use_future);
    request raced("GET", server.url("/raced"));
    raced.headers.set("X-Race", "1");
    raced.timeout = 10s;
    const auto started = clock::now();
    auto outcome = c.async_send(std::move(raced), asio::use_future);
    REQUIRE(outcome.wait_for(5s) == std::future_status::ready);
    CHECK(clock::now() - started < 3s);
    try {
        outcome.get();
        FAIL("the raced call should have failed");
    } catch (const boost::system::system_error& e) {
        CHECK(e.code() == error::deadline_exceeded);
    }
    CHECK(c.stats().waiting == 0); // the wait was withdrawn with the attempt
    c.close();
    CHECK_THROWS(holder.get());
}

TEST_CASE("a middleware that sends a request of its own making, without the call's state, gets its response")
{
    testing::test_server server([](const testing::server_request& req, testing::exchange& ex) { ex.reply(200, req.target); });
    client_options options;
    const std::string elsewhere = server.url("/elsewhere");
    options.middleware.push_back([elsewhere](request, next next) -> asio::awaitable<result> {
        co_return co_await next(request("GET", elsewhere)); // a new request, not a copy
    });
    client c(std::move(options));
    CHECK(c.send(request("GET", server.url("/asked"))).body == "/elsewhere");
}
