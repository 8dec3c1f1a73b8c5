// Each timeout: connect (name resolution included), response header, read and write inactivity, and
// the call's deadline. Bounds are short so the tests are quick; no test asserts how long anything took.
#include <roundtrip/testing/recorder.hpp>
#include "silent_peer.hpp"
#include "silent_resolver.hpp"
#include <roundtrip/testing/test_server.hpp>

#include <roundtrip/client.hpp>
#include <roundtrip/error.hpp>

#include <boost/asio/use_future.hpp>

#include <doctest/doctest.h>

using namespace roundtrip;
using namespace std::chrono_literals;

namespace {

client_options with_timeouts(std::shared_ptr<testing::recorder> events, auto&& edit)
{
    client_options options;
    if (events)
        options.observers.push_back(std::move(events));
    edit(options.transport.timeouts);
    return options;
}

} // namespace

TEST_CASE("a connect that gets no answer fails with connect_timeout")
{
    testing::full_listener peer;
    auto events = std::make_shared<testing::recorder>();
    client c(with_timeouts(events, [](timeouts& t) { t.connect = 200ms; }));
    result r = c.round_trip(request("GET", "http://127.0.0.1:" + std::to_string(peer.port()) + "/"));
    CHECK(r.error == error::connect_timeout);
    CHECK(r.error == condition::timeout);
    CHECK(r.attempt.progress == request_progress::not_sent);
    CHECK(events->names() == "call_start get_conn connect_start connect_done attempt_done call_done");
}

TEST_CASE("a lookup that never answers is bounded by the connect timeout, and dns events pair")
{
    auto events = std::make_shared<testing::recorder>();
    auto options = with_timeouts(events, [](timeouts& t) { t.connect = 150ms; });
    auto names = std::make_shared<testing::silent_resolver>();
    options.transport.dial.resolver = names;
    const std::weak_ptr<testing::silent_resolver> watch = names;
    names.reset(); // the client owns it: it must not outlive the client's context with our handler
    client c(std::move(options));
    result r = c.round_trip(request("GET", "http://slow.test/"));
    CHECK(r.error == error::connect_timeout);
    CHECK(events->names() == "call_start get_conn dns_start dns_done attempt_done call_done");
    CHECK(events->first<dns_done>()->error == error::connect_timeout);
    CHECK(watch.lock()->lookups() == 1);
}

TEST_CASE("a server that does not answer in time fails with response_header_timeout")
{
    testing::test_server server([](const testing::server_request&, testing::exchange& ex) {
        ex.sleep(5s);
        ex.reply(200);
    });
    auto events = std::make_shared<testing::recorder>();
    client c(with_timeouts(events, [](timeouts& t) { t.response_header = 150ms; }));
    result r = c.round_trip(request("GET", server.url()));
    CHECK(r.error == error::response_header_timeout);
    CHECK(r.error == condition::timeout);
    CHECK(r.attempt.progress == request_progress::possibly_processed);
    CHECK(events->names().ends_with("wrote_request conn_not_pooled conn_closed attempt_done call_done"));
    CHECK(events->first<conn_not_pooled>()->reason == not_pooled_reason::broken);
}

