// The middleware chain: coroutine and object middleware in one chain, order, middleware that never
// call next or call it twice, errors as values, and scoped observers.
#include <roundtrip/testing/recorder.hpp>
#include <roundtrip/testing/test_server.hpp>

#include <roundtrip/client.hpp>
#include <roundtrip/error.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <thread>

using namespace roundtrip;

namespace {

// A coroutine middleware: tags the request on the way down and the response on the way up.
layer tag(std::string name, std::vector<std::string>& trail)
{
    return [name, &trail](request req, next next) -> asio::awaitable<result> {
        trail.push_back(name + " down");
        req.headers.insert("X-Trail", name);
        result r = co_await next(std::move(req));
        trail.push_back(name + " up");
        if (r)
            r.response.headers.insert("X-Seen-By", name);
        co_return r;
    };
}

// An object middleware written with callbacks, as a plugin loaded at run time would be.
class callback_tag : public middleware {
public:
    callback_tag(std::string name, std::vector<std::string>& trail) : name_(std::move(name)), trail_(trail) {}

    void handle(request req, next next, asio::any_completion_handler<void(result)> handler) override
    {
        trail_.push_back(name_ + " down");
        req.headers.insert("X-Trail", name_);
        next.async_round_trip(std::move(req), [this, h = std::move(handler)](result r) mutable {
            trail_.push_back(name_ + " up");
            if (r)
                r.response.headers.insert("X-Seen-By", name_);
            std::move(h)(std::move(r));
        });
    }

private:
    std::string name_;
    std::vector<std::string>& trail_;
};

testing::handler echo_trail()
{
    return [](const testing::server_request& req, testing::exchange& ex) {
        std::string trail;
        for (const auto& f : req.headers)
            if (f.name_string() == "X-Trail")
                trail += std::string(f.value()) + ",";
        ex.reply(200, trail);
    };
}

} // namespace

TEST_CASE("coroutine and object middleware run in one chain, first added sees the request first")
{
    testing::test_server server(echo_trail());
    std::vector<std::string> trail;
    client c(client_options{.middleware = {tag("a", trail), std::make_shared<callback_tag>("b", trail),
                                           tag("c", trail)}});
    response resp = c.send(request("GET", server.url()));
    CHECK(resp.body == "a,b,c,");
    CHECK(trail == std::vector<std::string>{"a down", "b down", "c down", "c up", "b up", "a up"});
    std::vector<std::string> seen;
    for (const auto& f : resp.headers)
        if (f.name_string() == "X-Seen-By")
            seen.push_back(std::string(f.value()));
    CHECK(seen == std::vector<std::string>{"c", "b", "a"});
}

TEST_CASE("a middleware that never calls next answers without any attempt")
{
    testing::test_server server;
    auto events = std::make_shared<testing::recorder>();
    layer stub = [](request, next) -> asio::awaitable<result> {
        result r;
        r.response.status = 418;
        r.response.body = "from the stub";
        co_return r;
    };
    client c(client_options{.middleware = {stub}, .observers = {events}});
    result r = c.round_trip(request("GET", server.url()));
    CHECK_FALSE(r.error);
    CHECK(r.response.status == 418);
    CHECK(r.attempt.attempts == 0);
    CHECK(server.connections() == 0);
    CHECK(events->names() == "call_start call_done");
}

TEST_CASE("errors travel up the chain as values, and a middleware may replace them")
{
    testing::test_server server([](const testing::server_request&, testing::exchange& ex) { ex.reset(); });
    error_code seen_inside;
    layer fallback = [&](request req, next next) -> asio::awaitable<result> {
        result r = co_await next(std::move(req));
        seen_inside = r.error;
        if (r.error == condition::connection_reset || r.error == condition::eof) {
            r.error = {};
            r.response.status = 503;
            r.response.body = "fallback";
        }
        co_return r;
    };
    client c(client_options{.middleware = {fallback}});
    result r = c.round_trip(request("GET", server.url()));
    CHECK((seen_inside == condition::connection_reset || seen_inside == condition::eof));
    CHECK(r.attempt.progress == request_progress::possibly_processed);
    CHECK_FALSE(r.error);
    CHECK(r.response.body == "fallback");
}

TEST_CASE("a layer that is a plain function and throws, beneath a callback-style middleware, fails the call")
{
    // A plain function that returns next's awaitable has no coroutine frame to catch in: it throws
    // where the layer above calls it. Beneath a callback-style middleware that is inside the chain's
    // own start_next, which must turn it into the call's error.
    testing::test_server server;
    std::vector<std::string> trail;
    layer plain = [](request req, next next) -> asio::awaitable<result> {
        if (req.headers.count("X-Trail"))
            throw std::runtime_error("boom");
        return next(std::move(req));
    };
    client c(client_options{.middleware = {std::make_shared<callback_tag>("outer", trail), plain}});
    result r = c.round_trip(request("GET", server.url()));
    CHECK(r.error == error::middleware_threw);
    CHECK(trail == std::vector<std::string>{"outer down", "outer up"});
}

