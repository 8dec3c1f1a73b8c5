// HTTPS against the loopback server in TLS mode, with a test PKI made at run time: verification and
// each of its failures, client certificates, session resumption, pooling, events and timeouts.
#include <roundtrip/testing/recorder.hpp>
#include "silent_peer.hpp"
#include <roundtrip/testing/test_certs.hpp>
#include <roundtrip/testing/test_server.hpp>
#include <roundtrip/testing/wait.hpp>

#include <roundtrip/client.hpp>
#include <roundtrip/error.hpp>

#include <boost/system/system_error.hpp>

#include <openssl/ssl.h>

#include <doctest/doctest.h>

#include <boost/asio/write.hpp>

#include <algorithm>
#include <fstream>
#include <thread>
#include <sstream>

using namespace roundtrip;
using namespace std::chrono_literals;

namespace {

testing::tls_options serving(testing::pem_identity identity)
{
    testing::tls_options o;
    o.identity = std::move(identity);
    return o;
}

// A client that trusts the test CA and nothing else.
client_options trusting_test_ca(std::shared_ptr<testing::recorder> events = nullptr)
{
    client_options o;
    if (events)
        o.observers.push_back(events);
    o.transport.tls.ca_pem = testing::pki().ca_cert;
    return o;
}

std::string https_url(std::string_view host, std::uint16_t port)
{
    return "https://" + std::string(host) + ":" + std::to_string(port) + "/";
}

} // namespace

TEST_CASE("a server with a certificate from a trusted CA is verified, by IP and by name, and its connection reused")
{
    testing::test_server server(testing::reply_ok(), serving(testing::pki().server));
    auto events = std::make_shared<testing::recorder>();
    client c(trusting_test_ca(events));

    result first = c.round_trip(request("GET", server.url()));
    REQUIRE_FALSE(first.error);
    CHECK(first.response.body == "ok");
    auto done = events->first<tls_handshake_done>();
    REQUIRE(done);
    CHECK_FALSE(done->error);
    CHECK_FALSE(done->resumed);
    auto names = events->names();
    CHECK(names.find("connect_done tls_handshake_start tls_handshake_done got_conn") != std::string::npos);

    result second = c.round_trip(request("GET", server.url()));
    REQUIRE_FALSE(second.error);
    CHECK(second.attempt.reused);
    CHECK(server.handshakes() == 1);

    result by_name = c.round_trip(request("GET", https_url("localhost", server.port())));
    CHECK_FALSE(by_name.error);
}

TEST_CASE("the handshake's event carries version, cipher, ALPN, resumption and the peer's subject")
{
    testing::test_server server(testing::reply_ok(), serving(testing::pki().server));
    struct fields : observer {
        std::string version, cipher, alpn, peer, server_name;
        bool resumed = true;
        void on_event(const event& e) noexcept override
        {
            if (auto d = std::get_if<tls_handshake_done>(&e.data))
                version = d->version, cipher = d->cipher, alpn = d->alpn, peer = d->peer_subject,
                resumed = d->resumed;
            if (auto s = std::get_if<tls_handshake_start>(&e.data))
                server_name = s->server_name;
        }
    };
    auto seen = std::make_shared<fields>();
    client_options options = trusting_test_ca();
    options.observers.push_back(seen);
    client c(std::move(options));
    REQUIRE_FALSE(c.round_trip(request("GET", https_url("localhost", server.port()))).error);
    CHECK(seen->version == "TLSv1.3");
    CHECK_FALSE(seen->cipher.empty());
    CHECK(seen->alpn == "http/1.1");
    CHECK(seen->peer.find("CN") != std::string::npos);
    CHECK(seen->server_name == "localhost");
    CHECK_FALSE(seen->resumed);

    REQUIRE_FALSE(c.round_trip(request("GET", server.url())).error);
    CHECK(seen->server_name.empty()); // never SNI for an IP literal (RFC 6066)

    // A server that ignores ALPN is fine: HTTP/1.1 is assumed.
    testing::tls_options no_alpn = serving(testing::pki().server);
    no_alpn.alpn_http11 = false;
    testing::test_server plain_tls(testing::reply_ok(), no_alpn);
    REQUIRE_FALSE(c.round_trip(request("GET", plain_tls.url())).error);
    CHECK(seen->alpn.empty());
}

