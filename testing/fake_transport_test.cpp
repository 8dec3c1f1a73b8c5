// The fake transport plays its script with the events, errors and progress of roundtrip's transport:
// new and reused connections, each fault, delays bounded by the deadline and by cancellation,
// streamed bodies, and the attempt-header hook of scoped observers.
#include <roundtrip/testing/fake_transport.hpp>
#include <roundtrip/testing/recorder.hpp>
#include <roundtrip/testing/wait.hpp>

#include <roundtrip/body_source.hpp>
#include <roundtrip/client.hpp>
#include <roundtrip/error.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/use_future.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <future>
#include <thread>

using namespace roundtrip;
using namespace std::chrono_literals;

namespace {

struct rig {
    std::shared_ptr<testing::recorder> events = std::make_shared<testing::recorder>();
    std::shared_ptr<testing::fake_transport> fake =
        std::make_shared<testing::fake_transport>(testing::fake_options{.observers = {events}});
    client c{client_options{.bottom = fake}};
};

} // namespace

TEST_CASE("a new connection, then the same one reused from the idle pool")
{
    rig t;
    t.fake->push({.status = 201, .body = "made"});
    result first = t.c.round_trip(request("POST", "http://api.test:8080/items"));
    REQUIRE_FALSE(first.error);
    CHECK(first.response.status == 201);
    CHECK(first.response.body == "made");
    CHECK(first.response.headers["Content-Length"] == "4");
    CHECK(first.attempt.attempts == 1);
    CHECK_FALSE(first.attempt.reused);
    CHECK(first.attempt.progress == request_progress::response_started);
    CHECK(t.events->names() == "get_conn dns_start dns_done connect_start connect_done got_conn wrote_headers "
                               "wrote_request got_first_response_byte response_headers response_body_done "
                               "put_idle_conn attempt_done");
    CHECK(t.events->describe_first("dns_done").starts_with("dns_done addresses=[127.0.0.1:8080] error=none took_us="));
    CHECK(t.events->describe_first("get_conn") == "get_conn scheme=http host=api.test port=8080 method=POST transparent_retry=false");
    CHECK(t.events->describe_first("got_conn").ends_with("not_reused=no_idle late_bound=false"));

    std::this_thread::sleep_for(5ms);
    result second = t.c.round_trip(request("GET", "http://api.test:8080/items/1"));
    REQUIRE_FALSE(second.error);
    CHECK(second.response.status == 200); // nothing scripted: answer{}
    CHECK(second.attempt.reused);
    CHECK(second.attempt.conn == first.attempt.conn);
    const auto reused = t.events->events();
    const auto got = std::find_if(reused.rbegin(), reused.rend(), [](const auto& r) { return r.name == "got_conn"; });
    REQUIRE(got != reused.rend());
    const auto* g = std::get_if<got_conn>(&got->e.data);
    CHECK(g->reused);
    CHECK(g->was_idle);
    CHECK(g->idle_time >= 5ms);
    CHECK(got->e.call == 2);

    const auto seen = t.fake->requests();
    REQUIRE(seen.size() == 2);
    CHECK(seen[0].method == "POST");
    CHECK(seen[1].url == "http://api.test:8080/items/1");
    CHECK(t.fake->connections() == 1);
}

TEST_CASE("https has a handshake; an IP literal is not resolved; new_connection skips the pool")
{
    rig t;
    REQUIRE_FALSE(t.c.round_trip(request("GET", "https://127.0.0.1/")).error);
    CHECK(t.events->names() == "get_conn connect_start connect_done tls_handshake_start tls_handshake_done got_conn "
                               "wrote_headers wrote_request got_first_response_byte response_headers "
                               "response_body_done put_idle_conn attempt_done");
    request fresh("GET", "https://127.0.0.1/");
    fresh.new_connection = true;
    result r = t.c.round_trip(fresh);
    CHECK_FALSE(r.attempt.reused);
    CHECK(t.fake->connections() == 2);
}

