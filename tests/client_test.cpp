// The client's API: every completion token, the blocking calls, handler executors, and many threads
// sending at once.
#include <roundtrip/testing/recorder.hpp>
#include <roundtrip/testing/test_server.hpp>

#include <roundtrip/client.hpp>
#include <roundtrip/error.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <set>
#include <thread>

using namespace roundtrip;
using namespace std::chrono_literals;

namespace {

// Runs `io` until `done()` or 10 s. A pooled connection's idle watcher keeps `io` busy, so run() alone
// would not return while the client lives.
template <class Done>
void run_until(asio::io_context& io, Done done)
{
    const auto give_up = clock::now() + 10s;
    while (!done() && clock::now() < give_up)
        io.run_one_for(100ms);
}

} // namespace

TEST_CASE("async_send takes a callback, and never calls it inside async_send")
{
    testing::test_server server;
    asio::io_context io;
    client c(io.get_executor());
    bool done = false;
    unsigned status = 0;
    c.async_send(request("GET", server.url()), [&](error_code ec, response resp) {
        CHECK_FALSE(ec);
        status = resp.status;
        done = true;
    });
    CHECK_FALSE(done);
    run_until(io, [&] { return done; });
    CHECK(done);
    CHECK(status == 200);
}

TEST_CASE("async_send works with use_awaitable, and async_round_trip yields the attempt report")
{
    testing::test_server server;
    asio::io_context io;
    client c(io.get_executor());
    unsigned status = 0;
    result full;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            response resp = co_await c.async_send(request("GET", server.url()), asio::use_awaitable);
            status = resp.status;
            full = co_await c.async_round_trip(request("GET", server.url()), asio::use_awaitable);
        },
        asio::detached);
    run_until(io, [&] { return full.response.status != 0; });
    CHECK(status == 200);
    CHECK(full.response.status == 200);
    CHECK(full.attempt.attempts == 1);
    CHECK(full.attempt.progress == request_progress::response_started);
    CHECK(full.attempt.conn >= 1);
    CHECK(full.attempt.reused); // the first call's connection
}

TEST_CASE("async_send with use_awaitable throws system_error on failure; as_tuple does not")
{
    const std::uint16_t port = testing::refused_port();
    const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
    asio::io_context io;
    client c(io.get_executor());
    error_code thrown, tupled;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            try {
                co_await c.async_send(request("GET", url), asio::use_awaitable);
            } catch (const boost::system::system_error& e) {
                thrown = e.code();
            }
            auto [ec, resp] = co_await c.async_send(request("GET", url), asio::as_tuple(asio::use_awaitable));
            tupled = ec;
        },
        asio::detached);
    run_until(io, [&] { return bool(tupled); });
    CHECK(thrown == condition::connection_refused);
    CHECK(tupled == condition::connection_refused);
}

TEST_CASE("async_send works with use_future and deferred")
{
    testing::test_server server;
    client c;
    auto fut = c.async_send(request("GET", server.url()), asio::use_future);
    REQUIRE(fut.wait_for(10s) == std::future_status::ready);
    CHECK(fut.get().status == 200);

    auto op = c.async_send(request("GET", server.url()), asio::deferred);
    std::promise<unsigned> got;
    std::move(op)([&](error_code, response resp) { got.set_value(resp.status); });
    auto status = got.get_future();
    REQUIRE(status.wait_for(10s) == std::future_status::ready);
    CHECK(status.get() == 200);
}

TEST_CASE("a handler runs on its associated executor")
{
    testing::test_server server;
    asio::io_context io;
    client c(io.get_executor());
    auto mine = asio::make_strand(io);
    bool on_mine = false, done = false;
    c.async_send(request("GET", server.url()), asio::bind_executor(mine, [&](error_code, response) {
                     on_mine = mine.running_in_this_thread();
                     done = true;
                 }));
    run_until(io, [&] { return done; });
    CHECK(on_mine);
}

TEST_CASE("the blocking send returns the response, or throws system_error; send(req, ec) does not throw")
{
    testing::test_server server([](const testing::server_request&, testing::exchange& ex) { ex.reply(404, "missing"); });
    client c;
    response resp = c.send(request("GET", server.url()));
    CHECK(resp.status == 404); // a 404 is a response, not an error
    CHECK(resp.body == "missing");

    const std::uint16_t port = testing::refused_port();
    const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
    try {
        c.send(request("GET", url));
        FAIL("expected system_error");
    } catch (const boost::system::system_error& e) {
        CHECK(e.code() == condition::connection_refused);
        // In roundtrip's category, as every error a call ends with; the text names the class, and
        // no source location of Asio's.
        CHECK(e.code() == error::connection_refused);
        CHECK(std::string(e.what()) == "connection_refused: connection refused");
    }
    error_code ec;
    c.send(request("GET", url), ec);
    CHECK(ec == error::connection_refused);
    c.send(request("GET", "http://bad url/"), ec);
    CHECK(ec == condition::invalid_url);
}

