// The DNS cache's bookkeeping, with times passed in: how long answers and failures are kept, what is
// never kept, and which name goes first when it is full.
#include "dns_cache.hpp"

#include <doctest/doctest.h>

using namespace roundtrip;
using namespace roundtrip::detail;
using namespace std::chrono_literals;

namespace {

const clock::time_point t0{std::chrono::hours(1)};

dns_cache::answer found(const char* address)
{
    return {{}, {asio::ip::make_address(address)}};
}

} // namespace

TEST_CASE("an answer is kept for the ttl, then looked up again")
{
    dns_cache_options o; // 60 s
    dns_cache cache(o);
    CHECK_FALSE(cache.find("api.test", t0));
    cache.store("api.test", found("10.0.0.1"), t0);
    auto kept = cache.find("api.test", t0 + 59s);
    REQUIRE(kept);
    CHECK_FALSE(kept->error);
    CHECK(kept->addresses == std::vector{asio::ip::make_address("10.0.0.1")});
    CHECK_FALSE(cache.find("api.test", t0 + 60s));
    CHECK(cache.size() == 0); // dropped when found expired
}

TEST_CASE("a failure is kept for the failure ttl; a cancelled or timed-out lookup is not kept")
{
    dns_cache_options o;
    dns_cache cache(o);
    cache.store("gone.test", {error::host_not_found, {}}, t0);
    cache.store("flaky.test", {error::dns_failed, {}}, t0);
    auto kept = cache.find("gone.test", t0 + 999ms);
    REQUIRE(kept);
    CHECK(kept->error == error::host_not_found);
    CHECK(cache.find("flaky.test", t0 + 500ms));
    CHECK_FALSE(cache.find("gone.test", t0 + 1s));

    cache.store("api.test", found("10.0.0.1"), t0);
    cache.store("api.test", {error::canceled, {}}, t0 + 1s);        // says nothing about the name
    cache.store("api.test", {error::connect_timeout, {}}, t0 + 2s); // nor does this
    auto still = cache.find("api.test", t0 + 3s);
    REQUIRE(still);
    CHECK_FALSE(still->error);
}

TEST_CASE("a ttl of 0 keeps nothing, for answers and failures apart")
{
    dns_cache_options o;
    o.ttl = 0s;
    dns_cache cache(o);
    cache.store("api.test", found("10.0.0.1"), t0);
    CHECK_FALSE(cache.find("api.test", t0));
    cache.store("gone.test", {error::host_not_found, {}}, t0); // failure_ttl still 1 s
    CHECK(cache.find("gone.test", t0));

    o.ttl = 60s;
    o.failure_ttl = 0s;
    cache.store("gone2.test", {error::host_not_found, {}}, t0);
    CHECK_FALSE(cache.find("gone2.test", t0));
}

TEST_CASE("a newer answer replaces the older one, with its own time")
{
    dns_cache_options o;
    dns_cache cache(o);
    cache.store("api.test", found("10.0.0.1"), t0);
    cache.store("api.test", found("10.0.0.2"), t0 + 30s);
    auto kept = cache.find("api.test", t0 + 80s);
    REQUIRE(kept);
    CHECK(kept->addresses == std::vector{asio::ip::make_address("10.0.0.2")});
    CHECK(cache.size() == 1);
}

TEST_CASE("when full, the least recently used name is dropped; a find counts as a use")
{
    dns_cache_options o;
    o.max_names = 3;
    dns_cache cache(o);
    cache.store("a.test", found("10.0.0.1"), t0);
    cache.store("b.test", found("10.0.0.2"), t0);
    cache.store("c.test", found("10.0.0.3"), t0);
    CHECK(cache.find("a.test", t0 + 1s)); // b is now the least recently used
    cache.store("d.test", found("10.0.0.4"), t0 + 2s);
    CHECK(cache.size() == 3);
    CHECK_FALSE(cache.find("b.test", t0 + 3s));
    CHECK(cache.find("a.test", t0 + 3s));
    CHECK(cache.find("c.test", t0 + 3s));
    CHECK(cache.find("d.test", t0 + 3s));
}

TEST_CASE("forget drops a name at once")
{
    dns_cache_options o;
    dns_cache cache(o);
    cache.store("api.test", found("10.0.0.1"), t0);
    cache.forget("api.test");
    cache.forget("never.test");
    CHECK_FALSE(cache.find("api.test", t0));
    CHECK(cache.size() == 0);
}
