// SOCKS5 proxies (RFC 1928, RFC 1929): the messages, then http and https URLs through a SOCKS5 proxy
// of our own in both resolution modes (socks5h: the proxy resolves the name; socks5: we do), with
// credentials, refusals mapped by reply code, and a proxy that is not one; and against Debian's
// microsocks.
#include "local_daemon.hpp"
#include "pool_keys.hpp"
#include "proxy_clients.hpp"
#include "socks5.hpp"
#include "socks5_server.hpp"

#include <roundtrip/client.hpp>
#include <roundtrip/error.hpp>
#include <roundtrip/proxy.hpp>
#include <roundtrip/testing/recorder.hpp>
#include <roundtrip/testing/test_certs.hpp>
#include <roundtrip/testing/test_server.hpp>

#include <doctest/doctest.h>

using namespace roundtrip;
using namespace std::chrono_literals;
namespace socks5 = roundtrip::detail::socks5;
using testing::serving_tls;
using testing::through;

namespace {

// Pins `host` to 127.0.0.1, so that socks5:// (which resolves here) sends the address the test servers
// listen on, whatever the system resolver puts first for localhost.
client_options pinned(client_options o, std::string_view host)
{
    o.transport.dial.pins = std::make_shared<name_pins>();
    o.transport.dial.pins->pin(host, 0, {asio::ip::make_address("127.0.0.1")});
    return o;
}

std::string bytes(std::initializer_list<int> in)
{
    std::string out;
    for (int b : in)
        out += static_cast<char>(b);
    return out;
}

std::string localhost_url(std::string_view scheme, const testing::test_server& s, std::string_view path = "/")
{
    return std::string(scheme) + "://localhost:" + std::to_string(s.port()) + std::string(path);
}

} // namespace

TEST_CASE("SOCKS5 messages: the greeting, RFC 1929 credentials, CONNECT by name or address, and reply sizes")
{
    CHECK(socks5::greeting(false) == bytes({5, 1, 0}));
    CHECK(socks5::greeting(true) == bytes({5, 2, 0, 2}));
    CHECK(socks5::credentials("u", "pw") == bytes({1, 1, 'u', 2, 'p', 'w'}));
    CHECK(socks5::connect_request("a.b", 443) == bytes({5, 1, 0, 3, 3, 'a', '.', 'b', 1, 187}));
    CHECK(socks5::connect_request("10.1.2.3", 80) == bytes({5, 1, 0, 1, 10, 1, 2, 3, 0, 80}));
    CHECK(socks5::connect_request("::1", 8080)
          == bytes({5, 1, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x1f, 0x90}));
    const auto size = [](unsigned char atyp, unsigned char first) {
        const unsigned char head[5] = {5, 0, 0, atyp, first};
        return socks5::reply_size(std::span<const unsigned char, 5>(head));
    };
    CHECK(size(1, 0) == 10);
    CHECK(size(4, 0) == 22);
    CHECK(size(3, 9) == 16);
    CHECK(size(7, 0) == 0);
    CHECK_FALSE(socks5::reply_error(0));
    CHECK(socks5::reply_error(5) == error::connection_refused);
    for (unsigned code : {1u, 2u, 3u, 4u, 6u, 7u, 8u, 9u})
        CHECK(socks5::reply_error(code) == error::proxy_error);
}

TEST_CASE("through socks5h://, the proxy is sent the name; http and https URLs both go through its tunnel")
{
    testing::socks5_server socks;
    testing::test_server plain([](const testing::server_request& req, testing::exchange& ex) {
        ex.reply(200, "origin saw " + std::string(req.target));
    });
    testing::test_server secure(testing::reply_ok(), serving_tls());
    auto events = std::make_shared<testing::recorder>();
    client c(through(socks.url("socks5h"), events));

    CHECK(c.send(request("GET", localhost_url("http", plain, "/a"))).body == "origin saw /a"); // origin form
    CHECK(c.send(request("GET", localhost_url("http", plain, "/b"))).body == "origin saw /b");
    CHECK(socks.tunnels() == 1); // kept alive, reused
    CHECK(socks.last_destination() == "name localhost:" + std::to_string(plain.port()));
    // No lookup here: the proxy's address is a literal, and the proxy resolves the server's name.
    CHECK(events->names().starts_with("call_start get_conn connect_start connect_done proxy_connect_start "
                                      "proxy_connect_done got_conn"));
    CHECK(events->describe_first("proxy_connect_start")
          == "proxy_connect_start proxy=" + socks.url("socks5h") + " target=localhost:" + std::to_string(plain.port()));
    CHECK(testing::has_key_containing(c.stats(), "http://localhost:" + std::to_string(plain.port())
                                                     + "#proxy=" + socks.url("socks5h")));

    CHECK(c.send(request("GET", localhost_url("https", secure))).status == 200);
    CHECK(secure.handshakes() == 1); // TLS with the server, inside the tunnel
}

