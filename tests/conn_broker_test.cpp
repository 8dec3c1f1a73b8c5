// The connection broker's policy with no sockets and no timers: ports that record what the broker
// asks for, a clock moved by hand. Which idle connection is taken and when it is looked at, who dials,
// who waits for a place, where returned and late connections go, and when the sweep runs.
#include "conn_broker.hpp"

#include <doctest/doctest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

using namespace roundtrip;
using namespace std::chrono_literals;
using detail::checkout;
using detail::idle_verdict;

namespace {

struct fake_conn {
    int id = 0;
    std::string key;
    clock::time_point created;
    detail::idle_place* idle = nullptr;
    clock::time_point idle_since;
    idle_verdict look;     // what inspect_idle finds
    int looks = 0;         // how often it was looked at
    bool watching = false; // between went_idle and left_idle
};
using conn = std::shared_ptr<fake_conn>;

struct waiter : detail::broker_waiter {
    explicit waiter(std::string k, bool fresh = false)
    {
        key = std::move(k);
        wants_new = fresh;
    }
    error_code ec;
    conn got;
    bool late_bound = false;
    int deliveries = 0;
};

struct ports;
using broker = detail::conn_broker<ports>;

struct ports {
    using conn_type = conn;
    using waiter_type = waiter;
    using sink_type = std::string; // the name of the attempt whose events these are

    clock::time_point now() const { return time; }
    void dial_for(waiter& w) { dials.push_back(&w); }
    void waits_for_slot(waiter& w) { slot_waits.push_back(&w); }
    void deliver(waiter& w, error_code ec, detail::conn_lease<conn> l)
    {
        ++w.deliveries;
        w.ec = ec;
        w.got = std::move(l.conn);
        w.late_bound = l.late_bound;
    }
    void close_unused(const conn& c, close_reason why)
    {
        closed.push_back({c->id, why});
        events.push_back("closed " + std::to_string(c->id));
    }
    void close_returned(const conn& c, const std::string& sink, not_pooled_reason why)
    {
        refused.push_back({c->id, why});
        events.push_back(sink + " not_pooled");
    }
    void kept(const conn& c, const std::string& sink)
    {
        events.push_back(sink + " put_idle " + std::to_string(c->id));
        if (on_kept)
            on_kept();
    }
    void went_idle(const conn& c) { c->watching = true; }
    void left_idle(const conn& c) { c->watching = false; }
    static idle_verdict inspect_idle(const conn& c)
    {
        ++c->looks;
        return c->look;
    }
    void return_unowned(const conn& c) { owner->give_back(c, "pool", std::nullopt); }
    void sweep_at(clock::time_point at) { sweeps.push_back(at); }

    broker* owner = nullptr;
    std::function<void()> on_kept; // an observer of put_idle_conn
    clock::time_point time = clock::time_point{} + 1000s;
    std::vector<waiter*> dials;
    std::vector<waiter*> slot_waits;
    std::vector<std::pair<int, close_reason>> closed;
    std::vector<std::pair<int, not_pooled_reason>> refused;
    std::vector<std::string> events;
    std::vector<clock::time_point> sweeps;
};

} // namespace

namespace {

pool_options options()
{
    pool_options o;
    o.idle_timeout = 10s;
    o.max_lifetime = 60s;
    o.max_conns_per_host = 2;
    return o;
}

// A connection dialed for a waiter of `key` and in its hands. The waiter is gone after: so is its dial
// from the record.
conn open(broker& b, ports& p, int id, const std::string& key = "h")
{
    waiter w(key);
    b.wait(w);
    REQUIRE(!p.dials.empty());
    REQUIRE(p.dials.back() == &w);
    auto c = std::make_shared<fake_conn>();
    c->id = id;
    c->key = key;
    c->created = p.time;
    b.dialed(&w, key, {}, c);
    REQUIRE(w.got == c);
    p.dials.pop_back();
    return c;
}

// A broker over recording ports. The broker reads its options live: a case may change them.
struct setup {
    pool_options o = options();
    ports p;
    broker b{p, o};
    setup() { p.owner = &b; }
};

checkout replayable(std::string_view key = "h") { return {key, false, true}; }
checkout not_replayable(std::string_view key = "h") { return {key, false, false}; }

} // namespace

