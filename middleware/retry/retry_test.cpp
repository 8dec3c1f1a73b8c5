// The retry middleware against the loopback server, with time injected: counts and backoff,
// Retry-After with and without the cap, the safety rule for POST, the budget, the deadline, and the
// decisions as events other middleware see.
#include <roundtrip/testing/recorder.hpp>
#include <roundtrip/testing/test_server.hpp>

#include <roundtrip/middleware/retry.hpp>

#include <roundtrip/client.hpp>
#include <roundtrip/error.hpp>

#include <boost/asio/use_future.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>

using namespace roundtrip;
using namespace std::chrono_literals;

namespace {

// Sleeps that return at once and remember what they were asked for.
struct fake_time {
    std::mutex mutex;
    std::vector<clock::duration> slept;

    void fill(retry_options& o)
    {
        o.sleep = [this](clock::duration d) -> asio::awaitable<void> {
            std::lock_guard lock(mutex);
            slept.push_back(d);
            co_return;
        };
        o.random = [] { return 0.5; };
    }
    std::vector<clock::duration> sleeps()
    {
        std::lock_guard lock(mutex);
        return slept;
    }
};

// Fails the first `failures` requests with `status`, then answers 200.
testing::handler fail_first(int failures, unsigned status, std::vector<std::pair<std::string, std::string>> extra = {})
{
    auto seen = std::make_shared<std::atomic<int>>(0);
    return [=](const testing::server_request&, testing::exchange& ex) {
        if ((*seen)++ < failures)
            return ex.reply(status, "busy", extra);
        ex.reply(200, "done");
    };
}

layer observe_with(std::shared_ptr<observer> o)
{
    return [o](request req, next next) -> asio::awaitable<result> {
        req.observe(o);
        co_return co_await next(std::move(req));
    };
}

std::vector<std::string> decisions(const testing::recorder& r)
{
    std::vector<std::string> out;
    for (const auto& e : r.events())
        if (e.name == "retry_scheduled" || e.name == "retry_given_up")
            out.push_back(describe(e.e));
    return out;
}

} // namespace

TEST_CASE("a retried response's streamed body is discarded, so the retry reuses its connection")
{
    testing::test_server server(fail_first(1, 503));
    retry_options o; // real sleeps: the body drains during the backoff
    o.base_delay = 20ms;
    o.random = [] { return 0.99; };
    auto events = std::make_shared<testing::recorder>();
    client c(client_options{.middleware = {retry(o)}, .observers = {events}});
    request req("GET", server.url());
    req.stream_response = true;
    response resp = c.send(req);
    CHECK(resp.status == 200);
    CHECK(server.connections() == 1);
    CHECK(events->describe_first("conn_not_pooled").empty()); // the 503's connection was pooled, then reused
    CHECK(events->describe_first("put_idle_conn") != "");
    char got[16];
    CHECK(std::string_view(got, resp.body_stream.async_read_some(asio::buffer(got), asio::use_future).get()) == "done");
}

TEST_CASE("a 503 is retried with exponential backoff and full jitter until it succeeds")
{
    testing::test_server server(fail_first(2, 503));
    fake_time time;
    retry_options o;
    time.fill(o);
    auto above = std::make_shared<testing::recorder>();
    client c(client_options{.middleware = {observe_with(above), retry(o)}});
    result r = c.round_trip(request("GET", server.url()));
    REQUIRE_FALSE(r.error);
    CHECK(r.response.status == 200);
    CHECK(r.attempt.attempts == 3);
    CHECK(server.requests() == 3);
    // random() is 0.5: half of base (100 ms), then half of 2 * base.
    CHECK(time.sleeps() == std::vector<clock::duration>{50ms, 100ms});
    // The middleware above saw both decisions, each naming the attempt that failed.
    CHECK(decisions(*above) == std::vector<std::string>{"retry_scheduled failed_attempt=1 cause=status delay_us=50000",
                                                         "retry_scheduled failed_attempt=2 cause=status delay_us=100000"});
}

TEST_CASE("retries are bounded: the last response is returned, and giving up is an event")
{
    testing::test_server server(fail_first(100, 500));
    fake_time time;
    retry_options o;
    time.fill(o);
    o.max_retries = 3;
    o.max_delay = 150ms;
    auto events = std::make_shared<testing::recorder>();
    client c(client_options{.middleware = {retry(o)}, .observers = {events}});
    result r = c.round_trip(request("GET", server.url()));
    CHECK_FALSE(r.error); // a 500 is a response
    CHECK(r.response.status == 500);
    CHECK(r.attempt.attempts == 4);
    CHECK(server.requests() == 4);
    CHECK(time.sleeps() == std::vector<clock::duration>{50ms, 75ms, 75ms}); // capped at max_delay
    CHECK(decisions(*events).back() == "retry_given_up failed_attempt=4 reason=attempts_exhausted");
}

