// The headers middleware against the loopback server: each rule, their order, the default
// User-Agent, the provider, and validation when the middleware is built.
#include <roundtrip/testing/test_server.hpp>

#include <roundtrip/middleware/headers.hpp>

#include <roundtrip/client.hpp>
#include <roundtrip/error.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <doctest/doctest.h>

#include <mutex>

using namespace roundtrip;

namespace {

// A server that keeps the header fields of the last request it read, in order.
struct header_echo {
    std::mutex mutex;
    std::vector<std::pair<std::string, std::string>> fields;
    testing::test_server server{[this](const testing::server_request& req, testing::exchange& ex) {
        {
            std::lock_guard lock(mutex);
            fields.clear();
            for (const auto& f : req.headers)
                fields.emplace_back(std::string(f.name_string()), std::string(f.value()));
        }
        ex.reply(200);
    }};

    std::vector<std::string> values(std::string_view name)
    {
        std::lock_guard lock(mutex);
        std::vector<std::string> out;
        for (const auto& [n, v] : fields)
            if (boost::beast::iequals(n, name))
                out.push_back(v);
        return out;
    }
};

} // namespace

TEST_CASE("set, add, set_if_absent and remove edit each request in the order they were added")
{
    header_echo echo;
    client c(client_options{.middleware = {headers(header_rules{}
                                                       .set("X-Env", "prod")
                                                       .add("X-Tag", "a")
                                                       .add("X-Tag", "b")
                                                       .set_if_absent("X-Trace", "generated")
                                                       .set("X-Secret", "s")
                                                       .remove("X-Secret")
                                                       .set("X-Replaced", "new"))}});
    request req("GET", echo.server.url());
    req.headers.set("X-Env", "dev");
    req.headers.set("X-Trace", "from-caller");
    req.headers.insert("X-Replaced", "old1");
    req.headers.insert("X-Replaced", "old2");
    c.send(req);
    CHECK(echo.values("X-Env") == std::vector<std::string>{"prod"});
    CHECK(echo.values("X-Tag") == std::vector<std::string>{"a", "b"});
    CHECK(echo.values("X-Trace") == std::vector<std::string>{"from-caller"});
    CHECK(echo.values("X-Secret").empty());
    CHECK(echo.values("X-Replaced") == std::vector<std::string>{"new"});
}

TEST_CASE("requests get a default User-Agent unless they have one or it is changed or removed")
{
    header_echo echo;
    client plain(client_options{.middleware = {headers(header_rules{})}});
    plain.send(request("GET", echo.server.url()));
    CHECK(echo.values("User-Agent") == std::vector<std::string>{std::string(default_user_agent)});

    request own("GET", echo.server.url());
    own.headers.set("User-Agent", "mine/1.0");
    plain.send(own);
    CHECK(echo.values("User-Agent") == std::vector<std::string>{"mine/1.0"});

    client custom(client_options{.middleware = {headers(header_rules{}.user_agent("acme-billing/2.3"))}});
    custom.send(request("GET", echo.server.url()));
    CHECK(echo.values("User-Agent") == std::vector<std::string>{"acme-billing/2.3"});

    client none(client_options{.middleware = {headers(header_rules{}.user_agent(""))}});
    none.send(request("GET", echo.server.url()));
    CHECK(echo.values("User-Agent").empty());

    client removed(client_options{.middleware = {headers(header_rules{}.remove("User-Agent"))}});
    removed.send(request("GET", echo.server.url()));
    CHECK(echo.values("User-Agent").empty());
}