TEST_CASE_FIXTURE(setup, "a returned connection goes idle, and the most recently used is taken first with how long it idled")
{
    conn one = open(b, p, 1);
    conn two = open(b, p, 2);
    b.give_back(one, "a", std::nullopt);
    p.time += 1s;
    b.give_back(two, "b", std::nullopt);
    CHECK(p.events == std::vector<std::string>{"a put_idle 1", "b put_idle 2"});
    CHECK(two->idle != nullptr);
    CHECK(two->watching);

    p.time += 5s;
    conn look;
    not_reused_reason why = not_reused_reason::none;
    auto got = b.take_idle(replayable(), look, why);
    REQUIRE(got);
    CHECK(got->conn == two);
    CHECK(got->was_idle);
    CHECK(got->idle_time == 5s);
    CHECK(two->idle == nullptr);
    CHECK_FALSE(two->watching);
    CHECK(b.take_idle(replayable(), look, why)->conn == one);
    CHECK_FALSE(b.take_idle(replayable(), look, why));
    CHECK(why == not_reused_reason::no_idle);
    CHECK(b.stats().active == 2);
}

TEST_CASE_FIXTURE(setup, "only a replayable request takes a connection idle for under a millisecond without a look")
{
    conn c = open(b, p, 1);
    conn look;
    not_reused_reason why = not_reused_reason::none;

    b.give_back(c, "a", std::nullopt);
    p.time += 500us;
    REQUIRE(b.take_idle(replayable(), look, why));
    CHECK(c->looks == 0);

    b.give_back(c, "a", std::nullopt);
    p.time += 500us;
    REQUIRE(b.take_idle(not_replayable(), look, why));
    CHECK(c->looks == 1);

    b.give_back(c, "a", std::nullopt);
    p.time += broker::look_after;
    REQUIRE(b.take_idle(replayable(), look, why));
    CHECK(c->looks == 2);

    b.give_back(c, "a", std::nullopt);
    CHECK_FALSE(b.take_idle({"h", true, true}, look, why));
    CHECK(why == not_reused_reason::new_connection_requested);
}

TEST_CASE_FIXTURE(setup, "a stale idle connection is closed and the next tried; one that needs a look through TLS comes back")
{
    conn one = open(b, p, 1);
    conn two = open(b, p, 2);
    b.give_back(one, "a", std::nullopt);
    const clock::time_point one_idle = p.time;
    p.time += 1s;
    b.give_back(two, "a", std::nullopt);
    p.time += 1s;
    two->look = {idle_verdict::kind::stale, close_reason::peer_closed_idle};
    one->look = {idle_verdict::kind::needs_look};

    conn look;
    not_reused_reason why = not_reused_reason::none;
    CHECK_FALSE(b.take_idle(not_replayable(), look, why));
    CHECK(p.closed == std::vector<std::pair<int, close_reason>>{{2, close_reason::peer_closed_idle}});
    CHECK(why == not_reused_reason::idle_stale);
    CHECK(look == one);
    CHECK(one->idle_since == one_idle);
    CHECK(one->idle == nullptr);
    CHECK(b.stats().open == 1); // the one looked at stays counted; the closed one is gone
}

TEST_CASE_FIXTURE(setup, "below the host's limit a waiter dials; at it a waiter waits, and a failed dial grants its place")
{
    o.max_conns_per_host = 1;
    waiter first("h"), second("h");
    b.wait(first);
    b.wait(second);
    CHECK(p.dials == std::vector<waiter*>{&first});
    CHECK(p.slot_waits == std::vector<waiter*>{&second});
    CHECK(b.stats().waiting == 2);

    b.dialed(&first, "h", asio::error::connection_refused, nullptr);
    CHECK(first.ec == asio::error::connection_refused);
    CHECK(p.dials == std::vector<waiter*>{&first, &second});
    CHECK(second.has_dial);
    CHECK(second.deliveries == 0);
    b.finish(second, error::canceled, {});
    CHECK(second.ec == error::canceled);
    CHECK(b.stats().waiting == 0);
    CHECK(b.stats().dialing == 1); // its dial goes on, for whoever comes next
}

