// The code samples of docs/middleware.md, run against a local server: a coroutine middleware, a
// middleware object, one that observes the whole client, and the three shipped middleware in one
// chain. Returns non-zero when something does not behave as the page says.

#include "expectations.hpp"
#include <roundtrip/testing/test_server.hpp> // the local server; tests use the same one
#include <roundtrip/testing/wait.hpp>        // bounded waits for the checks

#include <roundtrip/middleware/headers.hpp>
#include <roundtrip/middleware/logging.hpp>
#include <roundtrip/middleware/retry.hpp>

#include <roundtrip/client.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace {

// [doc-sample middleware-coroutine]
// Adds a request id on the way down, and the call's duration to the response on the way up.
roundtrip::layer timed = [](roundtrip::request req, roundtrip::next next)
    -> roundtrip::asio::awaitable<roundtrip::result> {
    if (req.headers.count("X-Request-Id") == 0)
        req.headers.set("X-Request-Id", "docs-1");
    const auto start = roundtrip::clock::now();
    roundtrip::result r = co_await next(std::move(req)); // a failure is a value in r, not an exception
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(roundtrip::clock::now() - start);
    if (r)
        r.response.headers.set("X-Elapsed-Us", std::to_string(us.count()));
    co_return r;
};
// [end doc-sample]

// [doc-sample middleware-object]
// The object form, for code written with callbacks: it must invoke `handler` exactly once.
class count_calls : public roundtrip::middleware {
public:
    std::atomic<int> calls{0};

    void handle(roundtrip::request req, roundtrip::next next,
                roundtrip::asio::any_completion_handler<void(roundtrip::result)> handler) override
    {
        ++calls;
        // Passing the handler on passes its cancellation slot on too.
        next.async_round_trip(std::move(req), std::move(handler));
    }
};
// [end doc-sample]

// [doc-sample middleware-client-observer]
// Counts idle connections the pool closes: events no call owns, which only a client-wide observer sees.
struct idle_close_counter : roundtrip::observer {
    std::atomic<int> closed{0};
    void on_event(const roundtrip::event& e) noexcept override
    {
        if (e.call == 0 && std::holds_alternative<roundtrip::conn_closed>(e.data))
            ++closed;
    }
};

// A middleware that brings a client-wide observer: the layer's second argument.
roundtrip::layer idle_close_watch(std::shared_ptr<idle_close_counter> seen)
{
    auto pass_on = [](roundtrip::request req, roundtrip::next next) -> roundtrip::asio::awaitable<roundtrip::result> {
        co_return co_await next(std::move(req));
    };
    return roundtrip::layer(pass_on, std::move(seen));
}
// [end doc-sample]

} // namespace

using doc_sample::expect;

int main()
{
    // A local server: the first request gets a 503, every later one a 200 that echoes X-Env and
    // X-Request-Id.
    std::mutex m;
    std::vector<std::string> envs;
    std::atomic<int> served{0};
    roundtrip::testing::test_server server([&](const roundtrip::testing::server_request& req, roundtrip::testing::exchange& ex) {
        {
            std::lock_guard lock(m);
            envs.emplace_back(req.headers["X-Env"]);
        }
        ex.reply(served++ == 0 ? 503 : 200, std::string(req.headers["X-Request-Id"]));
    });
    const std::string url = server.url("/");

    {
        // [doc-sample middleware-stack]
        roundtrip::client client(roundtrip::client_options{.middleware = {
            roundtrip::logging(),                                               // sees each call as the application made it
            roundtrip::retry({.max_retries = 3}),                               // resends when that is safe
            roundtrip::headers(roundtrip::header_rules{}.set("X-Env", "docs")), // beneath retry: edits every attempt
        }});
        roundtrip::result r = client.round_trip({"GET", url}); // 503, then 200: r.attempt.attempts == 2
        // [end doc-sample]
        expect(r.response.status == 200 && r.attempt.attempts == 2, "retry resent the 503'd GET once");
        std::lock_guard lock(m);
        expect(envs == std::vector<std::string>{"docs", "docs"}, "headers edited both attempts");
    }

    {
        auto counter = std::make_shared<count_calls>();
        auto seen = std::make_shared<idle_close_counter>();
        roundtrip::client client(roundtrip::client_options{.middleware = {timed, counter, idle_close_watch(seen)}});
        roundtrip::response r = client.send({"GET", url});
        expect(r.body == "docs-1", "the coroutine middleware set X-Request-Id");
        expect(r.headers.count("X-Elapsed-Us") == 1, "the coroutine middleware edited the response");
        expect(counter->calls == 1, "the object middleware saw the call");
        client.close_idle();
        expect(roundtrip::testing::eventually([&] { return seen->closed == 1; }),
               "the client observer saw the idle connection close");
    }

    return doc_sample::verdict("docs/middleware.md");
}
