// The pool's bookkeeping alone, with plain ints for connections and injected times: reuse order,
// limits, waiters, eviction. No sockets and no sleeps.
#include "pool.hpp"

#include <doctest/doctest.h>

using namespace roundtrip;
using namespace std::chrono_literals;
using book = detail::pool<int>;

namespace {

const clock::time_point t0 = clock::time_point{} + 1000s;

// Opens (dials) and returns a connection `id` of `key` at `now`, as the transport does.
book::put_result open_and_return(book& p, std::string_view key, int id, clock::time_point now)
{
    REQUIRE(p.try_open(key));
    REQUIRE(p.dial_done(key, true) == nullptr);
    return p.put(key, id, now, now);
}

} // namespace

TEST_CASE("the most recently used idle connection is reused first")
{
    pool_options o;
    book p(o);
    open_and_return(p, "h", 1, t0);
    open_and_return(p, "h", 2, t0 + 1s);
    std::vector<book::expired> stale;
    auto first = p.take_idle("h", t0 + 2s, stale);
    REQUIRE(first);
    CHECK(first->conn == 2);
    CHECK(first->idle_since == t0 + 1s);
    auto second = p.take_idle("h", t0 + 2s, stale);
    REQUIRE(second);
    CHECK(second->conn == 1);
    CHECK_FALSE(p.take_idle("h", t0 + 2s, stale));
    CHECK_FALSE(p.take_idle("other", t0, stale));
    CHECK(stale.empty());
}

TEST_CASE("an idle connection past the idle timeout or its lifetime is given up, never handed out")
{
    pool_options o;
    o.idle_timeout = 10s;
    o.max_lifetime = 60s;
    book p(o);
    REQUIRE(p.try_open("h"));
    p.dial_done("h", true);
    p.put("h", 1, /*created*/ t0, /*now*/ t0 + 55s);
    open_and_return(p, "h", 2, t0 + 58s);

    std::vector<book::expired> stale;
    // At t0+62s: 1 is past its lifetime (created t0); 2 is fresh and the most recent.
    auto got = p.take_idle("h", t0 + 62s, stale);
    REQUIRE(got);
    CHECK(got->conn == 2);
    CHECK(stale.empty());
    auto none = p.take_idle("h", t0 + 62s, stale);
    CHECK_FALSE(none);
    REQUIRE(stale.size() == 1);
    CHECK(stale[0].conn == 1);
    CHECK(stale[0].reason == close_reason::max_lifetime);
    CHECK(stale[0].key == "h");
}

TEST_CASE("the sweep evicts what expired, and next_expiry says when to look again")
{
    pool_options o;
    o.idle_timeout = 10s;
    book p(o);
    CHECK_FALSE(p.next_expiry());
    open_and_return(p, "a", 1, t0);
    open_and_return(p, "b", 2, t0 + 5s);
    CHECK(p.next_expiry() == t0 + 10s);
    std::vector<book::expired> out;
    p.evict_expired(t0 + 9s, out);
    CHECK(out.empty());
    p.evict_expired(t0 + 12s, out);
    REQUIRE(out.size() == 1);
    CHECK(out[0].conn == 1);
    CHECK(out[0].reason == close_reason::idle_timeout);
    CHECK(p.next_expiry() == t0 + 15s);
    CHECK(p.stats().idle == 1);
}

TEST_CASE("limits of duration::max() mean never: next_expiry does not wrap into the past")
{
    // An unsaturated created + max_lifetime overflowed to a time long past, so the transport's sweep
    // woke at once, evicted nothing and rescheduled itself: a spin.
    pool_options o;
    o.idle_timeout = clock::duration::max();
    o.max_lifetime = clock::duration::max();
    book p(o);
    open_and_return(p, "a", 1, t0);
    CHECK_FALSE(p.next_expiry());

    o.idle_timeout = 10s;
    book q(o);
    open_and_return(q, "a", 1, t0);
    CHECK(q.next_expiry() == t0 + 10s);
    std::vector<book::expired> out;
    q.evict_expired(t0 + 5s, out);
    CHECK(out.empty());
}

TEST_CASE("the per-host idle limit refuses with pool_full; the total limit evicts the longest idle")
{
    pool_options o;
    o.max_idle_per_host = 2;
    o.max_idle = 3;
    book p(o);
    CHECK(open_and_return(p, "a", 1, t0).what == book::put_result::outcome::pooled);
    CHECK(open_and_return(p, "a", 2, t0 + 1s).what == book::put_result::outcome::pooled);
    auto third = open_and_return(p, "a", 3, t0 + 2s);
    CHECK(third.what == book::put_result::outcome::not_pooled);
    CHECK(third.reason == not_pooled_reason::pool_full);
    CHECK(*third.conn == 3);
    p.closed("a");

    CHECK(open_and_return(p, "b", 4, t0 + 3s).what == book::put_result::outcome::pooled);
    auto fifth = open_and_return(p, "c", 5, t0 + 4s);
    CHECK(fifth.what == book::put_result::outcome::pooled);
    REQUIRE(fifth.evicted);
    CHECK(fifth.evicted->conn == 1); // idle since t0: the longest
    CHECK(fifth.evicted->key == "a");
    CHECK(fifth.evicted->reason == close_reason::evicted);
    CHECK(p.stats().idle == 3);
}

