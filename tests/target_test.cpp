// target_cache: a URL parsed again gives exactly what parse_target gives, while the method and the
// header fields are still checked on every request. No sockets.
#include "target.hpp"

#include <roundtrip/error.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace roundtrip;
using detail::target;
using detail::target_cache;

namespace {

// The fields of a target, with its views copied out, for comparison.
std::string describe(const target& t)
{
    return t.host + "|" + (t.host_is_ip ? t.ip.to_string() : "name") + "|" + std::to_string(t.port) + "|"
           + (t.tls ? "tls" : "plain") + "|" + std::string(t.host_header) + "|" + std::string(t.path);
}

} // namespace

TEST_CASE("a URL parsed again from the cache gives what parsing it gives, its views into the new request")
{
    for (const char* url : {"http://127.0.0.1:8080/a/b?c=d", "https://Example.com/", "http://h", "http://[::1]:81/x",
                            "http://user@host:/p"}) {
        CAPTURE(url);
        target_cache cache;
        target first, again, plain;
        const request one("GET", url);
        REQUIRE_FALSE(cache.parse(one, first));
        const request two("GET", url); // an equal URL in another string
        REQUIRE_FALSE(cache.parse(two, again));
        REQUIRE_FALSE(detail::parse_target(two, plain));
        CHECK(describe(again) == describe(plain));
        CHECK(describe(first) == describe(plain));
        const std::string_view u = two.url;
        CHECK((again.path == "/" || (again.path.data() >= u.data() && again.path.data() < u.data() + u.size())));
    }
}

TEST_CASE("on a cached URL the method and the fields are still checked")
{
    target_cache cache;
    target t;
    REQUIRE_FALSE(cache.parse(request("GET", "http://h/"), t));
    target bad_method, bad_field;
    CHECK(cache.parse(request("G T", "http://h/"), bad_method) == error::invalid_method);
    request with_field("GET", "http://h/");
    with_field.headers.set("X-Bad", "a\r\nb");
    CHECK(cache.parse(with_field, bad_field) == error::invalid_header_value);
}

TEST_CASE("a URL that fails, or whose path had to be built, leaves the cache serving correct answers")
{
    target_cache cache;
    target a, b, c, d;
    REQUIRE_FALSE(cache.parse(request("GET", "http://h/one"), a));
    CHECK(cache.parse(request("GET", "http://h:99999/"), b) == error::invalid_port);
    REQUIRE_FALSE(cache.parse(request("GET", "http://h?q=1"), c)); // the origin form "/?q=1" is built
    CHECK(c.path == "/?q=1");
    REQUIRE_FALSE(cache.parse(request("GET", "http://h?q=1"), d));
    CHECK(d.path == "/?q=1");
    target e;
    const request again("GET", "http://h/one"); // alive while `e` points into its URL
    REQUIRE_FALSE(cache.parse(again, e));
    CHECK(e.path == "/one");
    CHECK(e.host == "h");
}