TEST_CASE("each verification failure names its cause, and nothing is sent")
{
    const auto& pki = testing::pki();
    struct failing {
        const char* name;
        testing::pem_identity identity;
        std::string address;
        error expected;
        condition cls;
    };
    const std::vector<failing> cases{
        {"self-signed certificate", pki.self_signed, "127.0.0.1", error::tls_untrusted_certificate, condition::tls_verify_failed},
        {"certificate has expired", pki.expired, "127.0.0.1", error::tls_certificate_expired, condition::tls_verify_failed},
        {"IP address mismatch", pki.wrong_host, "127.0.0.1", error::tls_hostname_mismatch, condition::hostname_mismatch},
        {"IP address mismatch", pki.server, "127.0.0.2", error::tls_hostname_mismatch, condition::hostname_mismatch},
    };
    for (const auto& f : cases) {
        CAPTURE(f.name);
        testing::test_server server(testing::reply_ok(), serving(f.identity), f.address);
        auto events = std::make_shared<testing::recorder>();
        client c(trusting_test_ca(events));
        result r = c.round_trip(request("GET", server.url()));
        CHECK(r.error == f.expected);
        CHECK(r.error == f.cls);
        CHECK(r.attempt.progress == request_progress::not_sent);
        CHECK(server.requests() == 0);
        // The event names the reason in OpenSSL's words, and whom the certificate was issued for.
        const std::string described = events->describe_first("tls_handshake_done");
        CAPTURE(described);
        CHECK(described.find(std::string(" verify_error=") + f.name + " peer_subject=") != std::string::npos);
        CHECK(described.find("CN = ") != std::string::npos);
    }

    SUBCASE("a server from a CA the client does not trust")
    {
        testing::test_server server(testing::reply_ok(), serving(pki.server));
        client c; // the system store: the test CA is not in it
        CHECK(c.round_trip(request("GET", server.url())).error == error::tls_untrusted_certificate);
    }
    SUBCASE("insecure_skip_verify accepts it, by name")
    {
        testing::test_server server(testing::reply_ok(), serving(pki.self_signed));
        client_options o;
        o.transport.tls.insecure_skip_verify = true;
        client c(std::move(o));
        CHECK(c.round_trip(request("GET", server.url())).response.body == "ok");
    }
}

TEST_CASE("plain HTTP where TLS is expected is named")
{
    // A plain HTTP server answers a TLS ClientHello as the garbage it is to it: 400, in plain text.
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    std::thread plain([&] {
        boost::asio::ip::tcp::socket peer(io);
        boost::system::error_code ec;
        acceptor.accept(peer, ec);
        char hello[512];
        peer.read_some(boost::asio::buffer(hello), ec);
        boost::asio::write(peer, boost::asio::buffer(std::string_view("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")), ec);
    });
    client c(trusting_test_ca());
    result r = c.round_trip(request("GET", https_url("127.0.0.1", acceptor.local_endpoint().port())));
    plain.join();
    CHECK(r.error == error::tls_not_spoken);
    CHECK(r.error == condition::tls_handshake_failed);
}

TEST_CASE("client certificates: accepted when the server trusts their CA, refused otherwise")
{
    const auto& pki = testing::pki();
    testing::tls_options tls = serving(pki.server);
    tls.client_ca = pki.client_ca_cert;
    testing::test_server server(testing::reply_ok(), tls);

    client_options with_cert = trusting_test_ca();
    with_cert.transport.tls.cert_pem = pki.client.cert;
    with_cert.transport.tls.key_pem = pki.client.key;
    client accepted(std::move(with_cert));
    CHECK(accepted.round_trip(request("GET", server.url())).response.body == "ok");
    CHECK(server.last_client_subject().find("roundtrip-test-client") != std::string::npos);

    client_options stranger = trusting_test_ca();
    stranger.transport.tls.cert_pem = pki.stranger_client.cert;
    stranger.transport.tls.key_pem = pki.stranger_client.key;
    client refused(std::move(stranger));
    result r = refused.round_trip(request("GET", server.url()));
    CHECK(r.error); // TLS 1.3 reports the refusal after the handshake: at the first read
    CHECK((r.error == condition::tls_handshake_failed || r.error == condition::connection_reset
           || r.error == condition::eof));

    client without(trusting_test_ca());
    CHECK(without.round_trip(request("GET", server.url())).error);
}

