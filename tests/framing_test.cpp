// HTTP/1.1 framing (RFC 9112) from a server that may misbehave: each case's exact outcome — a
// response or an error class — and the connection's fate, from raw bytes. docs/framing.md is the
// table of these cases; keep the two in step.
#include <roundtrip/testing/recorder.hpp>
#include <roundtrip/testing/test_server.hpp>
#include <roundtrip/testing/wait.hpp>

#include <roundtrip/client.hpp>
#include <roundtrip/error.hpp>

#include <doctest/doctest.h>

using namespace roundtrip;
using namespace std::chrono_literals;

namespace {


struct framing_case {
    const char* name;
    std::string bytes;       // what the server writes, then it closes
    std::string outcome;     // "200 <body>" or the error class
    std::string connection;  // "pooled" or the not-pooled reason
    std::string method = "GET";
};

} // namespace

TEST_CASE("each framing case has one decided outcome and connection fate")
{
    const std::vector<framing_case> cases{
        {"Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", "200 abc", "pooled"},
        {"Content-Length malformed", "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\nabc", "protocol_error", "protocol_error"},
        {"Content-Length negative", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nabc", "protocol_error", "protocol_error"},
        {"Content-Length overflowing", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n", "protocol_error", "protocol_error"},
        {"Content-Length conflicting", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", "protocol_error", "protocol_error"},
        {"Content-Length repeated, same value", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", "200 abc", "pooled"},
        {"Content-Length short body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", "eof", "broken"},
        {"chunked with trailers", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n1;ext=1\r\nd\r\n0\r\nX-Trailer: t\r\n\r\n", "200 abcd", "pooled"},
        {"chunked, invalid size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", "protocol_error", "protocol_error"},
        {"chunked, overflowing size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nabc\r\n0\r\n\r\n", "protocol_error", "protocol_error"},
        {"chunked, cut short", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", "eof", "broken"},
        {"Content-Length and chunked", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", "protocol_error", "protocol_error"},
        {"chunked not last: read until close", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nabc", "200 abc", "connection_close"},
        {"HEAD with a Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", "200 ", "pooled", "HEAD"},
        {"204 with stray bytes after", "HTTP/1.1 204 No Content\r\n\r\nstray", "204 ", "protocol_error"},
        {"304 with stray bytes after", "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\nstray", "304 ", "protocol_error"},
        {"101 not asked for", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n", "protocol_error", "protocol_error"},
        {"1xx then final", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "200 ok", "pooled"},
        {"read until close", "HTTP/1.1 200 OK\r\n\r\nuntil the end", "200 until the end", "connection_close"},
        {"HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", "200 ok", "connection_close"},
        {"HTTP/1.0 read until close", "HTTP/1.0 200 OK\r\n\r\nabc", "200 abc", "connection_close"},
        {"Connection: close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", "200 ok", "connection_close"},
        {"bare CR in a field", "HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 0\r\n\r\n", "protocol_error", "protocol_error"},
        {"NUL in a field", std::string("HTTP/1.1 200 OK\r\nX-A: a\0b\r\nContent-Length: 0\r\n\r\n", 47), "protocol_error", "protocol_error"},
        {"obsolete line folding", "HTTP/1.1 200 OK\r\nX-A: a\r\n  b\r\nContent-Length: 2\r\n\r\nok", "200 ok", "pooled"},
        {"LF without CR", "HTTP/1.1 200 OK\nContent-Length: 3\n\nabc", "protocol_error", "protocol_error"},
        {"status out of range", "HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n", "protocol_error", "protocol_error"},
        {"not HTTP at all", "SSH-2.0-OpenSSH_9.2\r\n", "protocol_error", "protocol_error"},
        {"nothing, then close", "", "eof", "broken"},
        {"a TLS alert: plain HTTP sent to a TLS port", std::string("\x15\x03\x03\x00\x02\x02\x46", 7), "protocol_error", "protocol_error"},
        {"100 Continue, then close", "HTTP/1.1 100 Continue\r\n\r\n", "eof", "broken"},
        {"trailers never become header fields",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nSet-Cookie: t=1\r\nConnection: close\r\n\r\n",
         "200 ok", "pooled"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.name);
        testing::test_server server([&](const testing::server_request&, testing::exchange& ex) {
            ex.write_raw(c.bytes);
            ex.close();
        });
        auto events = std::make_shared<testing::recorder>();
        client cl(client_options{.observers = {events}});
        result r = cl.round_trip(request(c.method, server.url()));
        const std::string outcome = r.error ? std::string(to_string(classify(r.error)))
                                            : std::to_string(r.response.status) + " " + r.response.body;
        CHECK(outcome == c.outcome);
        CHECK(testing::connection_fate(*events) == c.connection);
        CHECK(r.response.headers.count("Set-Cookie") == 0);
    }
}

TEST_CASE("a TLS record answering a plain-HTTP request is named: the URL should be https")
{
    testing::test_server server([](const testing::server_request&, testing::exchange& ex) {
        ex.write_raw(std::string_view("\x15\x03\x03\x00\x02\x02\x46", 7)); // a TLS alert, as a TLS server answers plain text
        ex.close();
    });
    client c;
    CHECK(c.round_trip(request("GET", server.url())).error == error::tls_answer_to_http);
}

TEST_CASE("a response head over the limit is header_too_large, a body over it body_too_large")
{
    testing::test_server server([](const testing::server_request& req, testing::exchange& ex) {
        if (req.target == "/one-huge-field") // one 70 KiB field: Beast 1.81 throws for it; never escapes
            ex.write_raw("HTTP/1.1 200 OK\r\nX-Huge: " + std::string(70 * 1024, 'h') + "\r\nContent-Length: 0\r\n\r\n");
        else if (req.target == "/endless-head") // field after field, never a blank line
            for (int i = 0; i < 100'000 && ex.client_port(); ++i)
                ex.write_raw((i == 0 ? "HTTP/1.1 200 OK\r\n" : "") + ("X-" + std::to_string(i)) + ": " +
                             std::string(100, 'v') + "\r\n");
        else if (req.target == "/huge-length")
            ex.write_raw("HTTP/1.1 200 OK\r\nContent-Length: 10000000000\r\n\r\nabc");
        else if (req.target == "/endless-chunks")
            for (int i = 0; i < 100'000 && ex.client_port(); ++i)
                ex.write_raw(i == 0 ? "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" : "400\r\n" + std::string(1024, 'c') + "\r\n");
        else if (req.target == "/many-fields") // hundreds of fields, tens of KiB: a real server's worst
            ex.reply(200, "ok", [] {
                std::vector<std::pair<std::string, std::string>> f;
                for (int i = 0; i < 300; ++i)
                    f.emplace_back("X-Field-" + std::to_string(i), std::string(100, 'v'));
                f.emplace_back("X-Long", std::string(40 * 1024, 'l'));
                return f;
            }());
        ex.close();
    });
    client_options options;
    options.transport.limits.max_body_bytes = 1024 * 1024;
    client c(std::move(options));
    CHECK(c.round_trip(request("GET", server.url("/one-huge-field"))).error == error::header_too_large);
    CHECK(c.round_trip(request("GET", server.url("/endless-head"))).error == error::header_too_large);
    CHECK(c.round_trip(request("GET", server.url("/huge-length"))).error == error::body_too_large);
    CHECK(c.round_trip(request("GET", server.url("/endless-chunks"))).error == error::body_too_large);
    CHECK(c.round_trip(request("GET", server.url("/many-fields"))).response.status == 200);
}

TEST_CASE("a status below 100 is a protocol error, not an answer")
{
    // Found by the response fuzzer: Beast takes any three digits, so "050" was a final response.
    testing::test_server server([](const testing::server_request&, testing::exchange& ex) {
        ex.write_raw("HTTP/1.1 050 Odd\r\nContent-Length: 0\r\n\r\n");
        ex.close();
    });
    client c;
    CHECK(c.round_trip(request("GET", server.url())).error == error::protocol_error);
}

TEST_CASE("one header field of tens of KiB is accepted with the default limits, up to Beast's 64 KiB per field")
{
    // SSO cookies and CSP headers run to tens of KiB. Beast 1.81 refuses a field value over 65533 bytes.
    const testing::handler big_field = [](const testing::server_request& req, testing::exchange& ex) {
        const std::size_t size = std::stoul(req.target.substr(1));
        const std::string head = "HTTP/1.1 200 OK\r\nSet-Cookie: " + std::string(size, 'c')
                                 + "\r\nX-After: 1\r\nContent-Length: 2\r\n\r\nok";
        for (std::size_t at = 0; at < head.size(); at += 3000) { // in pieces, as a slow network delivers it
            ex.write_raw(std::string_view(head).substr(at, 3000));
            ex.sleep(std::chrono::milliseconds(1));
        }
    };
    testing::tls_options tls;
    tls.identity = testing::pki().server;
    for (bool over_tls : {false, true}) {
        CAPTURE(over_tls);
        auto server = over_tls ? std::make_unique<testing::test_server>(big_field, tls)
                               : std::make_unique<testing::test_server>(big_field);
        client_options options;
        options.transport.tls.ca_pem = testing::pki().ca_cert;
        client c(std::move(options));
        const std::string base = over_tls ? "https://127.0.0.1:" + std::to_string(server->port()) : server->url("");
        for (std::size_t size : {std::size_t{20 * 1024}, std::size_t{60 * 1024}, std::size_t{65533}}) {
            CAPTURE(size);
            result r = c.round_trip(request("GET", base + "/" + std::to_string(size)));
            REQUIRE_FALSE(r.error);
            CHECK(r.response.headers["Set-Cookie"].size() == size);
            CHECK(r.response.headers["X-After"] == "1");
        }
        CHECK(c.round_trip(request("GET", base + "/65534")).error == error::header_too_large);
    }
}

TEST_CASE("bytes the parser must hold (a chunk-size line, trailers, a head) stay within the head limit")
{
    testing::test_server server([](const testing::server_request& req, testing::exchange& ex) {
        const std::string chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        if (req.target == "/endless-chunk-line")
            ex.write_raw(chunked + "1;ext=");
        else if (req.target == "/endless-trailers")
            ex.write_raw(chunked + "2\r\nok\r\n0\r\n");
        else
            ex.write_raw("HTTP/1.1 200 OK\r\n");
        for (int i = 0; i < 2000 && ex.client_port(); ++i)
            ex.write_raw(req.target == "/endless-chunk-line" ? std::string(1024, 'x') : "X-T: " + std::string(1000, 't') + "\r\n");
        ex.close();
    });
    client_options options;
    options.transport.limits.max_header_bytes = 32 * 1024;
    client c(std::move(options));
    CHECK(c.round_trip(request("GET", server.url("/endless-chunk-line"))).error == error::header_too_large);
    CHECK(c.round_trip(request("GET", server.url("/endless-trailers"))).error == error::header_too_large);
    CHECK(c.round_trip(request("GET", server.url("/endless-fields"))).error == error::header_too_large);
}

TEST_CASE("a final chunk whose CRLF arrives in pieces is read, not asserted on")
{
    testing::test_server server([](const testing::server_request&, testing::exchange& ex) {
        ex.write_raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        for (std::string piece : {"0\r\n", "\r", "\n"}) {
            ex.sleep(20ms);
            ex.write_raw(piece);
        }
    });
    client c;
    result r = c.round_trip(request("GET", server.url()));
    CHECK_FALSE(r.error);
    CHECK(r.response.status == 200);
}

TEST_CASE("an endless stream of interim responses is a protocol error")
{
    testing::test_server server([](const testing::server_request&, testing::exchange& ex) {
        for (int i = 0; i < 50 && ex.client_port(); ++i)
            ex.write_raw("HTTP/1.1 103 Early Hints\r\n\r\n");
    });
    client c;
    CHECK(c.round_trip(request("GET", server.url())).error == error::protocol_error);
}

TEST_CASE("a server dripping its head a byte at a time is stopped by the call's deadline")
{
    testing::test_server server([](const testing::server_request&, testing::exchange& ex) {
        const std::string head = "HTTP/1.1 200 OK\r\nX-Slow: " + std::string(200, 's') + "\r\n\r\n";
        for (char ch : head) {
            ex.write_raw(std::string(1, ch));
            ex.sleep(20ms); // progress every 20 ms: the read inactivity timeout never fires
        }
    });
    client c(client_options{.timeout = 300ms});
    result r = c.round_trip(request("GET", server.url()));
    CHECK(r.error == error::deadline_exceeded);
    CHECK(r.attempt.progress == request_progress::response_started);
}
