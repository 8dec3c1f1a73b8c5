// The cookies middleware against loopback servers: a session kept across calls, names other than
// localhost through the static resolver (domains, public suffixes), Secure over http, and the
// request's own Cookie field.
#include <roundtrip/middleware/cookies.hpp>

#include <roundtrip/client.hpp>
#include <roundtrip/resolver.hpp>
#include <roundtrip/testing/recorder.hpp>
#include <roundtrip/testing/test_server.hpp>

#include <doctest/doctest.h>

#include <mutex>

using namespace roundtrip;

namespace {

// A server that answers /set?<Set-Cookie value> with that Set-Cookie, and every request with the
// Cookie it received as the body.
struct cookie_server {
    testing::test_server server{[](const testing::server_request& req, testing::exchange& ex) {
        const auto cookie = req.headers.find("Cookie");
        const std::string sent = cookie == req.headers.end() ? "" : std::string(cookie->value());
        if (req.target.starts_with("/set?")) {
            std::string value; // the query, with %20 for each space
            for (std::size_t at = 5; at < req.target.size(); ++at)
                if (req.target.compare(at, 3, "%20") == 0)
                    value += ' ', at += 2;
                else
                    value += req.target[at];
            return ex.reply(200, sent, {{"Set-Cookie", value}});
        }
        ex.reply(200, sent);
    }};
};

// A client whose names all lead to 127.0.0.1, with the cookies middleware over `jar`.
client named_client(std::shared_ptr<cookie_jar> jar, std::shared_ptr<testing::recorder> events,
                    std::vector<std::string> names)
{
    std::map<std::string, std::vector<asio::ip::address>, std::less<>> table;
    for (auto& n : names)
        table[std::move(n)] = {asio::ip::make_address("127.0.0.1")};
    client_options o{.middleware = {cookies(std::move(jar))}, .observers = {std::move(events)}};
    o.transport.dial.resolver = std::make_shared<static_resolver>(std::move(table));
    return client(std::move(o));
}

} // namespace

TEST_CASE("a cookie set by one call goes with the next; the request's own Cookie comes first")
{
    cookie_server s;
    auto jar = std::make_shared<cookie_jar>();
    roundtrip::client client({.middleware = {roundtrip::cookies(jar)}});
    CHECK(client.send({"GET", s.server.url("/set?session=abc;%20Path=/;%20HttpOnly")}).body == "");
    CHECK(client.send({"GET", s.server.url("/anything")}).body == "session=abc");
    request own("GET", s.server.url("/"));
    own.headers.set("Cookie", "mine=1");
    CHECK(client.send(own).body == "mine=1; session=abc");
    REQUIRE(jar->cookies().size() == 1);
    CHECK(jar->cookies()[0].domain == "127.0.0.1");
}

TEST_CASE("domains by name: a Domain cookie reaches the sibling host, a host-only one does not")
{
    cookie_server s;
    auto jar = std::make_shared<cookie_jar>();
    auto events = std::make_shared<testing::recorder>();
    client c = named_client(jar, events, {"www.shop.example", "api.shop.example", "shop.co.uk", "other.example"});
    const auto port = std::to_string(s.server.port());
    const auto at = [&](const std::string& host, const std::string& path) { return "http://" + host + ":" + port + path; };
    c.send({"GET", at("www.shop.example", "/set?wide=1;%20Domain=shop.example")});
    c.send({"GET", at("www.shop.example", "/set?narrow=1")});
    CHECK(c.send({"GET", at("www.shop.example", "/")}).body == "wide=1; narrow=1");
    CHECK(c.send({"GET", at("api.shop.example", "/")}).body == "wide=1");
    CHECK(c.send({"GET", at("other.example", "/")}).body == "");

    // A public suffix is refused, and the refusal is an event naming the cookie, not its value.
    c.send({"GET", at("shop.co.uk", "/set?tracker=secret;%20Domain=co.uk")});
    const auto* refused = events->first<cookie_refused>();
    REQUIRE(refused);
    CHECK(refused->reason == cookie_refusal::public_suffix);
    CHECK(events->describe_first("cookie_refused") == "cookie_refused name=tracker reason=public_suffix");
    CHECK(c.send({"GET", at("shop.co.uk", "/")}).body == "");
}

TEST_CASE("a Secure cookie sent over http is refused with an event")
{
    cookie_server s;
    auto jar = std::make_shared<cookie_jar>();
    auto events = std::make_shared<testing::recorder>();
    client c(client_options{.middleware = {cookies(jar)}, .observers = {events}});
    c.send({"GET", s.server.url("/set?token=1;%20Secure")});
    CHECK(jar->cookies().empty());
    REQUIRE(events->first<cookie_refused>());
    CHECK(events->first<cookie_refused>()->reason == cookie_refusal::secure_over_http);
}