TEST_CASE("a request's own TLS configuration gets connections and sessions of its own, never the transport's")
{
    testing::test_server server(testing::reply_ok(), serving(testing::pki().server));
    auto events = std::make_shared<testing::recorder>();
    client c(trusting_test_ca(events));
    result first = c.round_trip(request("GET", server.url()));
    REQUIRE_FALSE(first.error);

    // A config that does not trust the server's CA fails, though a verified connection is idle.
    tls_options distrust;
    distrust.ca_pem = testing::pki().client_ca_cert;
    request untrusted("GET", server.url());
    untrusted.tls = tls_config(distrust);
    CHECK(c.round_trip(untrusted).error == error::tls_untrusted_certificate);

    // A config trusting the same CA still gets a connection of its own, with a full handshake.
    tls_options same_trust;
    same_trust.ca_pem = testing::pki().ca_cert;
    const tls_config own(same_trust);
    request mine("GET", server.url());
    mine.tls = own;
    result second = c.round_trip(mine);
    REQUIRE_FALSE(second.error);
    CHECK_FALSE(second.attempt.reused);
    CHECK(second.attempt.conn != first.attempt.conn);
    CHECK(server.resumed_handshakes() == 0);

    // Each config reuses its own connection.
    result again = c.round_trip(mine);
    CHECK(again.attempt.conn == second.attempt.conn);
    result plain = c.round_trip(request("GET", server.url()));
    CHECK(plain.attempt.conn == first.attempt.conn);
    CHECK(server.handshakes() == 2); // the server counts completed handshakes: the distrusted one was not

    std::vector<std::string> keys;
    for (const auto& h : c.stats().hosts)
        keys.push_back(h.key);
    std::sort(keys.begin(), keys.end());
    REQUIRE(keys.size() == 2);
    CHECK(keys[0] == "https://127.0.0.1:" + std::to_string(server.port()));
    CHECK(keys[1].starts_with(keys[0] + "#tls"));
}

TEST_CASE("a middleware can give one host's requests a client certificate")
{
    const auto& pki = testing::pki();
    testing::tls_options mtls = serving(pki.server);
    mtls.client_ca = pki.client_ca_cert;
    testing::test_server tenant(testing::reply_ok(), mtls);
    testing::test_server public_site(testing::reply_ok(), serving(pki.server));

    tls_options identity;
    identity.ca_pem = pki.ca_cert;
    identity.cert_pem = pki.client.cert;
    identity.key_pem = pki.client.key;
    const tls_config tenant_tls(identity);
    const std::string tenant_prefix = tenant.url();
    client_options o = trusting_test_ca();
    o.middleware.emplace_back([&](request req, next next) -> asio::awaitable<result> {
        if (req.url.starts_with(tenant_prefix))
            req.tls = tenant_tls;
        co_return co_await next(std::move(req));
    });
    client c(std::move(o));

    CHECK(c.round_trip(request("GET", tenant.url())).response.body == "ok");
    CHECK(tenant.last_client_subject().find("roundtrip-test-client") != std::string::npos);
    CHECK(c.round_trip(request("GET", public_site.url())).response.body == "ok");
    CHECK(public_site.last_client_subject().empty());
}

TEST_CASE("a second connection to the same host resumes the first one's TLS session, in TLS 1.3 and 1.2")
{
    for (int max_version : {0, TLS1_2_VERSION}) {
        CAPTURE(max_version);
        testing::tls_options tls = serving(testing::pki().server);
        tls.max_version = max_version;
        testing::test_server server(testing::reply_ok(), tls);
        auto events = std::make_shared<testing::recorder>();
        client c(trusting_test_ca(events));
        REQUIRE_FALSE(c.round_trip(request("GET", server.url())).error);
        request fresh("GET", server.url());
        fresh.new_connection = true;
        REQUIRE_FALSE(c.round_trip(fresh).error);
        CHECK(server.handshakes() == 2);
        CHECK(server.resumed_handshakes() == 1);
        std::vector<bool> resumed;
        for (const auto& e : events->events())
            if (auto d = std::get_if<tls_handshake_done>(&e.e.data))
                resumed.push_back(d->resumed);
        CHECK(resumed == std::vector<bool>{false, true});
    }
}

TEST_CASE("a server that accepts and never speaks TLS fails the handshake at its timeout")
{
    testing::deaf_listener deaf;
    client_options o = trusting_test_ca();
    o.transport.tls.handshake_timeout = 200ms;
    client c(std::move(o));
    result r = c.round_trip(request("GET", https_url("127.0.0.1", deaf.port())));
    CHECK(r.error == error::tls_handshake_timeout);
    CHECK(r.error == condition::timeout);
}

TEST_CASE("a peer closing without close_notify after a complete response is not an error")
{
    testing::tls_options tls = serving(testing::pki().server);
    tls.close_notify = false;
    testing::test_server server([](const testing::server_request&, testing::exchange& ex) {
        ex.reply(200, "complete");
        ex.close();
    }, tls);
    auto events = std::make_shared<testing::recorder>();
    client c(trusting_test_ca(events));
    result r = c.round_trip(request("GET", server.url()));
    REQUIRE_FALSE(r.error);
    CHECK(r.response.body == "complete");
    // The server's FIN arrives while the connection is idle: it is removed, not handed out.
    CHECK(testing::eventually([&] { return events->first<conn_closed>() != nullptr; }));
    CHECK(c.round_trip(request("GET", server.url())).response.body == "complete");
}

