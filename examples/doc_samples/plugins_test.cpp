// The testing samples of docs/plugins.md, as doctest cases run by ./dev test.

#include <roundtrip/testing/fake_transport.hpp>
#include <roundtrip/testing/recorder.hpp>
#include <roundtrip/testing/test_server.hpp>

#include <roundtrip/client.hpp>
#include <roundtrip/error.hpp>

#include <doctest/doctest.h>

namespace {

// The middleware under test: sends a request once more when its first attempt fails before a byte
// of it was written.
roundtrip::layer my_layer = [](roundtrip::request req, roundtrip::next next)
    -> roundtrip::asio::awaitable<roundtrip::result> {
    roundtrip::result r = co_await next(req);
    if (r.error && r.attempt.progress == roundtrip::request_progress::not_sent)
        r = co_await next(std::move(req));
    co_return r;
};

} // namespace

TEST_CASE("a middleware tested over the fake transport, with a scripted fault")
{
    // [doc-sample plugins-test]
    using namespace roundtrip;
    auto events = std::make_shared<testing::recorder>();
    auto fake = std::make_shared<testing::fake_transport>(testing::fake_options{.observers = {events}});
    fake->push({.fault = testing::fault::refuse_connect}); // attempt 1
    fake->push({.status = 201, .body = "made"});           // attempt 2
    client c({.middleware = {my_layer}, .bottom = fake});

    result r = c.round_trip({"POST", "http://api.test/orders"});
    CHECK(r.response.status == 201);
    CHECK(r.attempt.attempts == 2);
    CHECK(events->names(1) == "get_conn dns_start dns_done connect_start connect_done attempt_done");
    CHECK(fake->requests().size() == 1); // what reached the "server": the second attempt
    // [end doc-sample]
}

TEST_CASE("a middleware tested against the loopback server, with its events recorded")
{
    // [doc-sample plugins-test-server]
    roundtrip::testing::test_server server([](const auto&, auto& ex) { ex.reply(503); });
    auto events = std::make_shared<roundtrip::testing::recorder>();
    roundtrip::client c({.middleware = {my_layer}, .observers = {events}});
    auto r = c.round_trip({"GET", server.url()});
    CHECK(r.response.status == 503);
    CHECK(events->names(1).starts_with("get_conn connect_start"));
    // [end doc-sample]
}
