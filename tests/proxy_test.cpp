// Proxies: proxy URLs and curl's environment and NO_PROXY rules; http URLs in absolute form and https
// URLs through CONNECT tunnels, against a proxy of our own (also behind TLS: an https:// proxy) and
// against Debian's tinyproxy; credentials that never show in pool keys; refusals as proxy_error with
// the proxy's status.
#include "forward_proxy.hpp"
#include "local_daemon.hpp"
#include "pool_keys.hpp"
#include "proxy_clients.hpp"
#include "tls_front.hpp"

#include <roundtrip/client.hpp>
#include <roundtrip/error.hpp>
#include <roundtrip/proxy.hpp>
#include <roundtrip/testing/recorder.hpp>
#include <roundtrip/testing/test_certs.hpp>
#include <roundtrip/testing/test_server.hpp>
#include <roundtrip/testing/wait.hpp>

#include <doctest/doctest.h>

#include <cstdlib>

using namespace roundtrip;
using namespace std::chrono_literals;
using testing::parsed;
using testing::serving_tls;
using testing::through;

namespace {

// Sets environment variables for one scope, and puts back what was there.
class environment {
public:
    environment(std::initializer_list<std::pair<const char*, const char*>> vars)
    {
        for (const char* name : {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
                                 "no_proxy", "NO_PROXY"}) {
            const char* was = std::getenv(name);
            saved_.emplace_back(name, was ? std::optional<std::string>(was) : std::nullopt);
            ::unsetenv(name);
        }
        for (const auto& [name, value] : vars)
            ::setenv(name, value, 1);
    }
    ~environment()
    {
        for (const auto& [name, value] : saved_)
            value ? ::setenv(name, value->c_str(), 1) : ::unsetenv(name);
    }

private:
    std::vector<std::pair<const char*, std::optional<std::string>>> saved_;
};

std::string proxy_of(const proxy_selector& s, std::string_view scheme, std::string_view host)
{
    const proxy_choice c = s(scheme, host, scheme == "https" ? 443 : 80);
    if (c.error)
        return "error";
    return c.via ? c.via->where() : "direct";
}

} // namespace

TEST_CASE("a proxy URL parses as curl takes it")
{
    proxy p = parsed("proxy.example:3128");
    CHECK(p.host == "proxy.example");
    CHECK(p.port == 3128);
    CHECK(parsed("http://Proxy.Example").port == 1080); // curl's default port
    p = parsed("http://us%3Aer:p%40ss@[::1]:8080/");
    CHECK(p.host == "::1");
    CHECK(p.username == "us:er");
    CHECK(p.password == "p@ss");
    CHECK(p.where() == "http://[::1]:8080");
    CHECK(p.kind == proxy::protocol::http);
    p = parsed("SOCKS5H://u:p@Proxy.Example");
    CHECK(p.kind == proxy::protocol::socks5h);
    CHECK(p.port == 1080);
    CHECK(p.where() == "socks5h://proxy.example:1080");
    CHECK(parsed("socks5://127.0.0.1:9050").kind == proxy::protocol::socks5);

    p = parsed("HTTPS://proxy.example");
    CHECK(p.kind == proxy::protocol::https);
    CHECK(p.port == 443); // curl's default for an https:// proxy
    CHECK(p.where() == "https://proxy.example:443");

    proxy out;
    CHECK(proxy::parse("socks4://proxy:1080", out) == error::unsupported_scheme);
    CHECK(proxy::parse("http://proxy:1080/path", out) == error::invalid_url);
    CHECK(proxy::parse("http://:1080", out) == error::invalid_url);
    CHECK(proxy::parse("http://proxy:0", out) == error::invalid_port);
    CHECK(proxy::parse("http://pro xy:1", out) == error::invalid_url);
}

TEST_CASE("NO_PROXY lists names with their subdomains, addresses, blocks and *")
{
    CHECK(bypasses_proxy("*", "anything.test"));
    CHECK(bypasses_proxy("example.com", "example.com"));
    CHECK(bypasses_proxy("example.com", "API.Example.com"));
    CHECK(bypasses_proxy(".example.com", "example.com"));
    CHECK(bypasses_proxy(".example.com", "a.b.example.com"));
    CHECK_FALSE(bypasses_proxy("example.com", "notexample.com"));
    CHECK(bypasses_proxy("localhost, 10.0.0.0/8 ,internal", "10.2.3.4"));
    CHECK_FALSE(bypasses_proxy("10.0.0.0/8", "11.0.0.1"));
    CHECK(bypasses_proxy("192.168.1.7", "192.168.1.7"));
    CHECK(bypasses_proxy("fd00::/8", "fd12::1"));
    CHECK(bypasses_proxy("[::1]", "::1"));
    CHECK_FALSE(bypasses_proxy("", "localhost"));
    CHECK_FALSE(bypasses_proxy("localhost", "127.0.0.1")); // no lookups: a name is not its address
}

