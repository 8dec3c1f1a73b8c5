// Request validation: a bad URL, method or header fails before any connection is made, with an
// error in roundtrip's category whose message never echoes the offending value.
#include <roundtrip/testing/recorder.hpp>
#include <roundtrip/testing/test_server.hpp>

#include <roundtrip/body_pipe.hpp>
#include <roundtrip/client.hpp>
#include <roundtrip/error.hpp>

#include <doctest/doctest.h>

using namespace roundtrip;

namespace {

struct rejected {
    error_code error;
    std::string events;
};

rejected send_invalid(testing::test_server& server, request req)
{
    auto events = std::make_shared<testing::recorder>();
    client c(client_options{.observers = {events}});
    result r = c.round_trip(std::move(req));
    CHECK(r.attempt.progress == request_progress::not_sent);
    CHECK(server.requests() == 0);
    CHECK(server.connections() == 0);
    return {r.error, events->names()};
}

} // namespace

TEST_CASE("is_token accepts RFC 9110 tokens only")
{
    CHECK(is_token("GET"));
    CHECK(is_token("X-Custom_1.0~"));
    CHECK_FALSE(is_token(""));
    CHECK_FALSE(is_token("GE T"));
    CHECK_FALSE(is_token("GET\r\n"));
    CHECK_FALSE(is_token(std::string_view("G\0T", 3)));
    CHECK_FALSE(is_token("Na:me"));
}

TEST_CASE("is_field_value rejects CR, LF, NUL and other controls but allows tab and obs-text")
{
    CHECK(is_field_value("text/html; q=0.9"));
    CHECK(is_field_value("a\tb"));
    CHECK(is_field_value("caf\xc3\xa9"));
    CHECK(is_field_value(""));
    CHECK_FALSE(is_field_value("a\r\nInjected: yes"));
    CHECK_FALSE(is_field_value("a\nb"));
    CHECK_FALSE(is_field_value(std::string_view("a\0b", 3)));
    CHECK_FALSE(is_field_value("a\x7f"));
}

TEST_CASE("invalid URLs fail before any connection with invalid_url")
{
    testing::test_server server;
    const std::string port = std::to_string(server.port());
    struct bad {
        std::string url;
        error expected;
    };
    for (const auto& [url, expected] : std::vector<bad>{
             {"", error::invalid_url},
             {"not a url", error::invalid_url},
             {"/relative/path", error::invalid_url},
             {"http://", error::invalid_url},
             {"http:///path", error::invalid_url},
             {"ftp://127.0.0.1:" + port + "/", error::unsupported_scheme},
             {"ws://127.0.0.1:" + port + "/", error::unsupported_scheme},
             {"http://127.0.0.1:0/", error::invalid_port},
             {"http://127.0.0.1:65536/", error::invalid_port},
             {"http://127.0.0.1:99999999/", error::invalid_port},
             // Boost.URL 1.81's port_number() is 0 for some ports past 65535 and wraps others: 99999 meant 34463.
             {"http://127.0.0.1:99999/", error::invalid_port},
             {"http://127.0.0.1:80000/", error::invalid_port},
             {"http://127.0.0.1:65537/", error::invalid_port},
             {"http://127.0.0.1:65616/", error::invalid_port},
             {"http://127.0.0.1:" + std::to_string(server.port() + 65536) + "/", error::invalid_port},
             {"http://127.0.0.1:00000/", error::invalid_port},
             {"http://ex%00ample.com/", error::invalid_url},
             {"http://ex%0D%0Aample.com/", error::invalid_url},
             {"http://ex%20ample.com/", error::invalid_url},
             {"http://good.com%2Fevil.com/", error::invalid_url},
             // Found by the request fuzzer: Boost.URL 1.81 reads ")/a" as the path after the port.
             {"http://127.0.0.1:" + port + ")/a", error::invalid_url},
             {"http://127.0.0.1:" + port + "/a b", error::invalid_url},
             {"http://127.0.0.1:" + port + "/a\r\nX: y", error::invalid_url},
             {std::string("http://127.0.0.1:") + port + std::string("/a\0b", 4), error::invalid_url},
         }) {
        CAPTURE(url);
        auto r = send_invalid(server, request("GET", url));
        CHECK(r.error == expected);
        CHECK(r.error == condition::invalid_url);
        CHECK(r.events == "call_start call_done");
    }
}

TEST_CASE("an empty port is the scheme's default, not an error (RFC 3986, section 3.2.3)")
{
    client c;
    request req("GET", "http://127.0.0.1:/");
    req.timeout = std::chrono::seconds(2);
    result r = c.round_trip(req); // nothing need listen on port 80: only the kind of failure matters
    CHECK(r.error != condition::invalid_url);
}

TEST_CASE("an invalid method fails with invalid_method before any connection")
{
    testing::test_server server;
    for (const std::string& method : std::vector<std::string>{"", "GET /evil HTTP/1.1\r\n", "G T", std::string("GE\0T", 4), "GET\n"}) {
        CAPTURE(method);
        auto r = send_invalid(server, request(method, server.url()));
        CHECK(r.error == error::invalid_method);
        CHECK(r.error == condition::invalid_method);
    }
}

