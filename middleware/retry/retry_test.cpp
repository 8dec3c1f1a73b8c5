// The retry middleware over roundtrip-testing's fake transport, with time injected: counts and
// backoff, Retry-After with and without the cap, the safety rule for POST (scripted faults), the
// budget, the deadline, and the decisions as events other middleware see. One test drains a real
// streamed body, against the loopback server.
#include <roundtrip/testing/fake_transport.hpp>
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

// Answers the first `failures` attempts with `status`, then 200 "done".
std::shared_ptr<testing::fake_transport> fail_first(int failures, unsigned status,
                                                    std::vector<std::pair<std::string, std::string>> extra = {})
{
    auto fake = std::make_shared<testing::fake_transport>();
    for (int i = 0; i < failures; ++i)
        fake->push({.status = status, .headers = extra, .body = "busy"});
    fake->respond_with([](const request&, std::uint32_t) { return testing::answer{.body = "done"}; });
    return fake;
}

// Test-server version, for the test that needs a real connection to drain.
testing::handler server_fails_first(int failures, unsigned status)
{
    auto seen = std::make_shared<std::atomic<int>>(0);
    return [=](const testing::server_request&, testing::exchange& ex) {
        if ((*seen)++ < failures)
            return ex.reply(status, "busy");
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

// Where the fake transport's requests go: any absolute URL does.
const std::string url = "http://api.test/";

} // namespace

TEST_CASE("a retried response's streamed body is discarded, so the retry reuses its connection")
{
    testing::test_server server(server_fails_first(1, 503));
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
    auto fake = fail_first(2, 503);
    fake_time time;
    retry_options o;
    time.fill(o);
    auto above = std::make_shared<testing::recorder>();
    client c(client_options{.middleware = {observe_with(above), retry(o)}, .bottom = fake});
    result r = c.round_trip(request("GET", url));
    REQUIRE_FALSE(r.error);
    CHECK(r.response.status == 200);
    CHECK(r.attempt.attempts == 3);
    CHECK(fake->attempts() == 3);
    // random() is 0.5: half of base (100 ms), then half of 2 * base.
    CHECK(time.sleeps() == std::vector<clock::duration>{50ms, 100ms});
    // The middleware above saw both decisions, each naming the attempt that failed.
    CHECK(decisions(*above) == std::vector<std::string>{"retry_scheduled failed_attempt=1 cause=status delay_us=50000",
                                                         "retry_scheduled failed_attempt=2 cause=status delay_us=100000"});
}

TEST_CASE("retries are bounded: the last response is returned, and giving up is an event")
{
    auto fake = fail_first(100, 500);
    fake_time time;
    retry_options o;
    time.fill(o);
    o.max_retries = 3;
    o.max_delay = 150ms;
    auto events = std::make_shared<testing::recorder>();
    client c(client_options{.middleware = {retry(o)}, .observers = {events}, .bottom = fake});
    result r = c.round_trip(request("GET", url));
    CHECK_FALSE(r.error); // a 500 is a response
    CHECK(r.response.status == 500);
    CHECK(r.attempt.attempts == 4);
    CHECK(fake->attempts() == 4);
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
        client c(client_options{.middleware = {retry(o)}, .bottom = fail_first(1, 503, {{"Retry-After", "3"}})});
        CHECK(c.send(request("GET", url)).status == 200);
        CHECK(time.sleeps() == std::vector<clock::duration>{3s});
    }
    SUBCASE("HTTP-date")
    {
        o.wall_now = [] { return std::chrono::system_clock::from_time_t(784111777); }; // 08:49:37
        client c(client_options{.middleware = {retry(o)},
                                .bottom = fail_first(1, 429, {{"Retry-After", "Sun, 06 Nov 1994 08:49:42 GMT"}})});
        CHECK(c.send(request("GET", url)).status == 200);
        CHECK(time.sleeps() == std::vector<clock::duration>{5s});
    }
    SUBCASE("a date far in the future is too long, not an overflow into the past")
    {
        client c(client_options{.middleware = {retry(o)},
                                .bottom = fail_first(1, 503, {{"Retry-After", "Fri, 31 Dec 9999 23:59:59 GMT"}})});
        CHECK(c.send(request("GET", url)).status == 503);
        CHECK(time.sleeps().empty());
    }
    SUBCASE("above the cap: give up at once rather than sleep for an hour")
    {
        auto fake = fail_first(1, 503, {{"Retry-After", "3600"}});
        auto events = std::make_shared<testing::recorder>();
        client c(client_options{.middleware = {retry(o)}, .observers = {events}, .bottom = fake});
        CHECK(c.send(request("GET", url)).status == 503);
        CHECK(time.sleeps().empty());
        CHECK(fake->attempts() == 1);
        CHECK(decisions(*events) == std::vector<std::string>{"retry_given_up failed_attempt=1 reason=retry_after_too_long"});
    }
}