TEST_CASE("each fault fails as the transport fails, with its error and progress")
{
    rig t;
    SUBCASE("refuse_connect: nothing was sent")
    {
        t.fake->push({.fault = testing::fault::refuse_connect});
        result r = t.c.round_trip(request("POST", "http://h/"));
        CHECK(r.error == error::connection_refused);
        CHECK(r.attempt.progress == request_progress::not_sent);
        CHECK(t.events->names() == "get_conn dns_start dns_done connect_start connect_done attempt_done");
        CHECK(t.events->describe_first("connect_done").find("error=connection_refused") != std::string::npos);
        CHECK(t.fake->requests().empty());
    }
    SUBCASE("reset_after_wrote_request: the server may have processed it")
    {
        t.fake->push({.fault = testing::fault::reset_after_wrote_request});
        request post("POST", "http://h/");
        post.body = "x";
        result r = t.c.round_trip(post);
        CHECK(r.error == error::connection_reset);
        CHECK(r.attempt.progress == request_progress::possibly_processed);
        CHECK(testing::connection_fate(*t.events) == "broken");
        CHECK(t.events->names(1).ends_with("wrote_request conn_not_pooled conn_closed attempt_done"));
        REQUIRE(t.fake->requests().size() == 1);
    }
    SUBCASE("stall_before_first_byte: ended by the call's deadline")
    {
        t.fake->push({.fault = testing::fault::stall_before_first_byte});
        request req("GET", "http://h/");
        req.timeout = 50ms;
        result r = t.c.round_trip(req);
        CHECK(r.error == error::deadline_exceeded);
        CHECK(r.attempt.progress == request_progress::possibly_processed);
    }
    SUBCASE("stall_before_first_byte: ended by the response header timeout")
    {
        auto fake = std::make_shared<testing::fake_transport>(testing::fake_options{.response_header_timeout = 20ms});
        client c(client_options{.bottom = fake});
        fake->push({.fault = testing::fault::stall_before_first_byte});
        CHECK(c.round_trip(request("GET", "http://h/")).error == error::response_header_timeout);
    }
    SUBCASE("stale_pooled_connection: a GET is retried on a new connection as attempt 2")
    {
        t.fake->push({.fault = testing::fault::stale_pooled_connection});
        t.fake->push({.body = "fresh"});
        result r = t.c.round_trip(request("GET", "http://h/"));
        REQUIRE_FALSE(r.error);
        CHECK(r.response.body == "fresh");
        CHECK(r.attempt.attempts == 2);
        CHECK_FALSE(r.attempt.reused);
        CHECK(t.events->names(1) == "get_conn got_conn wrote_headers wrote_request conn_not_pooled conn_closed "
                                    "attempt_done");
        CHECK(t.events->describe_first("got_conn").starts_with("got_conn reused=true was_idle=true"));
        CHECK(t.events->describe_first("attempt_done").starts_with("attempt_done status=0 error=eof took_us="));
        const auto all = t.events->events();
        std::vector<bool> resent; // get_conn's transparent_retry, attempt by attempt
        for (const auto& e : all)
            if (auto g = std::get_if<get_conn>(&e.e.data))
                resent.push_back(g->transparent_retry);
        CHECK(resent == std::vector<bool>{false, true});
    }
    SUBCASE("stale_pooled_connection: a POST is not resent")
    {
        t.fake->push({.fault = testing::fault::stale_pooled_connection});
        request post("POST", "http://h/");
        post.body = "x";
        result r = t.c.round_trip(post);
        CHECK(r.error == error::unexpected_eof);
        CHECK(r.attempt.attempts == 1);
        CHECK(t.fake->attempts() == 1);
    }
}

TEST_CASE("a delay is the server's think time; cancellation ends it")
{
    rig t;
    t.fake->push({.delay = 30ms});
    const auto start = clock::now();
    REQUIRE_FALSE(t.c.round_trip(request("GET", "http://h/")).error);
    CHECK(clock::now() - start >= 30ms);

    t.fake->push({.delay = 10s});
    asio::cancellation_signal cancel;
    auto f = t.c.async_send(request("GET", "http://h/"),
                            asio::bind_cancellation_slot(cancel.slot(), asio::use_future));
    std::this_thread::sleep_for(20ms);
    asio::post(t.c.get_executor(), [&] { cancel.emit(asio::cancellation_type::terminal); });
    REQUIRE(f.wait_for(5s) == std::future_status::ready);
    try {
        f.get();
        FAIL("the call was not cancelled");
    } catch (const boost::system::system_error& e) {
        CHECK(e.code() == error::canceled);
    }
}

TEST_CASE("a streamed response is read through body_stream; its connection returns at its end")
{
    rig t;
    t.fake->push({.body = "streamed body"});
    request req("GET", "http://h/");
    req.stream_response = true;
    response resp = t.c.send(req);
    CHECK(resp.body.empty());
    CHECK(t.events->names().ends_with("response_headers attempt_done"));
    std::string got(64, '\0');
    std::size_t n = 0;
    boost::system::error_code ec;
    for (int i = 0; i < 4 && !ec; ++i) {
        try {
            n += resp.body_stream.async_read_some(asio::buffer(got.data() + n, got.size() - n), asio::use_future).get();
        } catch (const boost::system::system_error& e) {
            ec = e.code();
        }
    }
    CHECK(ec == asio::error::eof);
    CHECK(got.substr(0, n) == "streamed body");
    CHECK(t.events->names().ends_with("attempt_done response_body_done put_idle_conn"));
}