TEST_CASE("an exception escaping a coroutine middleware becomes the result's error")
{
    testing::test_server server;
    layer thrower = [](request, next) -> asio::awaitable<result> {
        throw std::runtime_error("boom");
        co_return result{};
    };
    client c(client_options{.middleware = {thrower}});
    result r = c.round_trip(request("GET", server.url()));
    CHECK(r.error == error::middleware_threw);
    CHECK(r.error == condition::other);
}

TEST_CASE("next never throws: what a layer beneath lets escape reaches the layer above as a result")
{
    testing::test_server server;
    error_code seen_above;
    bool threw_above = false;
    layer above = [&](request req, next next) -> asio::awaitable<result> {
        try {
            result r = co_await next(std::move(req));
            seen_above = r.error;
            co_return r;
        } catch (...) {
            threw_above = true;
            throw;
        }
    };
    SUBCASE("a coroutine layer's exception")
    {
        layer thrower = [](request, next) -> asio::awaitable<result> {
            throw boost::system::system_error(asio::error::operation_aborted);
            co_return result{};
        };
        client c(client_options{.middleware = {above, thrower}});
        CHECK(c.round_trip(request("GET", server.url())).error == error::canceled);
    }
    SUBCASE("a plain function layer's exception, thrown before it returns an awaitable")
    {
        layer thrower = [](request, next) -> asio::awaitable<result> { throw std::runtime_error("boom"); };
        client c(client_options{.middleware = {above, thrower}});
        CHECK(c.round_trip(request("GET", server.url())).error == error::middleware_threw);
    }
    CHECK_FALSE(threw_above);
    CHECK(seen_above); // the layer above saw the failure as its result's error
}

TEST_CASE("a middleware calling next twice makes two attempts, numbered 1 and 2")
{
    testing::test_server server([](const testing::server_request& req, testing::exchange& ex) {
        ex.reply(200, std::string(req.headers["X-Try"]));
    });
    auto events = std::make_shared<testing::recorder>();
    layer twice = [](request req, next next) -> asio::awaitable<result> {
        request again = req;
        req.headers.set("X-Try", "1");
        result first = co_await next(std::move(req));
        CHECK(first.attempt.attempts == 1);
        again.headers.set("X-Try", "2");
        co_return co_await next(std::move(again));
    };
    client c(client_options{.middleware = {twice}, .observers = {events}});
    result r = c.round_trip(request("GET", server.url()));
    CHECK(r.response.body == "2");
    CHECK(r.attempt.attempts == 2);
    CHECK(server.requests() == 2);
    // The second attempt reuses the first one's connection.
    CHECK(events->names(1).starts_with("get_conn connect_start connect_done got_conn"));
    CHECK(events->names(2).starts_with("get_conn got_conn"));
}

namespace {

// Records the events of the attempts beneath it, as a middleware's scoped observer.
layer observing(std::shared_ptr<testing::recorder> into)
{
    return [into](request req, next next) -> asio::awaitable<result> {
        req.observe(into);
        co_return co_await next(std::move(req));
    };
}

// Shares one log between observers so their interleaving can be checked.
struct shared_log : observer {
    shared_log(std::string who, std::shared_ptr<std::vector<std::string>> log) : who_(std::move(who)), log_(std::move(log)) {}
    void on_event(const event& e) noexcept override { log_->push_back(who_ + ":" + std::string(name(e))); }
    std::string who_;
    std::shared_ptr<std::vector<std::string>> log_;
};

} // namespace

TEST_CASE("two middleware observing the same attempt each get every event, in chain order")
{
    testing::test_server server;
    auto log = std::make_shared<std::vector<std::string>>();
    auto outer = std::make_shared<shared_log>("outer", log);
    auto inner = std::make_shared<shared_log>("inner", log);
    auto add = [](std::shared_ptr<observer> o) -> layer {
        return [o](request req, next next) -> asio::awaitable<result> {
            req.observe(o);
            co_return co_await next(std::move(req));
        };
    };
    client c(client_options{.middleware = {add(outer), add(inner)}});
    CHECK(c.send(request("GET", server.url())).status == 200);
    REQUIRE(log->size() % 2 == 0);
    REQUIRE(log->size() == 2 * 11); // get_conn ... put_idle_conn, attempt_done: eleven events of one attempt
    for (std::size_t i = 0; i < log->size(); i += 2) {
        CHECK((*log)[i].starts_with("outer:"));
        CHECK((*log)[i + 1].starts_with("inner:"));
        CHECK((*log)[i].substr(6) == (*log)[i + 1].substr(6));
    }
    // Scoped observers see attempts, not the call: call_start/call_done belong to client observers.
    CHECK(log->front() == "outer:get_conn");
    CHECK(log->back() == "inner:attempt_done");
}