TEST_CASE("through socks5://, the name is resolved here and the proxy sent its address")
{
    testing::socks5_server socks;
    testing::test_server secure(testing::reply_ok(), serving_tls());
    auto events = std::make_shared<testing::recorder>();
    client c(pinned(through(socks.url("socks5"), events), "localhost"));
    CHECK(c.send(request("GET", localhost_url("https", secure))).status == 200);
    CHECK(socks.last_destination() == "ipv4 127.0.0.1:" + std::to_string(secure.port()));
    CHECK(events->names().starts_with("call_start get_conn dns_start dns_done connect_start connect_done "
                                      "proxy_connect_start proxy_connect_done tls_handshake_start"));
    CHECK(events->describe_first("dns_start") == "dns_start host=localhost");
    CHECK(events->describe_first("tls_handshake_start") == "tls_handshake_start server_name=localhost");
}

TEST_CASE("SOCKS5 credentials: the right ones open the tunnel; wrong or missing ones are a proxy_error; keys never show them")
{
    testing::socks5_server socks({.username = "u", .password = "p@ss"});
    testing::test_server plain;
    const std::string at = "127.0.0.1:" + std::to_string(socks.port());
    client good(through("socks5h://u:p%40ss@" + at));
    CHECK(good.send(request("GET", localhost_url("http", plain))).status == 200);
    for (const auto& h : good.stats().hosts)
        CHECK(h.key.find("p@ss") == std::string::npos);
    CHECK(testing::has_key_containing(good.stats(), "#proxy=socks5h://" + at + "#auth"));

    auto events = std::make_shared<testing::recorder>();
    client wrong(through("socks5h://u:nope@" + at, events));
    CHECK(wrong.round_trip(request("GET", localhost_url("http", plain))).error == error::proxy_error);
    REQUIRE(events->first<proxy_connect_done>());
    CHECK(events->first<proxy_connect_done>()->status == 0); // refused before any CONNECT reply
    client none(through("socks5h://" + at)); // the proxy accepts no method we offer
    CHECK(none.round_trip(request("GET", localhost_url("http", plain))).error == error::proxy_error);
    CHECK(socks.tunnels() == 1);
}

TEST_CASE("a SOCKS5 refusal maps by reply code: 5 is connection_refused, the others proxy_error; the code is on the event")
{
    for (unsigned char code : {5, 2, 4}) {
        CAPTURE(int(code));
        testing::socks5_server socks({.refuse_with = code});
        auto events = std::make_shared<testing::recorder>();
        client c(through(socks.url(), events));
        const result r = c.round_trip(request("GET", "http://localhost:9/"));
        CHECK(r.error == (code == 5 ? error_code(error::connection_refused) : error_code(error::proxy_error)));
        REQUIRE(events->first<proxy_connect_done>());
        CHECK(events->first<proxy_connect_done>()->status == code);
        CHECK(events->first<proxy_connect_done>()->error == r.error);
    }
}

TEST_CASE("a proxy that does not speak SOCKS5 is a proxy_error; one that never answers is bounded by the connect timeout")
{
    // An HTTP server reads the greeting as a malformed request, answers 400 and hangs up.
    testing::test_server http_server;
    client c(through("socks5h://127.0.0.1:" + std::to_string(http_server.port())));
    CHECK(c.round_trip(request("GET", "http://localhost:9/")).error == error::proxy_error);

    // A listener that accepts and never answers.
    asio::io_context io;
    asio::ip::tcp::acceptor silent(io, {asio::ip::make_address("127.0.0.1"), 0});
    client_options o = through("socks5h://127.0.0.1:" + std::to_string(silent.local_endpoint().port()));
    o.transport.timeouts.connect = 200ms;
    client slow(std::move(o));
    CHECK(slow.round_trip(request("GET", "http://localhost:9/")).error == error::connect_timeout);
}

TEST_CASE("through Debian's microsocks, with credentials: socks5h for http, socks5 for https")
{
    testing::local_daemon real([](std::uint16_t port) -> std::vector<std::string> {
        return {"/usr/bin/microsocks", "-i", "127.0.0.1", "-p", std::to_string(port), "-u", "u", "-P", "pw"};
    });
    const std::string at = "u:pw@127.0.0.1:" + std::to_string(real.port());
    testing::test_server plain([](const testing::server_request& req, testing::exchange& ex) {
        ex.reply(200, "origin saw " + std::string(req.target));
    });
    testing::test_server secure(testing::reply_ok(), serving_tls());
    client h(through("socks5h://" + at));
    CHECK(h.send(request("GET", "http://127.0.0.1:" + std::to_string(plain.port()) + "/via-microsocks")).body
          == "origin saw /via-microsocks");
    auto events = std::make_shared<testing::recorder>();
    client local(pinned(through("socks5://" + at, events), "localhost"));
    CHECK(local.send(request("GET", localhost_url("https", secure))).status == 200);
    const auto* tunnel = events->first<proxy_connect_done>();
    REQUIRE(tunnel);
    CHECK_FALSE(tunnel->error);
    CHECK(tunnel->status == 0); // REP 0: succeeded
    CHECK(secure.handshakes() == 1);
}