TEST_CASE("a body that stops arriving fails with read_timeout")
{
    testing::test_server server([](const testing::server_request&, testing::exchange& ex) {
        ex.write_raw("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
        ex.stall();
    });
    client c(with_timeouts(nullptr, [](timeouts& t) { t.read_inactivity = 150ms; }));
    result r = c.round_trip(request("GET", server.url()));
    CHECK(r.error == error::read_timeout);
    CHECK(r.attempt.progress == request_progress::response_started);
}

TEST_CASE("a server that stops reading fails a large upload with write_timeout")
{
    testing::deaf_listener peer;
    auto events = std::make_shared<testing::recorder>();
    client c(with_timeouts(events, [](timeouts& t) { t.write_inactivity = 200ms; }));
    request req("PUT", "http://127.0.0.1:" + std::to_string(peer.port()) + "/upload");
    req.body.assign(64 * 1024 * 1024, 'x');
    result r = c.round_trip(std::move(req));
    CHECK(r.error == error::write_timeout);
    CHECK(r.attempt.progress == request_progress::possibly_processed);
    const auto* wrote = events->first<wrote_request>();
    REQUIRE(wrote);
    CHECK(wrote->error == error::write_timeout);
    CHECK(wrote->bytes > 0);
    CHECK(wrote->bytes < 64u * 1024 * 1024);
}

TEST_CASE("the call's deadline ends a slow call with deadline_exceeded, per request or by default")
{
    testing::test_server server([](const testing::server_request&, testing::exchange& ex) {
        ex.sleep(5s);
        ex.reply(200);
    });
    SUBCASE("per request")
    {
        client c;
        request req("GET", server.url());
        req.timeout = 150ms;
        result r = c.round_trip(std::move(req));
        CHECK(r.error == error::deadline_exceeded);
        CHECK(r.error == condition::timeout);
    }
    SUBCASE("client default")
    {
        client c(client_options{.timeout = 150ms});
        CHECK(c.round_trip(request("GET", server.url())).error == error::deadline_exceeded);
    }
    SUBCASE("during a lookup that never answers")
    {
        client_options options{.timeout = 150ms};
        options.transport.dial.resolver = std::make_shared<testing::silent_resolver>();
        client c(std::move(options));
        CHECK(c.round_trip(request("GET", "http://slow.test/")).error == error::deadline_exceeded);
    }
}

TEST_CASE("the deadline ends a body that never pauses, buffered or streamed")
{
    // Each read finds bytes waiting and completes before any timer could fire: the deadline is
    // checked before each read, or a fast endless body would outrun it.
    testing::test_server server([](const testing::server_request&, testing::exchange& ex) {
        ex.write_raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        const std::string chunk = "4000\r\n" + std::string(0x4000, 'f') + "\r\n";
        for (int i = 0; i < 1'000'000 && ex.client_port(); ++i)
            ex.write_raw(chunk);
    });
    client_options options;
    options.transport.limits.max_body_bytes = std::size_t{1} << 40;
    client c(std::move(options));
    request buffered("GET", server.url());
    buffered.timeout = 500ms;
    const auto start = clock::now();
    CHECK(c.round_trip(buffered).error == error::deadline_exceeded);
    CHECK(clock::now() - start < 5s);

    request streamed("GET", server.url());
    streamed.timeout = 500ms;
    streamed.stream_response = true;
    result r = c.round_trip(streamed);
    REQUIRE_FALSE(r.error);
    std::vector<char> piece(64 * 1024);
    error_code ended;
    const auto reading = clock::now();
    while (!ended && clock::now() - reading < 10s) {
        try {
            r.response.body_stream.async_read_some(asio::buffer(piece), asio::use_future).get();
        } catch (const boost::system::system_error& e) {
            ended = e.code();
        }
    }
    CHECK(ended == error::deadline_exceeded);
}

TEST_CASE("middleware read the deadline the client set")
{
    testing::test_server server;
    clock::time_point seen{};
    layer read_deadline = [&](request req, next next) -> asio::awaitable<result> {
        seen = req.deadline();
        co_return co_await next(std::move(req));
    };
    client c(client_options{.middleware = {read_deadline}, .timeout = 30s});
    auto before = clock::now();
    c.send(request("GET", server.url()));
    CHECK(seen > before);
    CHECK(seen <= clock::now() + 30s);

    client unbounded(client_options{.middleware = {read_deadline}});
    unbounded.send(request("GET", server.url()));
    CHECK(seen == clock::time_point::max());
}

TEST_CASE("a timeout of duration::max() means no limit, never an overflow into the past")
{
    testing::test_server server;
    client_options options{.timeout = clock::duration::max()};
    auto& t = options.transport.timeouts;
    t.connect = t.response_header = t.read_inactivity = t.write_inactivity = clock::duration::max();
    client c(std::move(options));
    result r = c.round_trip(request("GET", server.url()));
    CHECK_FALSE(r.error);
    CHECK(r.response.status == 200);
}

TEST_CASE("a phase timeout of 0 means no limit of its own; the call's deadline still applies")
{
    testing::test_server server([](const testing::server_request&, testing::exchange& ex) {
        ex.sleep(150ms);
        ex.reply(200, "late");
    });
    client c(with_timeouts(nullptr, [](timeouts& t) {
        t.connect = t.response_header = t.read_inactivity = t.write_inactivity = clock::duration::zero();
    }));
    CHECK(c.round_trip(request("GET", server.url())).response.body == "late");
    request hurried("GET", server.url());
    hurried.timeout = 50ms;
    CHECK(c.round_trip(hurried).error == error::deadline_exceeded);
}