TEST_CASE("with max_idle 0 nothing is kept: keep_alive_disabled")
{
    pool_options o;
    o.max_idle = 0;
    book p(o);
    CHECK_FALSE(p.keep_alive_enabled());
    auto r = open_and_return(p, "h", 1, t0);
    CHECK(r.what == book::put_result::outcome::not_pooled);
    CHECK(r.reason == not_pooled_reason::keep_alive_disabled);
}

TEST_CASE("a returned connection goes to the oldest waiter that takes reuse, before the idle pool")
{
    pool_options o;
    book p(o);
    book::waiter fresh_only, first, second;
    fresh_only.key = first.key = second.key = "h";
    fresh_only.wants_new = true;
    REQUIRE(p.try_open("h"));
    p.dial_done("h", true);
    p.enqueue(fresh_only);
    p.enqueue(first);
    p.enqueue(second);
    auto r = p.put("h", 7, t0, t0);
    CHECK(r.what == book::put_result::outcome::handed);
    CHECK(r.to == &first);
    CHECK(*r.conn == 7);
    CHECK_FALSE(first.is_linked());
    CHECK(p.stats().waiting == 2);
    p.remove(fresh_only);
    p.remove(second);
    CHECK(p.stats().waiting == 0);
}

TEST_CASE("at max_conns_per_host a closed connection grants its place to the oldest waiter without a dial")
{
    pool_options o;
    o.max_conns_per_host = 2;
    book p(o);
    CHECK(p.try_open("h"));
    CHECK(p.try_open("h"));
    CHECK_FALSE(p.try_open("h")); // dials count
    book::waiter dialing, a, b;
    dialing.key = a.key = b.key = "h";
    dialing.has_dial = true;
    p.enqueue(dialing);
    p.enqueue(a);
    p.enqueue(b);
    CHECK(p.stats().open == 2);
    CHECK(p.stats().dialing == 2);

    // A dial fails: its place goes to `a`, the oldest waiter without a dial of its own.
    CHECK(p.dial_done("h", false) == &a);
    CHECK(a.has_dial);
    CHECK(p.stats().open == 2);
    CHECK(p.stats().dialing == 2);
    p.dial_done("h", true);
    CHECK(p.stats().active == 1);
    CHECK(p.closed("h") == &b); // the connection closes: `b` may dial
    p.remove(dialing);
    p.remove(a);
    p.remove(b);
}

TEST_CASE("a connection past its lifetime is retired, not handed to a waiter")
{
    pool_options o;
    o.max_lifetime = 10s;
    book p(o);
    REQUIRE(p.try_open("h"));
    p.dial_done("h", true);
    book::waiter w;
    w.key = "h";
    p.enqueue(w);
    auto r = p.put("h", 1, /*created*/ t0, /*now*/ t0 + 11s);
    CHECK(r.what == book::put_result::outcome::not_pooled);
    CHECK(r.reason == not_pooled_reason::max_lifetime);
    CHECK(p.closed("h") == &w); // its place goes to the waiter, which dials
    p.remove(w);
}

TEST_CASE("at the host's limit, waiters that want a new connection make a returned one close")
{
    pool_options o;
    o.max_conns_per_host = 1;
    book p(o);
    REQUIRE(p.try_open("h"));
    p.dial_done("h", true);
    book::waiter fresh;
    fresh.key = "h";
    fresh.wants_new = true;
    p.enqueue(fresh);
    auto r = p.put("h", 1, t0, t0);
    CHECK(r.what == book::put_result::outcome::not_pooled);
    CHECK(r.reason == not_pooled_reason::pool_full);
    CHECK(p.closed("h") == &fresh);
    p.remove(fresh);
}

TEST_CASE("a host with nothing open and nobody waiting is forgotten")
{
    pool_options o;
    book p(o);
    REQUIRE(p.try_open("h"));
    p.dial_done("h", true);
    CHECK(p.stats().hosts.size() == 1);
    p.closed("h");
    CHECK(p.stats().hosts.empty());
}

TEST_CASE("stats().opened counts every dial that connected, and stays when its host is forgotten")
{
    pool_options o;
    book p(o);
    open_and_return(p, "a", 1, t0);
    REQUIRE(p.try_open("b"));
    p.dial_done("b", false); // a failed dial opened nothing
    CHECK(p.stats().opened == 1);
    REQUIRE(p.try_open("c"));
    p.dial_done("c", true);
    p.closed("c"); // host c is forgotten; its connection still counts
    CHECK(p.stats().hosts.size() == 1);
    CHECK(p.stats().opened == 2);
}

TEST_CASE("remove_idle takes out exactly the connection put() placed there")
{
    pool_options o;
    book p(o);
    open_and_return(p, "h", 1, t0);
    auto second = open_and_return(p, "h", 2, t0);
    REQUIRE(second.place);
    CHECK(p.remove_idle(*second.place) == 2);
    std::vector<book::expired> stale;
    CHECK(p.take_idle("h", t0, stale)->conn == 1);
}

TEST_CASE("drain empties the pool with the given reason, and stats counts per host")
{
    pool_options o;
    book p(o);
    open_and_return(p, "a", 1, t0);
    open_and_return(p, "b", 2, t0);
    REQUIRE(p.try_open("b")); // one dialing
    auto s = p.stats();
    CHECK(s.open == 3);
    CHECK(s.idle == 2);
    CHECK(s.dialing == 1);
    CHECK(s.hosts.size() == 2);
    std::vector<book::expired> out;
    p.drain(close_reason::close_idle, out);
    CHECK(out.size() == 2);
    for (auto& e : out)
        CHECK(e.reason == close_reason::close_idle);
    CHECK(p.stats().idle == 0);
}
