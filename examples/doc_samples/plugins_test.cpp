// The testing sample of docs/plugins.md, as a doctest case run by ./dev test.

#include <roundtrip/testing/recorder.hpp>
#include <roundtrip/testing/test_server.hpp>

#include <roundtrip/client.hpp>

#include <doctest/doctest.h>

namespace {

// The middleware under test: passes every request on.
roundtrip::layer my_layer = [](roundtrip::request req, roundtrip::next next)
    -> roundtrip::asio::awaitable<roundtrip::result> { co_return co_await next(std::move(req)); };

} // namespace

TEST_CASE("a middleware tested against the loopback server, with its events recorded")
{
    // [doc-sample plugins-test]
    roundtrip::testing::test_server server([](const auto&, auto& ex) { ex.reply(503); });
    auto events = std::make_shared<roundtrip::testing::recorder>();
    roundtrip::client c({.middleware = {my_layer}, .observers = {events}});
    auto r = c.round_trip({"GET", server.url()});
    CHECK(r.response.status == 503);
    CHECK(events->names(1).starts_with("get_conn connect_start"));
    // [end doc-sample]
}
