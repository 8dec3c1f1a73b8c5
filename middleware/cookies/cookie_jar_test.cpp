// The cookie jar without sockets: RFC 6265's storage and matching rules, dates, limits, the Secure
// rules of RFC 6265bis, public suffixes, the Netscape file format, and concurrent use. Time is
// passed in through the jar's clock.
#include <roundtrip/middleware/cookie_jar.hpp>

#include "cookie_date.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <set>
#include <thread>

using namespace roundtrip;
using namespace std::chrono_literals;
using sys_clock = std::chrono::system_clock;

namespace {

// A jar whose clock the test moves.
struct timed_jar {
    explicit timed_jar(cookie_jar_options o = {})
        : jar([this, o]() mutable {
              o.clock = [this] { return now; };
              return o;
          }())
    {
    }
    sys_clock::time_point now = sys_clock::time_point(std::chrono::seconds(1'700'000'000)); // Nov 2023
    cookie_jar jar;
};

sys_clock::time_point utc(int y, unsigned m, unsigned d, int hh, int mm, int ss)
{
    return std::chrono::sys_days(std::chrono::year(y) / m / d) + std::chrono::hours(hh) + std::chrono::minutes(mm)
           + std::chrono::seconds(ss);
}

} // namespace

TEST_CASE("cookie dates in the formats servers send, and what is not one")
{
    using roundtrip::cookies_detail::parse_cookie_date;
    CHECK(parse_cookie_date("Wed, 21 Oct 2015 07:28:00 GMT") == utc(2015, 10, 21, 7, 28, 0));
    CHECK(parse_cookie_date("Sunday, 06-Nov-94 08:49:37 GMT") == utc(1994, 11, 6, 8, 49, 37));
    CHECK(parse_cookie_date("Sun Nov  6 08:49:37 1994") == utc(1994, 11, 6, 8, 49, 37));
    CHECK(parse_cookie_date("Thu, 01-Jan-2037 00:00:01 GMT") == utc(2037, 1, 1, 0, 0, 1));
    CHECK(parse_cookie_date("1 jan 69 1:2:3") == utc(2069, 1, 1, 1, 2, 3)); // two-digit years: 69 is 2069, 70 is 1970
    CHECK(parse_cookie_date("1 jan 70 1:2:3") == utc(1970, 1, 1, 1, 2, 3));
    CHECK_FALSE(parse_cookie_date(""));
    CHECK_FALSE(parse_cookie_date("tomorrow"));
    CHECK_FALSE(parse_cookie_date("Wed, 31 Feb 2015 07:28:00 GMT")); // no such day
    CHECK_FALSE(parse_cookie_date("Wed, 21 Oct 2015 24:00:00 GMT"));
    CHECK_FALSE(parse_cookie_date("Wed, 21 Oct 1600 07:28:00 GMT"));
    CHECK_FALSE(parse_cookie_date("Wed, 21 2015 07:28:00 GMT")); // no month
    // Past the clock's range (2262 in libstdc++): the latest time it holds, not an overflow.
    CHECK(parse_cookie_date("Fri, 31 Dec 9999 23:59:59 GMT") == sys_clock::time_point::max());
}

TEST_CASE("far-future dates and huge Max-Age keep a cookie rather than overflow into the past")
{
    timed_jar t;
    CHECK_FALSE(t.jar.set_cookie("http://h.test/", "y9999=1; Expires=Fri, 31 Dec 9999 23:59:59 GMT"));
    CHECK_FALSE(t.jar.set_cookie("http://h.test/", "huge=1; Max-Age=9000000000"));
    CHECK_FALSE(t.jar.set_cookie("http://h.test/", "huger=1; Max-Age=99999999999999999999999"));
    CHECK(t.jar.cookie_header("http://h.test/") == "y9999=1; huge=1; huger=1");
    t.now += std::chrono::hours(24 * 365 * 200);
    CHECK(t.jar.cookie_header("http://h.test/") == "y9999=1; huge=1; huger=1");
}

TEST_CASE("a host-only cookie goes back to its host; a Domain cookie to the domain and its subdomains")
{
    timed_jar t;
    CHECK_FALSE(t.jar.set_cookie("http://www.example.test/", "host=1"));
    CHECK_FALSE(t.jar.set_cookie("http://www.example.test/", "dom=2; Domain=.Example.TEST"));
    CHECK(t.jar.cookie_header("http://www.example.test/") == "host=1; dom=2");
    CHECK(t.jar.cookie_header("http://api.example.test/") == "dom=2");
    CHECK(t.jar.cookie_header("http://example.test/") == "dom=2");
    CHECK(t.jar.cookie_header("http://deep.www.example.test/") == "dom=2");
    CHECK(t.jar.cookie_header("http://badexample.test/") == "");
    CHECK(t.jar.cookie_header("http://www.example.test:8443/") == "host=1; dom=2"); // ports do not matter
    CHECK(t.jar.set_cookie("http://www.example.test/", "x=1; Domain=other.test") == cookie_refusal::domain_mismatch);
    CHECK(t.jar.set_cookie("http://www.example.test/", "x=1; Domain=deep.www.example.test")
          == cookie_refusal::domain_mismatch);
}

TEST_CASE("a public suffix is no cookie domain, unless it is the host itself")
{
    timed_jar t;
    CHECK(t.jar.set_cookie("http://shop.co.uk/", "x=1; Domain=co.uk") == cookie_refusal::public_suffix);
    CHECK(t.jar.set_cookie("http://a.example.com/", "x=1; Domain=com") == cookie_refusal::public_suffix);
    CHECK(t.jar.set_cookie("https://me.github.io/", "x=1; Domain=github.io") == cookie_refusal::public_suffix);
    CHECK_FALSE(t.jar.set_cookie("http://shop.co.uk/", "ok=1; Domain=shop.co.uk"));
    CHECK(t.jar.cookie_header("http://www.shop.co.uk/") == "ok=1");
    // Domain=localhost from localhost: a host-only cookie.
    CHECK_FALSE(t.jar.set_cookie("http://localhost/", "local=1; Domain=localhost"));
    CHECK(t.jar.cookie_header("http://localhost/") == "local=1");
    for (const cookie& c : t.jar.cookies())
        if (c.name == "local")
            CHECK(c.host_only);
    // A trailing dot names the same host and the same suffix (curl's CVE-2022-27779).
    CHECK(t.jar.set_cookie("http://evil.co.uk./", "toss=1; Domain=co.uk.") == cookie_refusal::public_suffix);
    CHECK(t.jar.set_cookie("http://evil.co.uk./", "toss=1; Domain=co.uk") == cookie_refusal::public_suffix);
    CHECK_FALSE(t.jar.set_cookie("http://Shop.Example.COM./", "dotted=1; Domain=example.com."));
    CHECK(t.jar.cookie_header("http://www.example.com/") == "dotted=1");
    CHECK(t.jar.cookie_header("http://bank.co.uk./") == "");
    // With the check off (names that are not real), the suffix is a domain like any other.
    timed_jar lax(cookie_jar_options{.reject_public_suffixes = false});
    CHECK_FALSE(lax.jar.set_cookie("http://shop.co.uk/", "x=1; Domain=co.uk"));
}

TEST_CASE("an IP address gets host-only cookies and no parent domains")
{
    timed_jar t;
    CHECK_FALSE(t.jar.set_cookie("http://127.0.0.1:8080/", "a=1"));
    CHECK_FALSE(t.jar.set_cookie("http://[::1]/", "v6=1"));
    CHECK(t.jar.set_cookie("http://127.0.0.1/", "b=1; Domain=0.0.1") == cookie_refusal::domain_mismatch);
    CHECK(t.jar.cookie_header("http://127.0.0.1/") == "a=1");
    CHECK(t.jar.cookie_header("http://[::1]:9/") == "v6=1");
    CHECK(t.jar.cookie_header("http://127.0.0.2/") == "");
    // Names the resolver reads as addresses are addresses: no parent domain of "1.2.3.04".
    CHECK(t.jar.set_cookie("http://1.2.3.04/", "x=1; Domain=3.04") == cookie_refusal::domain_mismatch);
    CHECK_FALSE(t.jar.set_cookie("http://127.1/", "short=1"));
    CHECK(t.jar.cookie_header("http://127.1/") == "short=1");
}

TEST_CASE("paths: the default path, path matching, and longer paths first")
{
    timed_jar t;
    CHECK_FALSE(t.jar.set_cookie("http://h.test/a/b/c", "default=1")); // path /a/b
    CHECK_FALSE(t.jar.set_cookie("http://h.test/x", "root=1; Path=/"));
    t.now += 1s;
    CHECK_FALSE(t.jar.set_cookie("http://h.test/x", "root2=1; Path=/"));
    CHECK_FALSE(t.jar.set_cookie("http://h.test/x", "relative=1; Path=a/b")); // not starting with /: default
    CHECK(t.jar.cookie_header("http://h.test/a/b") == "default=1; root=1; root2=1; relative=1");
    CHECK(t.jar.cookie_header("http://h.test/a/b/d?q") == "default=1; root=1; root2=1; relative=1");
    CHECK(t.jar.cookie_header("http://h.test/a/bc") == "root=1; root2=1; relative=1"); // /a/b is no prefix of it
    CHECK(t.jar.cookie_header("http://h.test/") == "root=1; root2=1; relative=1");
}

TEST_CASE("Secure: only set over https, only sent over https, and never replaced from http")
{
    timed_jar t;
    CHECK(t.jar.set_cookie("http://h.test/", "s=1; Secure") == cookie_refusal::secure_over_http);
    CHECK_FALSE(t.jar.set_cookie("https://h.test/", "s=1; Secure; HttpOnly; SameSite=Strict"));
    CHECK(t.jar.cookie_header("https://h.test/") == "s=1");
    CHECK(t.jar.cookie_header("http://h.test/") == "");
    CHECK(t.jar.set_cookie("http://h.test/", "s=2") == cookie_refusal::overwrites_secure);
    const auto kept = t.jar.cookies();
    REQUIRE(kept.size() == 1);
    CHECK(kept[0].value == "1");
    CHECK(kept[0].http_only);
    CHECK(kept[0].same_site == same_site::strict);
    // The prefixes.
    CHECK(t.jar.set_cookie("https://h.test/", "__Secure-a=1") == cookie_refusal::prefix_rules);
    CHECK_FALSE(t.jar.set_cookie("https://h.test/", "__Secure-a=1; Secure; Domain=h.test"));
    CHECK(t.jar.set_cookie("https://h.test/", "__Host-b=1; Secure; Domain=h.test; Path=/") == cookie_refusal::prefix_rules);
    CHECK(t.jar.set_cookie("https://h.test/x/y", "__Host-b=1; Secure") == cookie_refusal::prefix_rules); // path /x
    CHECK(t.jar.set_cookie("https://h.test/", "__Host-b=1; Secure") == cookie_refusal::prefix_rules); // Path=/ missing
    CHECK_FALSE(t.jar.set_cookie("https://h.test/x/y", "__Host-b=1; Secure; Path=/"));
    // Nor from a parent domain that is a public suffix, whose subdomains are sites of their own.
    timed_jar lax(cookie_jar_options{.reject_public_suffixes = false});
    CHECK_FALSE(lax.jar.set_cookie("https://a.test/", "sid=good; Secure"));
    CHECK(lax.jar.set_cookie("http://b.test/", "sid=evil; Domain=test") == cookie_refusal::overwrites_secure);
    CHECK(lax.jar.cookie_header("https://a.test/") == "sid=good");
}

TEST_CASE("Max-Age and Expires: persistent cookies expire, a past date deletes, Max-Age wins")
{
    timed_jar t;
    CHECK_FALSE(t.jar.set_cookie("http://h.test/", "short=1; Max-Age=60"));
    CHECK_FALSE(t.jar.set_cookie("http://h.test/", "dated=1; Expires=Wed, 21 Oct 2099 07:28:00 GMT; Max-Age=120"));
    CHECK_FALSE(t.jar.set_cookie("http://h.test/", "session=1"));
    CHECK_FALSE(t.jar.set_cookie("http://h.test/", "bad=1; Max-Age=soon"));
    CHECK(t.jar.cookie_header("http://h.test/") == "short=1; dated=1; session=1; bad=1");
    t.now += 61s;
    CHECK(t.jar.cookie_header("http://h.test/") == "dated=1; session=1; bad=1");
    t.now += 60s; // Max-Age=120 won over the 2099 date
    CHECK(t.jar.cookie_header("http://h.test/") == "session=1; bad=1");
    CHECK_FALSE(t.jar.set_cookie("http://h.test/", "session=x; Expires=Thu, 01 Jan 1970 00:00:00 GMT"));
    CHECK_FALSE(t.jar.set_cookie("http://h.test/", "bad=x; Max-Age=0"));
    CHECK(t.jar.cookie_header("http://h.test/") == "");
    CHECK(t.jar.cookies().empty());
}

TEST_CASE("a replaced cookie keeps its place; malformed ones are refused")
{
    timed_jar t;
    CHECK_FALSE(t.jar.set_cookie("http://h.test/", "a=1"));
    t.now += 1s;
    CHECK_FALSE(t.jar.set_cookie("http://h.test/", "b=1"));
    t.now += 1s;
    CHECK_FALSE(t.jar.set_cookie("http://h.test/", " a = 2 ")); // trimmed; keeps a's creation time
    CHECK(t.jar.cookie_header("http://h.test/") == "a=2; b=1");
    CHECK_FALSE(t.jar.set_cookie("http://h.test/", "empty="));
    CHECK(t.jar.cookie_header("http://h.test/") == "a=2; b=1; empty=");
    CHECK(t.jar.set_cookie("http://h.test/", "novalue") == cookie_refusal::invalid);
    CHECK(t.jar.set_cookie("http://h.test/", "=v") == cookie_refusal::invalid);
    CHECK(t.jar.set_cookie("http://h.test/", std::string("a\x01=1")) == cookie_refusal::invalid);
    CHECK(t.jar.set_cookie("http://h.test/", "tab=a\tb") == cookie_refusal::invalid); // the file's separator
    CHECK_FALSE(t.jar.set_cookie("http://h.test/x/y", "p=1; Path=/\tFALSE")); // an attribute so: ignored
    CHECK(t.jar.cookie_header("http://h.test/x/").starts_with("p=1; ")); // the default path, /x: longest first
    // A path from the URL is held to the attribute bound (1024 bytes).
    CHECK(t.jar.set_cookie("http://h.test/" + std::string(2000, 'p') + "/x", "long=1") == cookie_refusal::too_large);
    CHECK(t.jar.set_cookie("not a url", "a=1") == cookie_refusal::invalid);
}

TEST_CASE("the limits of RFC 6265 section 6.1: 4096 bytes a cookie, 50 a domain, 3000 in all")
{
    timed_jar t;
    CHECK(t.jar.set_cookie("http://h.test/", "n=" + std::string(4096, 'v')) == cookie_refusal::too_large);
    CHECK_FALSE(t.jar.set_cookie("http://h.test/", "n=" + std::string(4095, 'v'))); // name and value: 4096
    t.jar.clear();
    // Each on a path of its own, so that a request uses one: c0 is used last, so c1 is the least
    // recently used when a 51st arrives.
    for (int i = 0; i < 50; ++i) {
        t.now += 1s;
        REQUIRE_FALSE(t.jar.set_cookie("http://h.test/", "c" + std::to_string(i) + "=1; Path=/p" + std::to_string(i)));
    }
    t.now += 1s;
    CHECK(t.jar.cookie_header("http://h.test/p0") == "c0=1");
    t.now += 1s;
    CHECK_FALSE(t.jar.set_cookie("http://h.test/", "c50=1"));
    std::set<std::string> names;
    for (const cookie& c : t.jar.cookies())
        names.insert(c.name);
    CHECK(names.size() == 50);
    CHECK(names.count("c0") == 1);
    CHECK(names.count("c1") == 0);
    CHECK(names.count("c50") == 1);

    timed_jar small(cookie_jar_options{.max_cookies = 3});
    for (const char* host : {"a.test", "b.test", "c.test", "d.test"}) {
        small.now += 1s;
        REQUIRE_FALSE(small.jar.set_cookie(std::string("http://") + host + "/", "x=1"));
    }
    const auto left = small.jar.cookies();
    REQUIRE(left.size() == 3);
    CHECK(left[0].domain == "b.test"); // a.test's, least recently used, went
}

TEST_CASE("the Netscape cookie file: curl's lines load, and what is saved loads back the same")
{
    timed_jar t;
    const std::string curl_file = "# Netscape HTTP Cookie File\n"
                                  "# https://curl.se/docs/http-cookies.html\n"
                                  "\n"
                                  ".example.test\tTRUE\t/\tFALSE\t0\tsession\tabc\n"
                                  "www.example.test\tfalse\t/app\tTRUE\t4102444800\tpersistent\tv=1\n"
                                  "  far.test\tFALSE\t/\tFALSE\t253402300799\tyear9999\t1\n" // curl's bound
                                  "tabs.test\tFALSE\t/\tFALSE\t0\ttoo\tmany\tfields\n"
                                  "#HttpOnly_example.test\tFALSE\t/\tFALSE\t0\thidden\t1\r\n"
                                  "old.test\tFALSE\t/\tFALSE\t1000\texpired\t1\n"
                                  "broken line\n"
                                  "empty.test\tFALSE\t/\tFALSE\t0\tnovalue\n";
    CHECK(t.jar.load_netscape(curl_file) == 5);
    CHECK(t.jar.cookie_header("http://api.example.test/") == "session=abc");
    CHECK(t.jar.cookie_header("https://www.example.test/app/x") == "persistent=v=1; session=abc");
    CHECK(t.jar.cookie_header("http://far.test/") == "year9999=1");
    CHECK(t.jar.cookie_header("http://example.test/") == "session=abc; hidden=1");
    CHECK(t.jar.cookie_header("http://empty.test/") == "novalue=");
    const auto loaded = t.jar.cookies();
    const std::string saved = t.jar.save_netscape();
    CHECK(saved.find("#HttpOnly_example.test\tFALSE\t/\tFALSE\t0\thidden\t1\n") != std::string::npos);
    CHECK(saved.find(".example.test\tTRUE\t/\tFALSE\t0\tsession\tabc\n") != std::string::npos);
    CHECK(saved.find("www.example.test\tFALSE\t/app\tTRUE\t4102444800\tpersistent\tv=1\n") != std::string::npos);
    // A date past what the clock holds (2262 in libstdc++) is saved as the latest it holds.
    CHECK(saved.find("far.test\tFALSE\t/\tFALSE\t9223372036\tyear9999\t1\n") != std::string::npos);
    timed_jar again;
    CHECK(again.jar.load_netscape(saved) == 5);
    const auto reloaded = again.jar.cookies();
    REQUIRE(reloaded.size() == loaded.size());
    for (std::size_t i = 0; i < loaded.size(); ++i) {
        CHECK(reloaded[i].name == loaded[i].name);
        CHECK(reloaded[i].value == loaded[i].value);
        CHECK(reloaded[i].domain == loaded[i].domain);
        CHECK(reloaded[i].host_only == loaded[i].host_only);
        CHECK(reloaded[i].secure == loaded[i].secure);
        CHECK(reloaded[i].http_only == loaded[i].http_only);
        CHECK(reloaded[i].expires == loaded[i].expires);
    }
}

TEST_CASE("threads share a jar: setting, sending, listing, saving and loading at once")
{
    cookie_jar jar;
    std::vector<std::thread> threads;
    for (int th = 0; th < 4; ++th)
        threads.emplace_back([&, th] {
            for (int i = 0; i < 200; ++i) {
                const std::string name = "t" + std::to_string(th) + "_" + std::to_string(i % 10);
                jar.set_cookie("http://h" + std::to_string(th % 2) + ".test/", name + "=" + std::to_string(i));
                (void)jar.cookie_header("http://h0.test/");
                if (i % 20 == 0) {
                    (void)jar.cookies();
                    (void)jar.load_netscape(jar.save_netscape());
                }
            }
        });
    for (auto& t : threads)
        t.join();
    const auto all = jar.cookies();
    CHECK(all.size() == 40);
    for (const cookie& c : all) // each ends with its thread's last value
        CHECK(c.value.substr(c.value.size() - 1) == c.name.substr(c.name.size() - 1));
}

TEST_CASE("insert takes a cookie as loaded, a leading dot on its domain dropped")
{
    timed_jar t;
    t.jar.insert(cookie{.name = "a", .value = "1", .domain = ".Example.test", .host_only = false});
    CHECK(t.jar.cookie_header("http://www.example.test/") == "a=1");
}
