// bearer_auth's tests, without sockets: roundtrip-testing's fake transport answers from a script, a
// recorder keeps the events, and the logging and tracing middleware show the plugin's event in a log
// line and on the call's span.
#include <bearer_auth/bearer_auth.hpp>

#include <roundtrip/body_pipe.hpp>
#include <roundtrip/client.hpp>
#include <roundtrip/middleware/logging.hpp>
#include <roundtrip/middleware/tracing.hpp>
#include <roundtrip/testing/fake_transport.hpp>
#include <roundtrip/testing/recorder.hpp>

#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <sstream>

#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

using namespace roundtrip;

namespace {

// Hands out "t1", "t2", ...: a new token each time one is refused.
struct counting_tokens {
    std::shared_ptr<int> issued = std::make_shared<int>(0);

    bearer_auth::token_source source()
    {
        return [issued = issued](bool refresh) -> asio::awaitable<std::string> {
            if (refresh || *issued == 0)
                ++*issued;
            co_return "t" + std::to_string(*issued);
        };
    }
};

// A logger that writes into a string, at every level.
std::shared_ptr<spdlog::logger> string_logger(std::ostringstream& out)
{
    auto logger = std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_st>(out));
    logger->set_level(spdlog::level::debug);
    logger->set_pattern("%v");
    return logger;
}

struct rig {
    counting_tokens tokens;
    std::ostringstream log;
    std::shared_ptr<testing::recorder> events = std::make_shared<testing::recorder>();
    std::shared_ptr<in_memory_exporter> spans = std::make_shared<in_memory_exporter>();
    std::shared_ptr<testing::fake_transport> fake = std::make_shared<testing::fake_transport>();
    client c{client_options{.middleware = {logging({.logger = string_logger(log)}), tracing({.exporter = spans}),
                                           bearer_auth::middleware(tokens.source())},
                            .observers = {events},
                            .bottom = fake}};
};

} // namespace

TEST_CASE("every request carries the token; a 401 fetches a new one and sends the request again")
{
    rig t;
    t.fake->push({.status = 401});
    t.fake->push({.status = 200, .body = "secret"});
    result r = t.c.round_trip(request("POST", "http://api.test/orders"));
    REQUIRE_FALSE(r.error);
    CHECK(r.response.body == "secret");
    CHECK(r.attempt.attempts == 2);

    const auto sent = t.fake->requests();
    REQUIRE(sent.size() == 2);
    CHECK(sent[0].headers["Authorization"] == "Bearer t1");
    CHECK(sent[1].headers["Authorization"] == "Bearer t2");

    const auto* refreshed = t.events->first<bearer_auth::token_refreshed>();
    REQUIRE(refreshed);
    CHECK(refreshed->refused_attempt == 1);
    CHECK(refreshed->resent);
    CHECK(t.events->describe_first("token_refreshed")
              .starts_with("token_refreshed refused_attempt=1 resent=true took_us="));

    // The logging middleware writes the plugin's event as a line; the tracing middleware puts it on the
    // call's span, with its fields.
    CHECK(t.log.str().find("token_refreshed refused_attempt=1 resent=true took_us=") != std::string::npos);
    bool on_span = false;
    for (const auto& s : t.spans->spans())
        for (const auto& e : s.events)
            on_span = on_span || (e.name == "token_refreshed" && !e.attributes.empty());
    CHECK(on_span);
}

TEST_CASE("a refused connection is not an authentication problem: no refresh, the error is the call's")
{
    rig t;
    t.fake->push({.fault = testing::fault::refuse_connect});
    result r = t.c.round_trip(request("GET", "http://api.test/"));
    CHECK(r.error == condition::connection_refused);
    CHECK(t.events->first<bearer_auth::token_refreshed>() == nullptr);
    CHECK(*t.tokens.issued == 1);
}

TEST_CASE("a request whose body was streamed is not sent twice: the 401 is the answer")
{
    rig t;
    t.fake->push({.status = 401});
    request req("PUT", "http://api.test/blob");
    auto pipe = std::make_shared<body_pipe>();
    pipe->close(); // an empty body, but a stream all the same: it cannot be read twice
    req.body_stream = pipe;
    result r = t.c.round_trip(std::move(req));
    REQUIRE_FALSE(r.error);
    CHECK(r.response.status == 401);
    REQUIRE(t.events->first<bearer_auth::token_refreshed>());
    CHECK_FALSE(t.events->first<bearer_auth::token_refreshed>()->resent);
    CHECK(t.fake->attempts() == 1);
}

TEST_CASE("no token is the plugin's own error, with its own class")
{
    auto fake = std::make_shared<testing::fake_transport>();
    client c(client_options{.middleware = {bearer_auth::middleware([](bool) -> asio::awaitable<std::string> {
                                co_return "";
                            })},
                            .bottom = fake});
    result r = c.round_trip(request("GET", "http://api.test/"));
    CHECK(r.error == bearer_auth::error::no_token);
    CHECK(error_class(r.error) == "auth_error");
    CHECK(fake->attempts() == 0);
}