TEST_CASE("an observer added by an inner middleware sees only the attempts beneath it")
{
    testing::test_server server;
    auto outer_events = std::make_shared<testing::recorder>();
    auto first_try = std::make_shared<testing::recorder>();
    // The outer middleware retries once with the copy it kept; the inner one observes each attempt
    // with a fresh recorder, so the first recorder must not see the second attempt.
    std::vector<std::shared_ptr<testing::recorder>> per_attempt{first_try, std::make_shared<testing::recorder>()};
    std::size_t n = 0;
    layer retry_once = [](request req, next next) -> asio::awaitable<result> {
        request copy = req;
        co_await next(std::move(req));
        co_return co_await next(std::move(copy));
    };
    layer inner = [&](request req, next next) -> asio::awaitable<result> {
        req.observe(per_attempt[n++]);
        co_return co_await next(std::move(req));
    };
    client c(client_options{.middleware = {observing(outer_events), retry_once, inner}});
    CHECK(c.send(request("GET", server.url())).status == 200);
    CHECK(first_try->names(2).empty());
    CHECK_FALSE(first_try->names(1).empty());
    CHECK(per_attempt[1]->names(1).empty());
    CHECK_FALSE(per_attempt[1]->names(2).empty());
    CHECK_FALSE(outer_events->names(1).empty());
    CHECK_FALSE(outer_events->names(2).empty());
}

TEST_CASE("an attempt-header hook stamps each attempt with its own value")
{
    std::vector<std::string> stamps;
    testing::test_server server([&](const testing::server_request& req, testing::exchange& ex) {
        stamps.push_back(std::string(req.headers["X-Attempt"]));
        ex.reply(200);
    });
    struct stamper : observer {
        void on_event(const event&) noexcept override {}
        void on_attempt_headers(attempt_id id, header_fields& headers) noexcept override
        {
            headers.set("X-Attempt", std::to_string(id.call) + "." + std::to_string(id.attempt));
        }
    };
    layer stamp = [](request req, next next) -> asio::awaitable<result> {
        req.observe(std::make_shared<stamper>(), observer_hooks::events_and_headers);
        request copy = req;
        co_await next(std::move(req));
        co_return co_await next(std::move(copy));
    };
    client c(client_options{.middleware = {stamp}});
    c.send(request("GET", server.url()));
    CHECK(stamps == std::vector<std::string>{"1.1", "1.2"});
}

TEST_CASE("a header hook that writes CR/LF fails the attempt with invalid_header_value, unsent")
{
    testing::test_server server;
    struct bad_stamper : observer {
        void on_event(const event&) noexcept override {}
        void on_attempt_headers(attempt_id, header_fields& headers) noexcept override
        {
            headers.set("X-Bad", "a\r\nb");
        }
    };
    layer stamp = [](request req, next next) -> asio::awaitable<result> {
        req.observe(std::make_shared<bad_stamper>(), observer_hooks::events_and_headers);
        co_return co_await next(std::move(req));
    };
    client c(client_options{.middleware = {stamp}});
    result r = c.round_trip(request("GET", server.url()));
    CHECK(r.error == error::invalid_header_value);
    CHECK(r.attempt.progress == request_progress::not_sent);
    CHECK(server.requests() == 0);
}

TEST_CASE("a middleware object built with a client observer sees the whole client, connection events included")
{
    testing::test_server server;
    struct watcher : middleware {
        std::shared_ptr<testing::recorder> events = std::make_shared<testing::recorder>();
        void handle(request req, next next, asio::any_completion_handler<void(result)> h) override
        {
            next.async_round_trip(std::move(req), std::move(h));
        }
    };
    auto w = std::make_shared<watcher>();
    client c(client_options{.middleware = {layer(w, w->events)}});
    c.send(request("GET", server.url()));
    CHECK(w->events->names().starts_with("call_start get_conn"));
    CHECK(w->events->names().ends_with("put_idle_conn attempt_done call_done"));
    c.close_idle(); // a connection event no call owns
    for (int i = 0; i < 200 && !w->events->names().ends_with("conn_closed"); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    CHECK(w->events->names().ends_with("call_done conn_closed"));
    CHECK(w->events->events().back().e.call == 0);
}