TEST_CASE("CR, LF or NUL in a header name or value fails with invalid_header, without echoing it")
{
    testing::test_server server;
    const std::string secret = "Bearer s3cr3t";

    request bad_value("GET", server.url());
    bad_value.headers.set("Authorization", secret + "\r\nX-Injected: 1");
    auto r = send_invalid(server, bad_value);
    CHECK(r.error == error::invalid_header_value);
    CHECK(r.error == condition::invalid_header);
    CHECK(r.error.message().find("s3cr3t") == std::string::npos);
    CHECK(r.error.what().find("s3cr3t") == std::string::npos);

    request nul_value("GET", server.url());
    nul_value.headers.set("X-Token", std::string("a\0b", 3));
    CHECK(send_invalid(server, nul_value).error == error::invalid_header_value);

    request bad_name("GET", server.url());
    bad_name.headers.set("X-Bad Name", "v");
    CHECK(send_invalid(server, bad_name).error == error::invalid_header_name);

    request crlf_name("GET", server.url());
    crlf_name.headers.set("X-A\r\nX-B", "v");
    CHECK(send_invalid(server, crlf_name).error == error::invalid_header_name);
}

TEST_CASE("a valid request reaches the server with Host, same-named headers in order, and Content-Length")
{
    testing::server_request seen;
    testing::test_server server([&](const testing::server_request& req, testing::exchange& ex) {
        seen = req;
        ex.reply(201, "made");
    });
    client c;
    request req("POST", server.url("/items?x=1&y=%20"));
    req.headers.insert("X-First", "1");
    req.headers.insert("X-Second", "2");
    req.headers.insert("X-First", "3");
    req.headers.set("Content-Length", "999"); // framing is the transport's: this one is dropped
    req.body = "payload";
    response resp = c.send(req);
    CHECK(resp.status == 201);
    CHECK(resp.body == "made");
    CHECK(resp.headers["Content-Length"] == "4");
    CHECK(seen.method == "POST");
    CHECK(seen.target == "/items?x=1&y=%20");
    CHECK(seen.body == "payload");
    CHECK(seen.headers["Host"] == "127.0.0.1:" + std::to_string(server.port()));
    CHECK(seen.headers["Content-Length"] == "7");
    std::vector<std::string> order;
    for (const auto& f : seen.headers)
        if (f.name_string().starts_with("X-"))
            order.push_back(std::string(f.name_string()) + "=" + std::string(f.value()));
    // Beast keeps fields of one name together, each name in insertion order (RFC 9110, section 5.3:
    // only the order of same-named fields carries meaning).
    CHECK(order == std::vector<std::string>{"X-First=1", "X-First=3", "X-Second=2"});
}

TEST_CASE("a URL without a path is sent as \"/\", and user info is never sent")
{
    std::string target, authorization = "none", host;
    testing::test_server server([&](const testing::server_request& req, testing::exchange& ex) {
        target = req.target;
        host = std::string(req.headers["Host"]);
        if (req.headers.count("Authorization"))
            authorization = std::string(req.headers["Authorization"]);
        ex.reply(200);
    });
    client c;
    CHECK(c.send(request("GET", "http://user:pw@127.0.0.1:" + std::to_string(server.port()))).status == 200);
    CHECK(target == "/");
    CHECK(host == "127.0.0.1:" + std::to_string(server.port()));
    CHECK(authorization == "none");
    CHECK(c.send(request("GET", "http://127.0.0.1:" + std::to_string(server.port()) + "?q=1")).status == 200);
    CHECK(target == "/?q=1");
}

TEST_CASE("an IPv6 literal URL reaches a server on ::1 with a bracketed Host")
{
    std::string host;
    testing::test_server server(
        [&](const testing::server_request& req, testing::exchange& ex) {
            host = std::string(req.headers["Host"]);
            ex.reply(200);
        },
        "::1");
    client c;
    CHECK(c.send(request("GET", server.url("/v6"))).status == 200);
    CHECK(host == "[::1]:" + std::to_string(server.port()));
}

TEST_CASE("origin_of gives scheme, host and port as the transport dials them")
{
    CHECK(origin_of(request("GET", "https://user:pw@Example.com/a?b")) == origin{"https", "Example.com", 443});
    CHECK(origin_of(request("GET", "http://example.com:8080")) == origin{"http", "example.com", 8080});
    CHECK(origin_of(request("GET", "http://[::1]:81/")) == origin{"http", "::1", 81});
    CHECK(to_string(*origin_of(request("GET", "http://[::1]:81/"))) == "http://[::1]:81");
    CHECK(to_string(*origin_of(request("GET", "https://h/"))) == "https://h:443");
    CHECK_FALSE(origin_of(request("GET", "ftp://h/")));
    CHECK_FALSE(origin_of(request("GET", "not a url")));
    CHECK_FALSE(origin_of(request("GET", "http://h:99999/")));
}

TEST_CASE("a body can be sent again unless it is a body_stream, whatever the method")
{
    request post("POST", "http://h/");
    post.body = "x";
    CHECK(body_is_replayable(post));
    CHECK_FALSE(is_replayable(post)); // the method is not idempotent
    post.body_stream = std::make_shared<body_pipe>();
    CHECK_FALSE(body_is_replayable(post));
}
