// The redirect middleware over the fake transport: resolution, the method rules, credentials across
// origins, downgrades, bodies that cannot be sent again, loops and limits, the policy hook, events.
#include <roundtrip/middleware/redirect.hpp>
#include <roundtrip/middleware/retry.hpp>

#include <roundtrip/body_pipe.hpp>
#include <roundtrip/client.hpp>
#include <roundtrip/testing/fake_transport.hpp>
#include <roundtrip/testing/recorder.hpp>
#include <roundtrip/testing/test_server.hpp>

#include <doctest/doctest.h>

#include <map>

using namespace roundtrip;

namespace {

// A client with the redirect middleware over a fake that answers each URL from a table: a 3xx with
// its Location, or 200 with the URL as the body.
struct rig {
    explicit rig(redirect_options o = {}) : c(client_options{.middleware = {redirect(std::move(o))},
                                                               .observers = {events},
                                                               .bottom = fake})
    {
        fake->respond_with([this](const request& req, std::uint32_t) {
            std::lock_guard lock(mutex);
            if (auto it = routes.find(req.url); it != routes.end())
                return testing::answer{.status = it->second.first, .headers = {{"Location", it->second.second}}};
            return testing::answer{.status = 200, .body = req.url};
        });
    }
    void route(std::string from, unsigned status, std::string location)
    {
        std::lock_guard lock(mutex);
        routes[std::move(from)] = {status, std::move(location)};
    }

    std::mutex mutex;
    std::map<std::string, std::pair<unsigned, std::string>> routes; // URL -> status, Location
    std::shared_ptr<testing::recorder> events = std::make_shared<testing::recorder>();
    std::shared_ptr<testing::fake_transport> fake = std::make_shared<testing::fake_transport>();
    client c;
};

} // namespace

TEST_CASE("a Location is resolved against the request's URL, and the response says where it came from")
{
    rig t;
    t.route("http://h.test/a/b?q=1", 302, "../c?d=2");
    t.route("http://h.test/c?d=2", 301, "//other.test:8080/e");
    t.route("http://other.test:8080/e", 308, "http://other.test:8080/g%2Fh;x%3Dy");
    t.route("http://other.test:8080/g%2Fh;x%3Dy", 302, "/f#top");
    const result r = t.c.round_trip(request("GET", "http://h.test/a/b?q=1"));
    REQUIRE_FALSE(r.error);
    CHECK(r.response.status == 200);
    CHECK(r.response.body == "http://other.test:8080/f#top");
    REQUIRE(r.response.final_url);
    CHECK(*r.response.final_url == "http://other.test:8080/f#top");
    std::string last_hop; // where the response came from: the last hop's target
    for (const auto& e : t.events->events())
        if (e.name == "redirect_followed")
            last_hop = e.described;
    CHECK(last_hop.find(" hop=4 ") != std::string::npos);
    CHECK(last_hop.find(" to=http://other.test:8080/f#top ") != std::string::npos);
    CHECK(t.fake->requests().size() == 5);
    CHECK(t.fake->requests().at(3).url == "http://other.test:8080/g%2Fh;x%3Dy"); // an absolute Location as sent
    CHECK(r.attempt.attempts == 5);
    const auto* hop = t.events->first<redirect_followed>();
    REQUIRE(hop);
    CHECK(hop->status == 302);
    CHECK(hop->hop == 1);
    CHECK(t.events->describe_first("redirect_followed")
          == "redirect_followed status=302 hop=1 from=http://h.test/a/b?q=1 to=http://h.test/c?d=2 "
             "to_origin=http://h.test:80 cross_origin=false method_changed=false");
}

TEST_CASE("a relative Location is resolved as RFC 3986 says, its encoding kept as sent")
{
    const std::string base = "http://h.test/dir/sub/page?x=1";
    const std::pair<std::string, std::string> cases[] = {
        {"../a%2Fb", "http://h.test/dir/a%2Fb"}, // never decoded into another path
        {"c%2e%2e/d", "http://h.test/dir/sub/c%2e%2e/d"},
        {"x;p%3Dq?s=%41", "http://h.test/dir/sub/x;p%3Dq?s=%41"},
        {"//h2.test/%7Euser", "http://h2.test/%7Euser"},
        {"/x/./y/../z", "http://h.test/x/z"},
        {"g;x=1/../y", "http://h.test/dir/sub/y"},
        {"../../../../up", "http://h.test/up"},
        {"?q=2", "http://h.test/dir/sub/page?q=2"},
        {".", "http://h.test/dir/sub/"},
        {"..", "http://h.test/dir/"},
        {"#frag", "http://h.test/dir/sub/page?x=1#frag"},
        {"http://h2.test/a/../b/./c", "http://h2.test/b/c"}, // an absolute one's dots go too, as in Go
        {"HTTP://h2.test/%2F", "HTTP://h2.test/%2F"},
    };
    for (const auto& [location, expected] : cases) {
        CAPTURE(location);
        rig t;
        t.route(base, 302, location);
        const result r = t.c.round_trip(request("GET", base));
        REQUIRE_FALSE(r.error);
        CHECK(r.response.body == expected);
    }
}

