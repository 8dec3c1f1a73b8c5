// The headers middleware over roundtrip-testing's fake transport, which keeps each request as it
// would be sent: each rule, their order, the default User-Agent, the provider, and validation when
// the middleware is built. The README's example runs against the loopback server.
#include <roundtrip/testing/fake_transport.hpp>
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

// The values of the fields named `name`, in order.
std::vector<std::string> values(const header_fields& fields, std::string_view name)
{
    std::vector<std::string> out;
    for (const auto& f : fields)
        if (boost::beast::iequals(f.name_string(), name))
            out.push_back(std::string(f.value()));
    return out;
}

// A fake transport that answers 200, and the header fields of the last request it received.
struct header_echo {
    std::shared_ptr<testing::fake_transport> fake = std::make_shared<testing::fake_transport>();
    const std::string url = "http://api.test/";

    std::vector<std::string> values(std::string_view name) const
    {
        const auto received = fake->requests();
        return received.empty() ? std::vector<std::string>{} : ::values(received.back().headers, name);
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
                                                       .set("X-Replaced", "new"))},
                            .bottom = echo.fake});
    request req("GET", echo.url);
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
    client plain(client_options{.middleware = {headers(header_rules{})}, .bottom = echo.fake});
    plain.send(request("GET", echo.url));
    CHECK(echo.values("User-Agent") == std::vector<std::string>{std::string(default_user_agent)});

    request own("GET", echo.url);
    own.headers.set("User-Agent", "mine/1.0");
    plain.send(own);
    CHECK(echo.values("User-Agent") == std::vector<std::string>{"mine/1.0"});

    client custom(
        client_options{.middleware = {headers(header_rules{}.user_agent("acme-billing/2.3"))}, .bottom = echo.fake});
    custom.send(request("GET", echo.url));
    CHECK(echo.values("User-Agent") == std::vector<std::string>{"acme-billing/2.3"});

    client none(client_options{.middleware = {headers(header_rules{}.user_agent(""))}, .bottom = echo.fake});
    none.send(request("GET", echo.url));
    CHECK(echo.values("User-Agent").empty());

    client removed(
        client_options{.middleware = {headers(header_rules{}.remove("User-Agent"))}, .bottom = echo.fake});
    removed.send(request("GET", echo.url));
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
    client c(client_options{
        .middleware = {headers(header_rules{}.provide("Authorization", token).provide("X-Maybe", nothing))},
        .bottom = echo.fake});
    c.send(request("GET", echo.url));
    CHECK(echo.values("Authorization") == std::vector<std::string>{"Bearer t1"});
    CHECK(echo.values("X-Maybe").empty());
    c.send(request("GET", echo.url));
    CHECK(echo.values("Authorization") == std::vector<std::string>{"Bearer t2"});
}

TEST_CASE("a provided value with CR or LF fails the call before anything is sent")
{
    header_echo echo;
    header_provider evil = [](const request&) -> asio::awaitable<std::optional<std::string>> {
        co_return "x\r\nX-Injected: 1";
    };
    client c(client_options{.middleware = {headers(header_rules{}.provide("X-Value", evil))}, .bottom = echo.fake});
    result r = c.round_trip(request("GET", echo.url));
    CHECK(r.error == error::invalid_header_value);
    CHECK(r.attempt.attempts == 0);
    CHECK(echo.fake->attempts() == 0);
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
    client c(client_options{.middleware = {bad_value}, .bottom = echo.fake});
    CHECK(c.round_trip(request("GET", echo.url)).error == error::invalid_header_value);
    CHECK(echo.fake->attempts() == 0);

    headers(header_rules{}.set("X-Fine", "ok\tvalue"), ec);
    CHECK_FALSE(ec);
}

TEST_CASE("the README's example: each rule on a real request, the token from an async source")
{
    std::mutex mutex;
    header_fields received;
    testing::test_server server([&](const testing::server_request& req, testing::exchange& ex) {
        {
            std::lock_guard lock(mutex);
            received = req.headers;
        }
        ex.reply(200);
    });
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
    request req("GET", server.url());
    req.headers.set("Cookie", "session=1");
    req.headers.set("X-Tag", "mine");
    CHECK(client.send(req).status == 200);
    std::lock_guard lock(mutex);
    CHECK(values(received, "X-Env") == std::vector<std::string>{"prod"});
    CHECK(values(received, "X-Tag") == std::vector<std::string>{"mine", "billing"});
    CHECK(values(received, "X-Trace") == std::vector<std::string>{"new"});
    CHECK(values(received, "Cookie").empty());
    CHECK(values(received, "Authorization") == std::vector<std::string>{"Bearer t0k3n"});
    CHECK(values(received, "User-Agent") == std::vector<std::string>{"acme-billing/2.3"});
}