TEST_CASE("four threads sending at once through one client all get their responses")
{
    testing::test_server server([](const testing::server_request& req, testing::exchange& ex) { ex.reply(200, req.target); });
    auto events = std::make_shared<testing::recorder>();
    client c(client_options{.observers = {events}});
    constexpr int threads = 4, each = 25;
    std::atomic<int> ok{0}, wrong{0};
    std::vector<std::thread> senders;
    for (int t = 0; t < threads; ++t)
        senders.emplace_back([&, t] {
            for (int i = 0; i < each; ++i) {
                const std::string path = "/" + std::to_string(t) + "/" + std::to_string(i);
                error_code ec;
                response resp = c.send(request("GET", server.url(path)), ec);
                (!ec && resp.body == path ? ok : wrong)++;
            }
        });
    for (auto& s : senders)
        s.join();
    CHECK(ok == threads * each);
    CHECK(wrong == 0);
    CHECK(server.requests() == threads * each);
    std::set<std::uint64_t> calls;
    for (const auto& r : events->events())
        if (r.e.call != 0) // 0: a connection no call owns, e.g. a late-bound dial's going idle
            calls.insert(r.e.call);
    CHECK(calls.size() == threads * each);
}

TEST_CASE("a client on a two-thread io_context serves four threads' async sends")
{
    testing::test_server server;
    asio::io_context io(2);
    auto work = asio::make_work_guard(io);
    std::vector<std::thread> runners;
    for (int i = 0; i < 2; ++i)
        runners.emplace_back([&] { io.run(); });
    {
        client c(io.get_executor());
        std::atomic<int> ok{0};
        std::vector<std::thread> senders;
        for (int t = 0; t < 4; ++t)
            senders.emplace_back([&] {
                std::vector<std::future<response>> pending;
                for (int i = 0; i < 10; ++i)
                    pending.push_back(c.async_send(request("GET", server.url()), asio::use_future));
                for (auto& p : pending)
                    if (p.wait_for(20s) == std::future_status::ready && p.get().status == 200)
                        ++ok;
            });
        for (auto& s : senders)
            s.join();
        CHECK(ok == 40);
    }
    work.reset();
    for (auto& r : runners)
        r.join();
}

namespace {

// A bottom round tripper that answers every request itself, from its own thread's point of view as a
// real one would: never inside do_round_trip, on the handler's executor.
class answering_bottom : public round_tripper {
public:
    explicit answering_bottom(asio::io_context& io) : io_(io) {}
    std::atomic<int> requests{0};
    std::string last_header;

private:
    void do_round_trip(request req, asio::any_completion_handler<signature> handler) override
    {
        ++requests;
        last_header = req.headers["X-Layer"];
        result r;
        r.response.status = 299;
        r.response.body = "from the bottom: " + req.url;
        r.attempt.attempts = 1;
        // Off this call stack, then on the handler's own executor (an any_completion_executor offers
        // execute() alone).
        asio::post(io_, [this, h = std::move(handler), r = std::move(r)]() mutable {
            auto ex = asio::get_associated_executor(h, io_.get_executor());
            ex.execute([h = std::move(h), r = std::move(r)]() mutable { std::move(h)(std::move(r)); });
        });
    }
    asio::io_context& io_;
};

} // namespace

TEST_CASE("a client over a bottom of the caller's own: the chain's requests reach it, its results come back")
{
    asio::io_context io;
    auto bottom = std::make_shared<answering_bottom>(io);
    client_options options{.middleware = {[](request req, next next) -> asio::awaitable<result> {
                               req.headers.set("X-Layer", "seen");
                               co_return co_await next(std::move(req));
                           }}};
    options.bottom = bottom;
    client c(io.get_executor(), std::move(options));
    std::optional<response> got;
    c.async_send(request("GET", "http://example.invalid/x"), [&](error_code ec, response r) {
        CHECK_FALSE(ec);
        got = std::move(r);
    });
    run_until(io, [&] { return got.has_value(); });
    REQUIRE(got);
    CHECK(got->status == 299);
    CHECK(got->body == "from the bottom: http://example.invalid/x");
    CHECK(bottom->last_header == "seen");
    CHECK(c.stats().open == 0); // not a transport: nothing to report
    c.close_idle();             // and nothing to close
}

TEST_CASE("two clients share one transport as their bottom: the second reuses the first one's connection")
{
    testing::test_server server([](const testing::server_request&, testing::exchange& ex) { ex.reply(200, "ok"); });
    asio::io_context io;
    auto transport_events = std::make_shared<testing::recorder>();
    auto shared = std::make_shared<transport>(asio::make_strand(io), transport_options{},
                                              std::vector<std::shared_ptr<observer>>{transport_events});
    auto client_events = std::make_shared<testing::recorder>();
    client a(io.get_executor(), client_options{.observers = {client_events}, .bottom = shared});
    client b(io.get_executor(), client_options{.bottom = shared});
    int done = 0;
    a.async_send(request("GET", server.url()), [&](error_code ec, response) {
        CHECK_FALSE(ec);
        b.async_send(request("GET", server.url()), [&](error_code ec2, response) {
            CHECK_FALSE(ec2);
            ++done;
        });
    });
    run_until(io, [&] { return done == 1; });
    REQUIRE(done == 1);
    CHECK(server.connections() == 1);
    CHECK(a.stats().idle == 1); // the shared transport's pool, seen from either client
    // The transport's events went to its own observers; the client's see the client's events.
    std::vector<bool> reused;
    for (const auto& e : transport_events->events())
        if (auto g = std::get_if<got_conn>(&e.e.data))
            reused.push_back(g->reused);
    CHECK(reused == std::vector<bool>{false, true});
    bool call_done_seen = false;
    for (const auto& e : client_events->events()) {
        CHECK_FALSE(std::holds_alternative<got_conn>(e.e.data));
        call_done_seen = call_done_seen || std::holds_alternative<call_done>(e.e.data);
    }
    CHECK(call_done_seen);
    a.close(); // a given bottom stays open
    CHECK(b.stats().idle == 1);
    shared->close();
    run_until(io, [&] { return b.stats().open == 0; });
}
