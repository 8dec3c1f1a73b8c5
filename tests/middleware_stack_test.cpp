// The middleware library stacked: logging above retry above headers. Each layer sees what the layers
// beneath it do: the logger's lifecycle lines include the retry's decisions and every attempt it made.
#include <roundtrip/testing/recorder.hpp>
#include <roundtrip/testing/test_server.hpp>

#include <roundtrip/middleware/headers.hpp>
#include <roundtrip/middleware/logging.hpp>
#include <roundtrip/middleware/retry.hpp>

#include <roundtrip/client.hpp>

#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <doctest/doctest.h>

#include <atomic>
#include <sstream>

using namespace roundtrip;

TEST_CASE("logging above retry above headers: each layer sees every attempt and decision beneath it")
{
    std::atomic<int> seen{0};
    std::vector<std::string> user_agents;
    testing::test_server server([&](const testing::server_request& req, testing::exchange& ex) {
        user_agents.push_back(std::string(req.headers["User-Agent"]));
        ex.reply(seen++ == 0 ? 503 : 200);
    });
    std::ostringstream out;
    auto log = std::make_shared<spdlog::logger>("stack", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
    log->set_pattern("%v");
    log->set_level(spdlog::level::debug);
    retry_options fast;
    fast.sleep = [](clock::duration) -> asio::awaitable<void> { co_return; };
    auto client_events = std::make_shared<testing::recorder>();

    client c(client_options{.middleware = {logging({.logger = log}), retry(fast), headers(header_rules{})},
                            .observers = {client_events}});
    result r = c.round_trip(request("GET", server.url()));
    CHECK(r.response.status == 200);
    CHECK(r.attempt.attempts == 2);
    // headers (beneath retry) edited both attempts.
    CHECK(user_agents == std::vector<std::string>(2, std::string(default_user_agent)));
    // logging (above retry) saw both attempts' lifecycles and the decision between them, in order.
    const std::string text = out.str();
    const auto first = text.find("[call 1 attempt 1] got_conn reused=false");
    const auto decision = text.find("[call 1 attempt 1] retry_scheduled failed_attempt=1 cause=status");
    const auto second = text.find("[call 1 attempt 2] got_conn reused=true");
    REQUIRE(first != std::string::npos);
    REQUIRE(decision != std::string::npos);
    REQUIRE(second != std::string::npos);
    CHECK(first < decision);
    CHECK(decision < second);
    CHECK(text.find("<-- 200") != std::string::npos);
    // The client's observers saw the decision too.
    CHECK(client_events->first<retry_scheduled>() != nullptr);
}

TEST_CASE("the retry README's example: logging above retry, a 503 retried")
{
    std::atomic<int> seen{0};
    testing::test_server server([&](const testing::server_request&, testing::exchange& ex) { ex.reply(seen++ == 0 ? 503 : 200); });
    // [doc-sample retry-readme]
    #include <roundtrip/middleware/logging.hpp>
    #include <roundtrip/middleware/retry.hpp>

    roundtrip::client client({.middleware = {roundtrip::logging(), roundtrip::retry({.max_retries = 3})}});
    // [end doc-sample]
    CHECK(client.send(request("GET", server.url())).status == 200);
    CHECK(seen == 2);
}