TEST_CASE("a POST is not resent after bytes were written, but is when nothing was written")
{
    fake_time time;
    retry_options o;
    time.fill(o);
    auto fake = std::make_shared<testing::fake_transport>();
    auto events = std::make_shared<testing::recorder>();
    client c(client_options{.middleware = {retry(o)}, .observers = {events}, .bottom = fake});
    request post("POST", url);
    post.body = "charge";
    SUBCASE("written, then the connection dropped: never sent twice")
    {
        fake->push({.fault = testing::fault::reset_after_wrote_request});
        result r = c.round_trip(post);
        CHECK(r.error == condition::connection_reset);
        CHECK(r.attempt.progress == request_progress::possibly_processed);
        CHECK(fake->attempts() == 1);
        CHECK(decisions(*events) == std::vector<std::string>{"retry_given_up failed_attempt=1 reason=not_replayable"});
    }
    SUBCASE("refused: nothing was written, so it is retried")
    {
        fake->respond_with([](const request&, std::uint32_t) {
            return testing::answer{.fault = testing::fault::refuse_connect};
        });
        result r = c.round_trip(post);
        CHECK(r.error == condition::connection_refused);
        CHECK(r.attempt.progress == request_progress::not_sent);
        CHECK(r.attempt.attempts == 3);
        CHECK(fake->requests().empty()); // not a byte reached the server
    }
    SUBCASE("a 503 to a POST is not retried, with an Idempotency-Key it is")
    {
        fake->push({.status = 503});
        fake->push({.status = 503});
        CHECK(c.send(post).status == 503);
        post.headers.set("Idempotency-Key", "order-17");
        CHECK(c.send(post).status == 200);
        CHECK(fake->attempts() == 3);
    }
}

TEST_CASE("the retry budget stops retries when a server keeps failing")
{
    auto fake = fail_first(1000, 503);
    fake_time time;
    retry_options o;
    time.fill(o);
    o.max_retries = 5;
    o.budget_ratio = 0.0;
    o.budget_min_retries = 3;
    auto events = std::make_shared<testing::recorder>();
    client c(client_options{.middleware = {retry(o)}, .observers = {events}, .bottom = fake});
    c.send(request("GET", url));
    c.send(request("GET", url));
    CHECK(fake->attempts() == 5); // 3 retries in all, then none
    auto d = decisions(*events);
    CHECK(d.back() == "retry_given_up failed_attempt=1 reason=budget_exhausted");
}

TEST_CASE("a wait that would end past the call's deadline is not started")
{
    fake_time time;
    retry_options o;
    time.fill(o);
    auto events = std::make_shared<testing::recorder>();
    client c(client_options{.middleware = {retry(o)},
                            .observers = {events},
                            .bottom = fail_first(1, 503, {{"Retry-After", "5"}}),
                            .timeout = 2s});
    CHECK(c.send(request("GET", url)).status == 503);
    CHECK(time.sleeps().empty());
    CHECK(decisions(*events) == std::vector<std::string>{"retry_given_up failed_attempt=1 reason=deadline"});
}

TEST_CASE("an attempt cut short by the per-attempt timeout is retried within the call's deadline")
{
    auto fake = std::make_shared<testing::fake_transport>();
    fake->push({.delay = 500ms}); // the first attempt is too slow
    fake->push({.body = "second try"});
    fake_time time;
    retry_options o;
    time.fill(o);
    o.per_attempt_timeout = 100ms;
    auto events = std::make_shared<testing::recorder>();
    client c(client_options{.middleware = {retry(o)}, .observers = {events}, .bottom = fake, .timeout = 5s});
    result r = c.round_trip(request("GET", url));
    REQUIRE_FALSE(r.error);
    CHECK(r.response.body == "second try");
    CHECK(r.attempt.attempts == 2);
    CHECK(decisions(*events).front().starts_with("retry_scheduled failed_attempt=1 cause=connection_error"));
}