TEST_CASE("Retry-After in seconds or as an HTTP-date is waited for, up to the cap")
{
    fake_time time;
    retry_options o;
    time.fill(o);
    SUBCASE("seconds")
    {
        testing::test_server server(fail_first(1, 503, {{"Retry-After", "3"}}));
        client c(client_options{.middleware = {retry(o)}});
        CHECK(c.send(request("GET", server.url())).status == 200);
        CHECK(time.sleeps() == std::vector<clock::duration>{3s});
    }
    SUBCASE("HTTP-date")
    {
        testing::test_server server(fail_first(1, 429, {{"Retry-After", "Sun, 06 Nov 1994 08:49:42 GMT"}}));
        o.wall_now = [] { return std::chrono::system_clock::from_time_t(784111777); }; // 08:49:37
        client c(client_options{.middleware = {retry(o)}});
        CHECK(c.send(request("GET", server.url())).status == 200);
        CHECK(time.sleeps() == std::vector<clock::duration>{5s});
    }
    SUBCASE("a date far in the future is too long, not an overflow into the past")
    {
        testing::test_server server(fail_first(1, 503, {{"Retry-After", "Fri, 31 Dec 9999 23:59:59 GMT"}}));
        client c(client_options{.middleware = {retry(o)}});
        CHECK(c.send(request("GET", server.url())).status == 503);
        CHECK(time.sleeps().empty());
    }
    SUBCASE("above the cap: give up at once rather than sleep for an hour")
    {
        testing::test_server server(fail_first(1, 503, {{"Retry-After", "3600"}}));
        auto events = std::make_shared<testing::recorder>();
        client c(client_options{.middleware = {retry(o)}, .observers = {events}});
        CHECK(c.send(request("GET", server.url())).status == 503);
        CHECK(time.sleeps().empty());
        CHECK(server.requests() == 1);
        CHECK(decisions(*events) == std::vector<std::string>{"retry_given_up failed_attempt=1 reason=retry_after_too_long"});
    }
}

TEST_CASE("a POST is not resent after bytes were written, but is when nothing was written")
{
    fake_time time;
    retry_options o;
    time.fill(o);
    SUBCASE("written, then the connection dropped: never sent twice")
    {
        testing::test_server server([](const testing::server_request&, testing::exchange& ex) { ex.reset(); });
        auto events = std::make_shared<testing::recorder>();
        client c(client_options{.middleware = {retry(o)}, .observers = {events}});
        request post("POST", server.url());
        post.body = "charge";
        result r = c.round_trip(post);
        CHECK(r.error);
        CHECK(r.attempt.progress != request_progress::not_sent);
        CHECK(server.requests() == 1);
        CHECK(decisions(*events) == std::vector<std::string>{"retry_given_up failed_attempt=1 reason=not_replayable"});
    }
    SUBCASE("refused: nothing was written, so it is retried")
    {
        const std::uint16_t port = testing::refused_port();
        client c(client_options{.middleware = {retry(o)}});
        request post("POST", "http://127.0.0.1:" + std::to_string(port) + "/");
        result r = c.round_trip(post);
        CHECK(r.error == condition::connection_refused);
        CHECK(r.attempt.progress == request_progress::not_sent);
        CHECK(r.attempt.attempts == 3);
    }
    SUBCASE("a 503 to a POST is not retried, with an Idempotency-Key it is")
    {
        testing::test_server server(fail_first(2, 503));
        client c(client_options{.middleware = {retry(o)}});
        request post("POST", server.url());
        CHECK(c.send(post).status == 503);
        post.headers.set("Idempotency-Key", "order-17");
        CHECK(c.send(post).status == 200);
        CHECK(server.requests() == 3);
    }
}

TEST_CASE("the retry budget stops retries when a server keeps failing")
{
    testing::test_server server(fail_first(1000, 503));
    fake_time time;
    retry_options o;
    time.fill(o);
    o.max_retries = 5;
    o.budget_ratio = 0.0;
    o.budget_min_retries = 3;
    auto events = std::make_shared<testing::recorder>();
    client c(client_options{.middleware = {retry(o)}, .observers = {events}});
    c.send(request("GET", server.url()));
    c.send(request("GET", server.url()));
    CHECK(server.requests() == 5); // 3 retries in all, then none
    auto d = decisions(*events);
    CHECK(d.back() == "retry_given_up failed_attempt=1 reason=budget_exhausted");
}

TEST_CASE("a wait that would end past the call's deadline is not started")
{
    testing::test_server server(fail_first(1, 503, {{"Retry-After", "5"}}));
    fake_time time;
    retry_options o;
    time.fill(o);
    auto events = std::make_shared<testing::recorder>();
    client c(client_options{.middleware = {retry(o)}, .observers = {events}, .timeout = 2s});
    CHECK(c.send(request("GET", server.url())).status == 503);
    CHECK(time.sleeps().empty());
    CHECK(decisions(*events) == std::vector<std::string>{"retry_given_up failed_attempt=1 reason=deadline"});
}