TEST_CASE("the README's sample: redirect above retry")
{
    testing::test_server server([](const testing::server_request& req, testing::exchange& ex) {
        if (req.target == "/old")
            return ex.reply(301, "", {{"Location", "/new"}});
        ex.reply(200, "new");
    });
    // [doc-sample redirect-readme]
    roundtrip::client client({.middleware = {roundtrip::redirect(), roundtrip::retry()}});
    // [end doc-sample]
    const response r = client.send({"GET", server.url("/old")});
    CHECK(r.body == "new");
}

TEST_CASE("a response that is not a redirect is returned as it is")
{
    rig t;
    const result r = t.c.round_trip(request("GET", "http://h.test/"));
    CHECK(r.response.status == 200);
    CHECK(t.events->first<redirect_followed>() == nullptr);
    CHECK_FALSE(r.response.final_url);
}

TEST_CASE("301, 302 and 303 turn a POST into a GET without its body; 307 and 308 keep both")
{
    for (unsigned status : {301u, 302u, 303u, 307u, 308u}) {
        CAPTURE(status);
        rig t;
        t.route("http://h.test/form", status, "/done");
        request post("POST", "http://h.test/form");
        post.body = "a=1";
        post.headers.set("Content-Type", "application/x-www-form-urlencoded");
        post.headers.set("X-Keep", "yes");
        REQUIRE_FALSE(t.c.round_trip(post).error);
        const auto sent = t.fake->requests();
        REQUIRE(sent.size() == 2);
        const bool keeps = status == 307 || status == 308;
        CHECK(sent[1].method == (keeps ? "POST" : "GET"));
        CHECK(sent[1].body == (keeps ? "a=1" : ""));
        CHECK((sent[1].headers.count("Content-Type") == 1) == keeps);
        CHECK(sent[1].headers["X-Keep"] == "yes");
    }
    { // a GET's body (a stream, read by the first hop) is not sent again after a 302
        rig g;
        g.route("http://h.test/g", 302, "/h");
        request get("GET", "http://h.test/g");
        auto pipe = std::make_shared<body_pipe>(0);
        pipe->close();
        get.body_stream = pipe;
        REQUIRE_FALSE(g.c.round_trip(std::move(get)).error);
        CHECK(g.fake->requests().at(1).method == "GET");
        CHECK(g.fake->requests().at(1).body.empty());
    }
    rig t; // HEAD stays HEAD, even after a 303
    t.route("http://h.test/x", 303, "/y");
    REQUIRE_FALSE(t.c.round_trip(request("HEAD", "http://h.test/x")).error);
    CHECK(t.fake->requests().at(1).method == "HEAD");
}

TEST_CASE("a 307 whose body cannot be sent again is returned, with the reason")
{
    rig t;
    t.route("http://h.test/upload", 307, "/elsewhere");
    request put("PUT", "http://h.test/upload");
    auto pipe = std::make_shared<body_pipe>(0); // a stream, though empty: it cannot be sent again
    pipe->close();
    put.body_stream = pipe;
    const result r = t.c.round_trip(std::move(put));
    REQUIRE_FALSE(r.error);
    CHECK(r.response.status == 307);
    CHECK(t.fake->requests().size() == 1);
    CHECK(t.events->describe_first("redirect_refused") == "redirect_refused status=307 reason=body_not_replayable");
}