TEST_CASE("scoped observers see the attempts and stamp their headers, which the fake records")
{
    struct stamper : observer {
        void on_event(const event&) noexcept override {}
        void on_attempt_headers(attempt_id id, header_fields& h) noexcept override
        {
            h.set("X-Attempt", std::to_string(id.attempt));
        }
    };
    auto events = std::make_shared<testing::recorder>();
    auto fake = std::make_shared<testing::fake_transport>();
    fake->push({.fault = testing::fault::refuse_connect});
    client c(client_options{
        .middleware = {[events](request req, next next) -> asio::awaitable<result> {
            req.observe(events);
            req.observe(std::make_shared<stamper>(), observer_hooks::events_and_headers);
            co_await next(req); // refused
            co_return co_await next(std::move(req));
        }},
        .bottom = fake});
    result r = c.round_trip(request("GET", "http://h/"));
    REQUIRE_FALSE(r.error);
    CHECK(r.attempt.attempts == 2);
    CHECK(events->names(1) == "get_conn dns_start dns_done connect_start connect_done attempt_done");
    CHECK(events->names(2).starts_with("get_conn dns_start"));
    REQUIRE(fake->requests().size() == 1);
    CHECK(fake->requests()[0].headers["X-Attempt"] == "2");
    CHECK(fake->requests()[0].attempt == 2);
}

TEST_CASE("an unusable URL fails without events, as with the transport")
{
    rig t;
    CHECK(t.c.round_trip(request("GET", "ftp://h/")).error == error::invalid_url);
    CHECK(t.events->names().empty());
}

TEST_CASE("the README's example: a scripted 503, then a reset after the request was written")
{
    roundtrip::layer my_middleware = [](request req, next next) -> asio::awaitable<result> {
        co_return co_await next(std::move(req));
    };
    // [doc-sample testing-readme]
    auto events = std::make_shared<roundtrip::testing::recorder>();
    auto fake = std::make_shared<roundtrip::testing::fake_transport>(
        roundtrip::testing::fake_options{.observers = {events}});
    fake->push({.status = 503, .headers = {{"Retry-After", "1"}}});
    fake->push({.fault = roundtrip::testing::fault::reset_after_wrote_request});
    roundtrip::client c({.middleware = {my_middleware}, .bottom = fake});
    // [end doc-sample]
    result first = c.round_trip(request("GET", "http://h/"));
    CHECK(first.response.status == 503);
    CHECK(first.response.headers["Retry-After"] == "1");
    result second = c.round_trip(request("GET", "http://h/"));
    // The reset hit the connection the 503 left in the pool: as the transport does, the fake resends
    // a GET on a new connection, as attempt 2.
    CHECK(second.attempt.attempts == 2);
    CHECK(second.response.status == 200);
    CHECK(events->names(1).find("conn_not_pooled") != std::string::npos);
}

TEST_CASE("a streamed body dropped unread closes its connection; a discarded one is drained and pooled")
{
    rig t;
    request req("GET", "http://h/");
    req.stream_response = true;
    t.fake->push({.body = "never read"});
    {
        response dropped = t.c.send(req);
    }
    CHECK(testing::eventually([&] { return testing::connection_fate(*t.events) != "none"; }));
    CHECK(testing::connection_fate(*t.events) == "body_not_drained");
    CHECK(t.events->describe_first("response_body_done") == "response_body_done bytes=0 error=canceled");

    t.fake->push({.body = "given up on purpose"});
    response discarded = t.c.send(req);
    discarded.body_stream.discard();
    CHECK(testing::eventually([&] { return t.events->names().ends_with("put_idle_conn"); }));
}

TEST_CASE("a refused connect passes over idle connections; a stale one is never a new_connection's")
{
    rig t;
    REQUIRE_FALSE(t.c.round_trip(request("GET", "http://h/")).error); // leaves an idle connection
    t.fake->push({.fault = testing::fault::refuse_connect});
    CHECK(t.c.round_trip(request("GET", "http://h/")).error == error::connection_refused);

    request fresh("GET", "http://h/");
    fresh.new_connection = true;
    t.fake->push({.status = 202, .fault = testing::fault::stale_pooled_connection});
    result r = t.c.round_trip(fresh);
    CHECK(r.response.status == 202);
    CHECK_FALSE(r.attempt.reused);
}

TEST_CASE("a body_stream is read to its end and checked against its announced length")
{
    struct fixed : body_source {
        std::string data;
        std::uint64_t announced;
        bool sent = false;
        error_code finished_with = asio::error::in_progress;
        std::optional<std::uint64_t> length() const noexcept override { return announced; }
        void async_read_some(asio::mutable_buffer into, read_handler h) override
        {
            const std::size_t n = sent ? 0 : std::min(into.size(), data.size());
            std::memcpy(into.data(), data.data(), n);
            sent = true;
            std::move(h)(n ? error_code{} : error_code(asio::error::eof), n); // allowed inline (body_source.hpp)
        }
        void finish(error_code why) noexcept override { finished_with = why; }
    };
    rig t;
    auto good = std::make_shared<fixed>();
    good->data = "payload";
    good->announced = 7;
    request put("PUT", "http://h/");
    put.body_stream = good;
    REQUIRE_FALSE(t.c.round_trip(put).error);
    CHECK(t.fake->requests().back().body == "payload");
    CHECK_FALSE(good->finished_with); // told the body went out

    auto short_one = std::make_shared<fixed>();
    short_one->data = "abc";
    short_one->announced = 10;
    put.body_stream = short_one;
    CHECK(t.c.round_trip(put).error == error::body_length_mismatch);
}