TEST_CASE("a per-attempt timeout of duration::max() is no limit, not a deadline in the past")
{
    auto fake = std::make_shared<testing::fake_transport>();
    fake->push({.body = "ok"});
    fake_time time;
    retry_options o;
    time.fill(o);
    o.per_attempt_timeout = clock::duration::max();
    client c(client_options{.middleware = {retry(o)}, .bottom = fake, .timeout = 5s});
    result r = c.round_trip(request("GET", url));
    REQUIRE_FALSE(r.error);
    CHECK(r.response.body == "ok");
    CHECK(r.attempt.attempts == 1);
}

TEST_CASE("backoff saturates at max_delay instead of overflowing")
{
    fake_time time;
    retry_options o;
    time.fill(o);
    o.random = [] { return 1.0; };
    o.base_delay = std::chrono::hours(24);
    o.max_delay = std::chrono::hours(48);
    o.max_retries = 40;
    o.budget_min_retries = 1000;
    client c(client_options{.middleware = {retry(o)}, .bottom = fail_first(100, 503)});
    c.send(request("GET", url));
    auto slept = time.sleeps();
    REQUIRE(slept.size() == 40);
    for (auto d : slept) {
        CHECK(d > clock::duration::zero());
        CHECK(d <= std::chrono::hours(48));
    }
}

TEST_CASE("after a failure on a reused connection the retry asks for a new connection")
{
    auto events = std::make_shared<testing::recorder>(); // the transport's events come from the bottom
    auto fake = std::make_shared<testing::fake_transport>(testing::fake_options{.observers = {events}});
    fake_time time;
    retry_options o;
    time.fill(o);
    o.per_attempt_timeout = 150ms;
    client c(client_options{.middleware = {retry(o)}, .bottom = fake, .timeout = 5s});
    // Two calls in flight at once leave two idle connections.
    fake->push({.delay = 50ms});
    fake->push({.delay = 50ms});
    auto a = c.async_send(request("GET", url), asio::use_future);
    auto b = c.async_send(request("GET", url), asio::use_future);
    a.get(), b.get();
    REQUIRE(fake->connections() == 2);

    // The next call's first attempt stalls on a reused connection; its retry must not take the other
    // idle one.
    fake->push({.fault = testing::fault::stall_before_first_byte});
    result r = c.round_trip(request("GET", url));
    REQUIRE_FALSE(r.error);
    CHECK(r.attempt.attempts == 2);
    CHECK_FALSE(r.attempt.reused);
    CHECK(fake->connections() == 3);
    CHECK(fake->requests().back().new_connection);
    std::vector<bool> reused;
    for (const auto& e : events->events())
        if (auto g = std::get_if<got_conn>(&e.e.data); g && e.e.call == 3)
            reused.push_back(g->reused);
    CHECK(reused == std::vector<bool>{true, false});
}

TEST_CASE("a 404 is a final answer: not retried")
{
    auto fake = std::make_shared<testing::fake_transport>();
    fake->push({.status = 404});
    fake_time time;
    retry_options o;
    time.fill(o);
    auto events = std::make_shared<testing::recorder>();
    client c(client_options{.middleware = {retry(o)}, .observers = {events}, .bottom = fake});
    CHECK(c.send(request("GET", url)).status == 404);
    CHECK(fake->attempts() == 1);
    CHECK(decisions(*events).empty()); // a success for the retry middleware: nothing to decide
}

TEST_CASE("with the default sleep, a real backoff elapses and cancellation ends it")
{
    retry_options o;
    o.base_delay = 20ms;
    client c(client_options{.middleware = {retry(o)}, .bottom = fail_first(1, 503)});
    CHECK(c.send(request("GET", url)).status == 200);

    retry_options slow;
    slow.base_delay = 10s;
    slow.random = [] { return 0.99; };
    client waiting(client_options{.middleware = {retry(slow)}, .bottom = fail_first(1, 503)});
    auto pending = waiting.async_send(request("GET", url), asio::use_future);
    std::this_thread::sleep_for(50ms);
    waiting.close();
    REQUIRE(pending.wait_for(5s) == std::future_status::ready);
    CHECK_THROWS_AS(pending.get(), boost::system::system_error);
}