TEST_CASE_FIXTURE(setup, "a returned connection goes to the oldest waiter, late-bound if it dials; its dial's connection goes idle")
{
    conn one = open(b, p, 1);
    waiter w("h");
    b.wait(w);
    REQUIRE(p.dials == std::vector<waiter*>{&w});
    b.give_back(one, "a", std::nullopt);
    CHECK(w.got == one);
    CHECK(w.late_bound);
    CHECK(one->idle == nullptr);

    auto two = std::make_shared<fake_conn>();
    two->id = 2;
    two->key = "h";
    two->created = p.time;
    b.dialed(&w, "h", {}, two);
    CHECK(w.deliveries == 1);
    CHECK(two->idle != nullptr);
    CHECK(p.events == std::vector<std::string>{"a put_idle 1", "pool put_idle 2"});
    CHECK(b.stats().idle == 1);
    CHECK(b.stats().opened == 2);
}

TEST_CASE_FIXTURE(setup, "a connection handed to a wait that already ended passes on, and a waiter that wants a new one is skipped")
{
    o.max_conns_per_host = 0; // no limit: at one, a connection nobody but `fresh` waits for would close
    conn one = open(b, p, 1);
    waiter gone("h"), fresh("h", true);
    b.wait(gone);
    b.wait(fresh);
    b.finish(gone, error::canceled, {});
    b.finish(gone, {}, {one}); // the hand-over raced the cancellation
    CHECK(gone.deliveries == 1);
    CHECK(gone.got == nullptr);
    CHECK(one->idle != nullptr); // fresh wants a new connection: pooled instead
    CHECK(fresh.deliveries == 0);
    b.finish(fresh, error::canceled, {});
}

TEST_CASE_FIXTURE(setup, "at the host's limit, a waiter that wants a new connection has a returned or idle one close for its dial")
{
    o.max_conns_per_host = 1;
    conn one = open(b, p, 1);
    waiter fresh("h", true);
    SUBCASE("returned while it waits: closed rather than pooled, where it would never be handed over")
    {
        b.wait(fresh);
        b.give_back(one, "a", std::nullopt);
        CHECK(p.refused == std::vector<std::pair<int, not_pooled_reason>>{{1, not_pooled_reason::pool_full}});
    }
    SUBCASE("idle when it comes: the longest idle one closes")
    {
        b.give_back(one, "a", std::nullopt);
        b.wait(fresh);
        CHECK(p.closed == std::vector<std::pair<int, close_reason>>{{1, close_reason::evicted}});
        CHECK_FALSE(one->watching);
    }
    CHECK(p.slot_waits == std::vector<waiter*>{&fresh});
    CHECK(p.dials == std::vector<waiter*>{&fresh});
    b.finish(fresh, error::canceled, {});
}

TEST_CASE_FIXTURE(setup, "a refused connection is closed on its attempt's sink and frees its place; so is one the pool will not keep")
{
    o.max_conns_per_host = 1;
    o.max_idle_per_host = 1;
    conn one = open(b, p, 1);
    waiter w("h");
    b.wait(w);
    CHECK(p.slot_waits == std::vector<waiter*>{&w});
    b.give_back(one, "a", not_pooled_reason::broken);
    CHECK(p.refused == std::vector<std::pair<int, not_pooled_reason>>{{1, not_pooled_reason::broken}});
    CHECK(p.events == std::vector<std::string>{"a not_pooled"});
    CHECK(p.dials == std::vector<waiter*>{&w}); // the place went to the waiter
    b.finish(w, error::canceled, {});

    o.max_conns_per_host = 0;
    conn two = open(b, p, 2);
    conn three = open(b, p, 3);
    b.give_back(two, "a", std::nullopt);
    b.give_back(three, "b", std::nullopt);
    CHECK(p.refused.back() == std::pair{3, not_pooled_reason::pool_full});
}