TEST_CASE("an attempt cut short by the per-attempt timeout is retried within the call's deadline")
{
    auto seen = std::make_shared<std::atomic<int>>(0);
    testing::test_server server([seen](const testing::server_request&, testing::exchange& ex) {
        if ((*seen)++ == 0)
            ex.sleep(std::chrono::milliseconds(500)); // the first attempt is too slow
        ex.reply(200, "second try");
    });
    fake_time time;
    retry_options o;
    time.fill(o);
    o.per_attempt_timeout = 100ms;
    auto events = std::make_shared<testing::recorder>();
    client c(client_options{.middleware = {retry(o)}, .observers = {events}, .timeout = 5s});
    result r = c.round_trip(request("GET", server.url()));
    REQUIRE_FALSE(r.error);
    CHECK(r.response.body == "second try");
    CHECK(r.attempt.attempts == 2);
    CHECK(decisions(*events).front().starts_with("retry_scheduled failed_attempt=1 cause=connection_error"));
}

TEST_CASE("a per-attempt timeout of duration::max() is no limit, not a deadline in the past")
{
    testing::test_server server([](const testing::server_request&, testing::exchange& ex) { ex.reply(200, "ok"); });
    fake_time time;
    retry_options o;
    time.fill(o);
    o.per_attempt_timeout = clock::duration::max();
    client c(client_options{.middleware = {retry(o)}, .timeout = 5s});
    result r = c.round_trip(request("GET", server.url()));
    REQUIRE_FALSE(r.error);
    CHECK(r.response.body == "ok");
    CHECK(r.attempt.attempts == 1);
}

TEST_CASE("backoff saturates at max_delay instead of overflowing")
{
    testing::test_server server(fail_first(100, 503));
    fake_time time;
    retry_options o;
    time.fill(o);
    o.random = [] { return 1.0; };
    o.base_delay = std::chrono::hours(24);
    o.max_delay = std::chrono::hours(48);
    o.max_retries = 40;
    o.budget_min_retries = 1000;
    client c(client_options{.middleware = {retry(o)}});
    c.send(request("GET", server.url()));
    auto slept = time.sleeps();
    REQUIRE(slept.size() == 40);
    for (auto d : slept) {
        CHECK(d > clock::duration::zero());
        CHECK(d <= std::chrono::hours(48));
    }
}

TEST_CASE("after a failure on a reused connection the retry asks for a new connection")
{
    // Every connection answers its first request at once and stalls on its second, so the call below
    // fails on a reused connection; a second idle connection exists, which the retry must not take.
    testing::test_server server([](const testing::server_request& req, testing::exchange& ex) {
        if (ex.request_index() == 1 && req.target == "/warm")
            ex.sleep(std::chrono::milliseconds(50)); // keep both warm-up calls in flight: two connections
        if (ex.request_index() >= 2)
            ex.sleep(std::chrono::seconds(2));
        ex.reply(200, std::to_string(ex.client_port()));
    });
    fake_time time;
    retry_options o;
    time.fill(o);
    o.per_attempt_timeout = 150ms;
    auto events = std::make_shared<testing::recorder>();
    client c(client_options{.middleware = {retry(o)}, .observers = {events}, .timeout = 5s});
    auto a = c.async_send(request("GET", server.url("/warm")), asio::use_future);
    auto b = c.async_send(request("GET", server.url("/warm")), asio::use_future);
    a.get(), b.get();
    REQUIRE(c.stats().idle == 2);

    result r = c.round_trip(request("GET", server.url("/work")));
    REQUIRE_FALSE(r.error);
    CHECK(r.attempt.attempts == 2);
    CHECK_FALSE(r.attempt.reused); // a new connection, though an idle one was there
    CHECK(server.connections() == 3);
    std::vector<bool> reused;
    for (const auto& e : events->events())
        if (auto g = std::get_if<got_conn>(&e.e.data); g && e.e.call == 3)
            reused.push_back(g->reused);
    CHECK(reused == std::vector<bool>{true, false});
}

TEST_CASE("a 404 is a final answer: not retried")
{
    testing::test_server server([](const testing::server_request&, testing::exchange& ex) { ex.reply(404); });
    fake_time time;
    retry_options o;
    time.fill(o);
    auto events = std::make_shared<testing::recorder>();
    client c(client_options{.middleware = {retry(o)}, .observers = {events}});
    CHECK(c.send(request("GET", server.url())).status == 404);
    CHECK(server.requests() == 1);
    CHECK(decisions(*events).empty()); // a success for the retry middleware: nothing to decide
}

TEST_CASE("with the default sleep, a real backoff elapses and cancellation ends it")
{
    testing::test_server server(fail_first(1, 503));
    retry_options o;
    o.base_delay = 20ms;
    client c(client_options{.middleware = {retry(o)}});
    CHECK(c.send(request("GET", server.url())).status == 200);

    retry_options slow;
    slow.base_delay = 10s;
    slow.random = [] { return 0.99; };
    testing::test_server busy(fail_first(1, 503));
    client waiting(client_options{.middleware = {retry(slow)}});
    auto pending = waiting.async_send(request("GET", busy.url()), asio::use_future);
    std::this_thread::sleep_for(50ms);
    waiting.close();
    REQUIRE(pending.wait_for(5s) == std::future_status::ready);
    CHECK_THROWS_AS(pending.get(), boost::system::system_error);
}