TEST_CASE("the environment, by curl's rules")
{
    {
        environment e({{"http_proxy", "http://p1:3128"}, {"HTTPS_PROXY", "p2:3129"}, {"NO_PROXY", "internal.test"}});
        const proxy_selector s = proxy_from_environment();
        CHECK(proxy_of(s, "http", "a.test") == "http://p1:3128");
        CHECK(proxy_of(s, "https", "a.test") == "http://p2:3129");
        CHECK(proxy_of(s, "https", "api.internal.test") == "direct");
        CHECK(proxy_of(s, "http", "127.0.0.1") == "http://p1:3128"); // loopback is proxied unless listed
        CHECK(proxy_of(proxy_from_environment("*"), "http", "a.test") == "direct"); // --noproxy '*'
    }
    {
        environment e({{"HTTP_PROXY", "http://ignored:1"}}); // uppercase: set by CGI requests, not users
        CHECK_FALSE(proxy_from_environment());
    }
    {
        environment e({{"ALL_PROXY", "http://fallback:8080"}, {"https_proxy", ""}});
        const proxy_selector s = proxy_from_environment();
        CHECK(proxy_of(s, "http", "a.test") == "http://fallback:8080");
        CHECK(proxy_of(s, "https", "a.test") == "http://fallback:8080"); // empty counts as unset
    }
    {
        environment e({{"ALL_PROXY", "socks5h://tor:9050"}, {"no_proxy", "localhost"}});
        const proxy_selector s = proxy_from_environment();
        CHECK(proxy_of(s, "http", "a.test") == "socks5h://tor:9050");
        CHECK(proxy_of(s, "https", "a.test") == "socks5h://tor:9050");
        CHECK(proxy_of(s, "https", "localhost") == "direct");
    }
    {
        environment e({{"http_proxy", "socks4://old:1080"}});
        const proxy_selector s = proxy_from_environment();
        CHECK(s("http", "a.test", 80).error == error::invalid_config);
        CHECK(proxy_of(s, "https", "a.test") == "direct");
    }
    {
        environment e({});
        CHECK_FALSE(proxy_from_environment()); // nothing set: no selector, no cost per request
    }
}

TEST_CASE("an http URL goes to the proxy in absolute form with its Basic credentials, which no key shows")
{
    testing::forward_proxy fwd;
    auto events = std::make_shared<testing::recorder>();
    client c(through(parsed("http://user:p%40ss@127.0.0.1:" + std::to_string(fwd.port())), events));
    response r = c.send(request("GET", "http://origin.test:8080/items?page=2#frag"));
    CHECK(r.status == 200);
    CHECK(r.body == "GET http://origin.test:8080/items?page=2 HTTP/1.1|Basic dXNlcjpwQHNz");
    CHECK(c.send(request("GET", "http://origin.test:8080/again")).status == 200);
    CHECK(fwd.connections() == 1); // kept alive, reused
    // No lookup of origin.test: the proxy resolves it. The proxy's address is a literal: no lookup either.
    CHECK(events->names().starts_with("call_start get_conn connect_start connect_done got_conn"));
    const pool_stats s = c.stats();
    CHECK(testing::has_key_containing(s, "http://origin.test:8080#proxy=http://127.0.0.1:" + std::to_string(fwd.port()) + "#auth"));
    for (const auto& h : s.hosts) {
        CHECK(h.key.find("user") == std::string::npos);
        CHECK(h.key.find("p@ss") == std::string::npos);
    }
}

TEST_CASE("a 407 to an absolute-form request is an ordinary response, as in curl")
{
    testing::forward_proxy fwd({.require_authorization = "Basic dTpw"});
    client c(through(parsed(fwd.url())));
    result r = c.round_trip(request("GET", "http://origin.test/"));
    REQUIRE_FALSE(r.error);
    CHECK(r.response.status == 407);
    client with(through(parsed("http://u:p@127.0.0.1:" + std::to_string(fwd.port()))));
    CHECK(with.send(request("GET", "http://origin.test/")).status == 200);
}