TEST_CASE("credentials stay with their origin; https to http is refused unless allowed")
{
    SUBCASE("cross origin")
    {
        rig t({.sensitive_headers = {"X-Api-Secret"}});
        t.route("https://a.test/", 302, "https://b.test/");
        request req("GET", "https://a.test/");
        req.headers.set("Authorization", "Bearer t");
        req.headers.set("Cookie", "s=1");
        req.headers.set("Proxy-Authorization", "Basic x");
        req.headers.set("X-Api-Secret", "k");
        req.headers.set("Accept", "text/plain");
        req.headers.set("Host", "a.test");
        REQUIRE_FALSE(t.c.round_trip(req).error);
        const auto next = t.fake->requests().at(1).headers;
        for (const auto name : {"Authorization", "Cookie", "Proxy-Authorization", "X-Api-Secret", "Host"})
            CHECK(next.count(name) == 0);
        CHECK(next["Accept"] == "text/plain");
        CHECK(t.events->first<redirect_followed>()->cross_origin);
        // The URLs are shown through the redaction policy.
        rig u;
        u.route("https://user:pw@a.test/?sig=s3cret", 302, "https://b.test/?access_token=t0ken");
        REQUIRE_FALSE(u.c.round_trip(request("GET", "https://user:pw@a.test/?sig=s3cret")).error);
        const auto line = u.events->describe_first("redirect_followed");
        CHECK(line.find("s3cret") == std::string::npos);
        CHECK(line.find("t0ken") == std::string::npos);
        CHECK(line.find("pw@") == std::string::npos);
        CHECK(line.find("to=https://b.test/?access_token=REDACTED") != std::string::npos);
    }
    SUBCASE("same origin keeps them; another port is another origin")
    {
        rig t;
        t.route("https://a.test/1", 302, "/2");
        t.route("https://a.test/2", 302, "https://a.test:8443/3");
        request req("GET", "https://a.test/1");
        req.headers.set("Authorization", "Bearer t");
        REQUIRE_FALSE(t.c.round_trip(req).error);
        CHECK(t.fake->requests().at(1).headers["Authorization"] == "Bearer t");
        CHECK(t.fake->requests().at(2).headers.count("Authorization") == 0);
    }
    SUBCASE("downgrade")
    {
        rig t;
        t.route("https://a.test/", 301, "http://a.test/");
        const result r = t.c.round_trip(request("GET", "https://a.test/"));
        CHECK(r.response.status == 301);
        CHECK(t.events->describe_first("redirect_refused") == "redirect_refused status=301 reason=downgrade");
        rig allowed({.allow_downgrade = true});
        allowed.route("https://a.test/", 301, "http://a.test/");
        CHECK(allowed.c.round_trip(request("GET", "https://a.test/")).response.status == 200);
    }
}

TEST_CASE("a redirect loop ends with too_many_redirects after the limit; 0 refuses any; -1 has none")
{
    {
        rig t;
        t.route("http://h.test/loop", 302, "/loop");
        const result r = t.c.round_trip(request("GET", "http://h.test/loop"));
        CHECK(r.error == redirect_error::too_many_redirects);
        CHECK(error_class(r.error) == "too_many_redirects");
        CHECK(t.fake->requests().size() == 11); // the first and 10 redirects
    }
    {
        rig t({.max_redirects = 0});
        t.route("http://h.test/", 302, "/x");
        CHECK(t.c.round_trip(request("GET", "http://h.test/")).error == redirect_error::too_many_redirects);
        CHECK(t.fake->requests().size() == 1);
    }
    {
        rig t({.max_redirects = -1});
        for (int i = 0; i < 30; ++i)
            t.route("http://h.test/" + std::to_string(i), 302, "/" + std::to_string(i + 1));
        const result r = t.c.round_trip(request("GET", "http://h.test/0"));
        CHECK(r.response.body == "http://h.test/30");
    }
}

TEST_CASE("no Location, an unusable Location and the policy hook return the 3xx")
{
    rig t({.policy = [](const request& next, unsigned, std::uint32_t) {
        return next.url.find("/stop") != std::string::npos ? redirect_decision::stop : redirect_decision::follow;
    }});
    t.fake->push({.status = 302}); // no Location
    CHECK(t.c.round_trip(request("GET", "http://h.test/none")).response.status == 302);
    t.route("http://h.test/ftp", 302, "ftp://files.test/x");
    CHECK(t.c.round_trip(request("GET", "http://h.test/ftp")).response.status == 302);
    t.route("http://h.test/bad", 302, "http://[::1/");
    CHECK(t.c.round_trip(request("GET", "http://h.test/bad")).response.status == 302);
    t.route("http://h.test/go", 302, "/stop");
    CHECK(t.c.round_trip(request("GET", "http://h.test/go")).response.status == 302);
    t.route("http://h.test/empty", 302, "");
    CHECK(t.c.round_trip(request("GET", "http://h.test/empty")).response.status == 302);
    std::string reasons;
    for (const auto& e : t.events->events())
        if (auto r = event_cast<redirect_refused>(e.e))
            reasons += std::string(to_string(r->reason)) + " ";
    CHECK(reasons == "no_location invalid_location invalid_location policy no_location ");

    // A 3xx returned after a hop says where it came from; one returned at once does not.
    t.route("http://h.test/go2", 302, "/go");
    const result after_hop = t.c.round_trip(request("GET", "http://h.test/go2"));
    CHECK(after_hop.response.status == 302);
    REQUIRE(after_hop.response.final_url);
    CHECK(*after_hop.response.final_url == "http://h.test/go");
    CHECK_FALSE(t.c.round_trip(request("GET", "http://h.test/go")).response.final_url);
}

TEST_CASE("a streamed 3xx body is drained, so the next hop reuses its connection")
{
    rig t;
    t.route("http://h.test/a", 302, "/b");
    request req("GET", "http://h.test/a");
    req.stream_response = true;
    result r = t.c.round_trip(std::move(req));
    REQUIRE_FALSE(r.error);
    CHECK(t.fake->connections() == 1);
    r.response.body_stream.close();
}