TEST_CASE("a provider sets a fresh value on every request and may wait for it")
{
    header_echo echo;
    int issued = 0;
    header_provider token = [&issued](const request&) -> asio::awaitable<std::optional<std::string>> {
        // Pretend to refresh the token: a short asynchronous wait, as a call to an identity service.
        asio::steady_timer refresh(co_await asio::this_coro::executor, std::chrono::milliseconds(1));
        co_await refresh.async_wait(asio::use_awaitable);
        co_return "Bearer t" + std::to_string(++issued);
    };
    header_provider nothing = [](const request&) -> asio::awaitable<std::optional<std::string>> {
        co_return std::nullopt;
    };
    client c(client_options{.middleware = {headers(header_rules{}.provide("Authorization", token).provide("X-Maybe", nothing))}});
    c.send(request("GET", echo.server.url()));
    CHECK(echo.values("Authorization") == std::vector<std::string>{"Bearer t1"});
    CHECK(echo.values("X-Maybe").empty());
    c.send(request("GET", echo.server.url()));
    CHECK(echo.values("Authorization") == std::vector<std::string>{"Bearer t2"});
}

TEST_CASE("a provided value with CR or LF fails the call before anything is sent")
{
    header_echo echo;
    header_provider evil = [](const request&) -> asio::awaitable<std::optional<std::string>> {
        co_return "x\r\nX-Injected: 1";
    };
    client c(client_options{.middleware = {headers(header_rules{}.provide("X-Value", evil))}});
    result r = c.round_trip(request("GET", echo.server.url()));
    CHECK(r.error == error::invalid_header_value);
    CHECK(r.attempt.attempts == 0);
    CHECK(echo.server.requests() == 0);
}

TEST_CASE("names and fixed values are checked when the middleware is built, not per request")
{
    const std::string secret = "s3cr3t";
    error_code ec;
    layer bad_value = headers(header_rules{}.set("Authorization", "Bearer " + secret + "\r\nX: y"), ec);
    CHECK(ec == error::invalid_header_value);
    CHECK(ec.message().find(secret) == std::string::npos);

    headers(header_rules{}.add("Bad Name", "v"), ec);
    CHECK(ec == error::invalid_header_name);
    headers(header_rules{}.user_agent(std::string("ua\0x", 4)), ec);
    CHECK(ec == error::invalid_header_value);
    CHECK_THROWS_AS(headers(header_rules{}.remove("X:Y")), boost::system::system_error);

    // The layer built from invalid rules fails every request rather than sending anything.
    header_echo echo;
    client c(client_options{.middleware = {bad_value}});
    CHECK(c.round_trip(request("GET", echo.server.url())).error == error::invalid_header_value);
    CHECK(echo.server.requests() == 0);

    headers(header_rules{}.set("X-Fine", "ok\tvalue"), ec);
    CHECK_FALSE(ec);
}

TEST_CASE("the README's example: each rule on a real request, the token from an async source")
{
    header_echo echo;
    struct {
        asio::awaitable<std::string> current() { co_return "t0k3n"; }
    } tokens;
    // [doc-sample headers-readme]
    #include <roundtrip/middleware/headers.hpp>

    roundtrip::header_provider token = [&](const roundtrip::request&)
        -> roundtrip::asio::awaitable<std::optional<std::string>> {
        co_return "Bearer " + co_await tokens.current();    // may wait; must not block
    };

    roundtrip::client client({.middleware = {roundtrip::headers(roundtrip::header_rules{}
                                                 .set("X-Env", "prod")             // replaces
                                                 .add("X-Tag", "billing")          // appends
                                                 .set_if_absent("X-Trace", "new")  // unless present
                                                 .remove("Cookie")
                                                 .provide("Authorization", token)
                                                 .user_agent("acme-billing/2.3"))}});
    // [end doc-sample]
    request req("GET", echo.server.url());
    req.headers.set("Cookie", "session=1");
    req.headers.set("X-Tag", "mine");
    CHECK(client.send(req).status == 200);
    CHECK(echo.values("X-Env") == std::vector<std::string>{"prod"});
    CHECK(echo.values("X-Tag") == std::vector<std::string>{"mine", "billing"});
    CHECK(echo.values("X-Trace") == std::vector<std::string>{"new"});
    CHECK(echo.values("Cookie").empty());
    CHECK(echo.values("Authorization") == std::vector<std::string>{"Bearer t0k3n"});
    CHECK(echo.values("User-Agent") == std::vector<std::string>{"acme-billing/2.3"});
}