TEST_CASE("an https URL goes through a CONNECT tunnel, TLS with the server inside, verified against its name")
{
    testing::test_server server(testing::reply_ok(), serving_tls());
    testing::forward_proxy fwd;
    auto events = std::make_shared<testing::recorder>();
    client c(through(parsed(fwd.url()), events));
    const std::string url = "https://localhost:" + std::to_string(server.port()) + "/";
    CHECK(c.send(request("GET", url)).status == 200);
    CHECK(c.send(request("GET", url)).status == 200);
    CHECK(fwd.tunnels() == 1);
    CHECK(server.handshakes() == 1);
    CHECK(fwd.last_request_line() == "CONNECT localhost:" + std::to_string(server.port()) + " HTTP/1.1");
    CHECK(events->names().starts_with("call_start get_conn connect_start connect_done proxy_connect_start "
                                      "proxy_connect_done tls_handshake_start tls_handshake_done got_conn"));
    CHECK(events->describe_first("proxy_connect_start")
          == "proxy_connect_start proxy=" + fwd.url() + " target=localhost:" + std::to_string(server.port()));
    CHECK(events->first<proxy_connect_done>()->status == 200);
    CHECK(events->describe_first("tls_handshake_start") == "tls_handshake_start server_name=localhost");

    // Verified against the server's name, never the proxy's: the certificate is good for 127.0.0.1 (the
    // proxy's address) but not for 127.0.0.2, where this server listens.
    testing::test_server elsewhere(testing::reply_ok(), serving_tls(), "127.0.0.2");
    client wrong(through(parsed(fwd.url())));
    result r = wrong.round_trip(request("GET", "https://127.0.0.2:" + std::to_string(elsewhere.port()) + "/"));
    CHECK(r.error == error::tls_hostname_mismatch);
}

TEST_CASE("an https:// proxy: TLS with the proxy, verified against its name; http URLs in absolute form inside it")
{
    testing::forward_proxy fwd({.require_authorization = "Basic dTpw"});
    testing::tls_front front(fwd.port(), testing::pki().server);
    const std::string where = "https://localhost:" + std::to_string(front.port());
    auto events = std::make_shared<testing::recorder>();
    client c(through(parsed("https://u:p@localhost:" + std::to_string(front.port())), events));
    response r = c.send(request("GET", "http://origin.test/a"));
    CHECK(r.status == 200);
    CHECK(r.body == "GET http://origin.test/a HTTP/1.1|Basic dTpw");
    CHECK(c.send(request("GET", "http://origin.test/b")).status == 200);
    CHECK(front.handshakes() == 1); // kept alive with its TLS, and reused
    CHECK(fwd.connections() == 1);
    CHECK(events->describe_first("tls_handshake_start") == "tls_handshake_start server_name=localhost");
    CHECK(testing::has_key_containing(c.stats(), "http://origin.test:80#proxy=" + where + "#auth"));

    // A proxy whose certificate does not name it is refused before anything is sent to it.
    testing::tls_front impostor(fwd.port(), testing::pki().wrong_host);
    client wrong(through(parsed("https://localhost:" + std::to_string(impostor.port()))));
    CHECK(wrong.round_trip(request("GET", "http://origin.test/")).error == error::tls_hostname_mismatch);
    CHECK(fwd.connections() == 1);
}

TEST_CASE("an https URL through an https:// proxy: the server's TLS inside the proxy's, each verified against its own name")
{
    testing::test_server server(testing::reply_ok(), serving_tls());
    testing::forward_proxy fwd;
    testing::tls_front front(fwd.port(), testing::pki().server);
    auto events = std::make_shared<testing::recorder>();
    client c(through(parsed("https://localhost:" + std::to_string(front.port())), events));
    const std::string url = "https://localhost:" + std::to_string(server.port()) + "/";
    CHECK(c.send(request("GET", url)).status == 200);
    CHECK(c.send(request("GET", url)).status == 200);
    CHECK(front.handshakes() == 1);
    CHECK(fwd.tunnels() == 1);
    CHECK(server.handshakes() == 1);
    CHECK(events->names().find("connect_done tls_handshake_start tls_handshake_done proxy_connect_start "
                               "proxy_connect_done tls_handshake_start tls_handshake_done got_conn")
          != std::string::npos);
    CHECK(events->first<proxy_connect_done>()->status == 200);

    // The server's certificate is checked against the server's name inside the tunnel: good for the
    // proxy's name, not for 127.0.0.2.
    testing::test_server elsewhere(testing::reply_ok(), serving_tls(), "127.0.0.2");
    client wrong(through(parsed("https://localhost:" + std::to_string(front.port()))));
    result r = wrong.round_trip(request("GET", "https://127.0.0.2:" + std::to_string(elsewhere.port()) + "/"));
    CHECK(r.error == error::tls_hostname_mismatch);
    CHECK(front.handshakes() == 2); // the proxy's TLS was fine, and its tunnel opened: the server's failed
    CHECK(fwd.tunnels() == 2);

    // A proxy that hangs up instead of answering CONNECT (it cannot reach the server) is a proxy_error
    // behind TLS too, though its TLS ends without a close_notify.
    CHECK(wrong.round_trip(request("GET", "https://127.0.0.2:1/")).error == error::proxy_error);
}