TEST_CASE("a TLS record that arrives with a response but past its end keeps the connection out of the pool")
{
    // The extra record lands in OpenSSL's buffers with the response, not on the socket, so neither a
    // peek at the socket nor the idle watcher could see it; pooled, the next request would read it
    // as its response.
    const std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nreal";
    const std::string forged = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged";
    testing::test_server server([&](const testing::server_request& req, testing::exchange& ex) {
        if (req.target == "/extra")
            ex.write_together({answer, forged});
        else
            ex.write_raw(answer);
    }, serving(testing::pki().server));
    auto events = std::make_shared<testing::recorder>();
    client c(trusting_test_ca(events));
    result first = c.round_trip(request("GET", server.url("/extra")));
    REQUIRE_FALSE(first.error);
    CHECK(first.response.body == "real");
    CHECK(testing::connection_fate(*events) == "protocol_error");
    result second = c.round_trip(request("GET", server.url()));
    REQUIRE_FALSE(second.error);
    CHECK(second.response.body == "real");
    CHECK(server.connections() == 2);
}

TEST_CASE("a TLS record without data that reaches an idle connection after read_inactivity keeps it pooled")
{
    // The idle watcher reads it through TLS with a timer of its own: an expiry left from the last
    // exchange (here 100 ms after the response, long past) must not make the look a timeout.
    testing::test_server server([](const testing::server_request&, testing::exchange& ex) {
        ex.reply(200, "ok");
        if (ex.request_index() == 1) {
            ex.sleep(400ms);
            ex.send_key_update();
        }
    }, serving(testing::pki().server));
    auto events = std::make_shared<testing::recorder>();
    client_options o = trusting_test_ca(events);
    o.transport.timeouts.read_inactivity = 100ms;
    client c(std::move(o));
    REQUIRE(c.round_trip(request("GET", server.url())).response.body == "ok");
    std::this_thread::sleep_for(800ms); // the record arrives at 400 ms and is looked at
    CHECK(events->first<conn_closed>() == nullptr);
    REQUIRE(c.round_trip(request("GET", server.url())).response.body == "ok");
    CHECK(server.connections() == 1);
}

TEST_CASE("a record that does not decrypt after the handshake is tls_failed, not a failed handshake")
{
    // An application-data record of 32 bytes that no key produced: its authentication fails.
    const std::string corrupt = std::string("\x17\x03\x03\x00\x20", 5) + std::string(32, 'x');
    testing::test_server server([&](const testing::server_request&, testing::exchange& ex) {
        ex.write_below_tls(corrupt);
        ex.close();
    }, serving(testing::pki().server));
    auto events = std::make_shared<testing::recorder>();
    client c(trusting_test_ca(events));
    result r = c.round_trip(request("GET", server.url()));
    CHECK(r.error == error::tls_failed);
    CHECK(r.error == condition::protocol_error);
    const auto* handshake = events->first<tls_handshake_done>();
    REQUIRE(handshake != nullptr);
    CHECK_FALSE(handshake->error);
}

TEST_CASE("a TLS session ticket that arrives with a response leaves the connection poolable")
{
    // TLS 1.3 servers send tickets after the handshake; they often arrive with the first response.
    testing::test_server server(testing::reply_ok(), serving(testing::pki().server));
    auto events = std::make_shared<testing::recorder>();
    client c(trusting_test_ca(events));
    for (int i = 0; i < 3; ++i)
        CHECK(c.round_trip(request("GET", server.url())).response.body == "ok");
    CHECK(testing::connection_fate(*events) == "pooled");
    CHECK(server.connections() == 1);
}

TEST_CASE("TLS options are checked when the client is built; a key log is written")
{
    client_options missing;
    missing.transport.tls.ca_file = "/no/such/ca.pem";
    CHECK_THROWS_AS(client(std::move(missing)), boost::system::system_error);
    CHECK_THROWS_WITH_AS(tls_config(tls_options{.alpn = {"h2", "http/1.1"}}), doctest::Contains("alpn"),
                         boost::system::system_error);

    const std::string key_log = testing::write_temp_file("keys.log", "");
    testing::test_server server(testing::reply_ok(), serving(testing::pki().server));
    client_options o = trusting_test_ca();
    o.transport.tls.ca_pem.clear();
    o.transport.tls.ca_file = testing::write_temp_file("ca.pem", testing::pki().ca_cert);
    o.transport.tls.key_log_file = key_log;
    client c(std::move(o));
    REQUIRE_FALSE(c.round_trip(request("GET", server.url())).error);
    std::ifstream in(key_log);
    std::stringstream text;
    text << in.rdbuf();
    CHECK(text.str().find("CLIENT_TRAFFIC_SECRET_0") != std::string::npos);
}