TEST_CASE_FIXTURE(setup, "the sweep is asked for at the earliest expiry and closes what expired by then")
{
    // idle 10s, lifetime 60s
    const clock::time_point t0 = p.time;
    conn one = open(b, p, 1);
    conn two = open(b, p, 2);
    b.give_back(one, "a", std::nullopt);
    CHECK(p.sweeps == std::vector{t0 + 10s});
    p.time += 2s;
    b.give_back(two, "a", std::nullopt);
    CHECK(p.sweeps.size() == 1); // a later expiry asks for nothing

    p.time = t0 + 10s;
    b.sweep();
    CHECK(p.closed == std::vector<std::pair<int, close_reason>>{{1, close_reason::idle_timeout}});
    CHECK_FALSE(one->watching);
    CHECK(p.sweeps.back() == t0 + 12s);
    CHECK(b.stats().open == 1);
}

TEST_CASE_FIXTURE(setup, "take_out removes an idle connection once; drain closes the rest with the reason given")
{
    conn one = open(b, p, 1);
    conn two = open(b, p, 2);
    b.give_back(one, "a", std::nullopt);
    b.give_back(two, "a", std::nullopt);
    CHECK(b.take_out(one));
    CHECK_FALSE(b.take_out(one));
    b.close_unused(one, close_reason::peer_closed_idle);
    b.drain(close_reason::close_idle);
    CHECK(p.closed == std::vector<std::pair<int, close_reason>>{{1, close_reason::peer_closed_idle},
                                                                 {2, close_reason::close_idle}});
    CHECK(b.stats().open == 0);
    CHECK(b.stats().hosts.empty());
}

TEST_CASE_FIXTURE(setup, "a dialed connection whose waiter is gone serves whoever comes next")
{
    auto c = std::make_shared<fake_conn>();
    c->id = 1;
    c->key = "h";
    c->created = p.time;
    waiter w("h");
    b.wait(w);
    b.finish(w, error::canceled, {});
    b.dialed(nullptr, "h", {}, c);
    CHECK(p.events == std::vector<std::string>{"pool put_idle 1"});
    conn look;
    not_reused_reason why = not_reused_reason::none;
    CHECK(b.take_idle(replayable(), look, why)->conn == c);
}

TEST_CASE_FIXTURE(setup, "the idle limit evicts the longest idle before the new one is kept; take_idle closes what expired")
{
    o.max_idle = 1;
    conn one = open(b, p, 1);
    conn two = open(b, p, 2);
    b.give_back(one, "a", std::nullopt);
    b.give_back(two, "b", std::nullopt);
    CHECK(p.events == std::vector<std::string>{"a put_idle 1", "closed 1", "b put_idle 2"});
    CHECK(p.closed == std::vector<std::pair<int, close_reason>>{{1, close_reason::evicted}});

    p.time += o.idle_timeout;
    conn look;
    not_reused_reason why = not_reused_reason::none;
    CHECK_FALSE(b.take_idle(replayable(), look, why));
    CHECK(why == not_reused_reason::idle_expired);
    CHECK(p.closed.back() == std::pair{2, close_reason::idle_timeout});
    CHECK(b.stats().open == 0);
}

TEST_CASE_FIXTURE(setup, "an observer that drains the pool as it hears of a pooled connection leaves it closed, unwatched")
{
    conn one = open(b, p, 1);
    p.on_kept = [this] { b.drain(close_reason::client_closed); };
    b.give_back(one, "a", std::nullopt);
    CHECK(p.closed == std::vector<std::pair<int, close_reason>>{{1, close_reason::client_closed}});
    CHECK(one->idle == nullptr);
    CHECK_FALSE(one->watching);
    CHECK(p.sweeps.empty());
    CHECK(b.stats().open == 0);
}