TEST_CASE("a proxy that cannot reach the server, or closes the tunnel unanswered, is a proxy_error")
{
    testing::forward_proxy fwd; // its tunnel's connect fails, and it hangs up without an answer
    client c(through(parsed(fwd.url())));
    CHECK(c.round_trip(request("GET", "https://127.0.0.2:1/")).error == error::proxy_error);
}

TEST_CASE("a CONNECT answered with anything but 2xx fails with proxy_error, the status on proxy_connect_done")
{
    testing::test_server server(testing::reply_ok(), serving_tls());
    const std::string url = "https://localhost:" + std::to_string(server.port()) + "/";

    SUBCASE("refused")
    {
        testing::forward_proxy fwd({.refuse_connect = 403});
        auto events = std::make_shared<testing::recorder>();
        client c(through(parsed(fwd.url()), events));
        result r = c.round_trip(request("GET", url));
        CHECK(r.error == error::proxy_error);
        CHECK(r.error == condition::proxy_error);
        CHECK(events->first<proxy_connect_done>()->status == 403);
        CHECK(server.connections() == 0);
    }
    SUBCASE("credentials demanded")
    {
        testing::forward_proxy fwd({.require_authorization = "Basic dTpw"});
        auto events = std::make_shared<testing::recorder>();
        client c(through(parsed(fwd.url()), events));
        CHECK(c.round_trip(request("GET", url)).error == error::proxy_error);
        CHECK(events->first<proxy_connect_done>()->status == 407);
        client with(through(parsed("http://u:p@" + fwd.url().substr(7))));
        CHECK(with.send(request("GET", url)).status == 200);
    }
}

TEST_CASE("a CONNECT left unanswered is bounded by the connect timeout; bytes before the server's are a proxy_error")
{
    testing::test_server server(testing::reply_ok(), serving_tls());
    const std::string url = "https://localhost:" + std::to_string(server.port()) + "/";

    SUBCASE("unanswered")
    {
        testing::forward_proxy fwd({.ignore_connect = true});
        auto events = std::make_shared<testing::recorder>();
        client_options o = through(parsed(fwd.url()), events);
        o.transport.timeouts.connect = 200ms;
        client c(std::move(o));
        CHECK(c.round_trip(request("GET", url)).error == error::connect_timeout);
        CHECK(events->first<proxy_connect_done>()->error == error::connect_timeout);
    }
    SUBCASE("stray bytes after the 2xx")
    {
        testing::forward_proxy fwd({.after_established = "junk"});
        client c(through(parsed(fwd.url())));
        CHECK(c.round_trip(request("GET", url)).error == error::proxy_error);
    }
    SUBCASE("a proxy built in code without a port")
    {
        proxy p;
        p.host = "127.0.0.1";
        client c(through(p));
        CHECK(c.round_trip(request("GET", url)).error == error::invalid_config);
    }
}

TEST_CASE("through Debian's tinyproxy: an http URL in absolute form and an https URL through CONNECT")
{
    testing::local_daemon real([](std::uint16_t port) -> std::vector<std::string> {
        const std::string conf = testing::write_temp_file(
            "tinyproxy.conf", "Port " + std::to_string(port) + "\nListen 127.0.0.1\nTimeout 30\nMaxClients 20\n"
                              "Allow 127.0.0.1\nDisableViaHeader Yes\nLogLevel Critical\n");
        return {"/usr/bin/tinyproxy", "-d", "-c", conf};
    });
    testing::test_server plain([](const testing::server_request& req, testing::exchange& ex) {
        ex.reply(200, "origin saw " + std::string(req.target));
    });
    testing::test_server secure(testing::reply_ok(), serving_tls());
    auto events = std::make_shared<testing::recorder>();
    client c(through(parsed("http://127.0.0.1:" + std::to_string(real.port())), events));
    CHECK(c.send(request("GET", plain.url("/via-tinyproxy"))).body == "origin saw /via-tinyproxy");
    CHECK(c.send(request("GET", "https://localhost:" + std::to_string(secure.port()) + "/")).status == 200);
    CHECK(events->first<proxy_connect_done>()->status == 200);
    CHECK(secure.handshakes() == 1);
}
