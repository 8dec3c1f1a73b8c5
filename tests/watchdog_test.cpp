// The watchdog's bookkeeping alone (deadline_list), with injected times: which deadlines fire, when
// to look next, and what an entry's own reaction may do to the list. No timer, no sockets.
#include "watchdog.hpp"

#include <doctest/doctest.h>

#include <functional>
#include <utility>
#include <vector>

using namespace roundtrip;
using namespace std::chrono_literals;
using detail::deadline_list;

namespace {

const clock::time_point t0 = clock::time_point{} + 1000s;

// An entry that records when it fired and may do something to the list as it fires.
struct probe : detail::deadline_entry {
    std::vector<int>* log;
    int id;
    std::function<void()> on_fire;

    probe(std::vector<int>& l, int i) : log(&l), id(i) {}
    void expired() noexcept override
    {
        log->push_back(id);
        if (on_fire)
            on_fire();
    }
};

} // namespace

TEST_CASE("what expired by now fires once, in arming order; the earliest left says when to look next")
{
    std::vector<int> fired;
    deadline_list list;
    probe a(fired, 1), b(fired, 2), c(fired, 3);
    list.arm(a, t0 + 30s);
    list.arm(b, t0 + 5s);
    list.arm(c, t0 + 60s);

    CHECK(list.expire(t0 + 4s) == t0 + 5s);
    CHECK(fired.empty());
    CHECK(list.expire(t0 + 30s) == t0 + 60s);
    CHECK(fired == std::vector<int>{1, 2});
    CHECK_FALSE(a.armed());
    CHECK(c.armed());
    CHECK(list.expire(t0 + 30s) == t0 + 60s); // nothing fires twice
    CHECK(fired.size() == 2);
}

TEST_CASE("next_wake: the earliest deadline when it comes before the tick, else the tick; never when empty")
{
    std::vector<int> fired;
    deadline_list list;
    CHECK(list.next_wake(clock::time_point::max(), t0, 1s) == clock::time_point::max());
    probe a(fired, 1);
    list.arm(a, t0 + 30s);
    CHECK(list.next_wake(t0 + 30s, t0, 1s) == t0 + 1s);
    list.arm(a, t0 + 200ms); // re-arming moves the deadline, it does not add a second one
    CHECK(list.next_wake(t0 + 200ms, t0, 1s) == t0 + 200ms);
    CHECK(list.expire(t0 + 200ms) == clock::time_point::max());
    CHECK(fired == std::vector<int>{1});
}

TEST_CASE("a disarmed or destroyed entry never fires")
{
    std::vector<int> fired;
    deadline_list list;
    probe a(fired, 1);
    {
        probe gone(fired, 2);
        list.arm(gone, t0 + 1s);
    }
    list.arm(a, t0 + 1s);
    deadline_list::disarm(a);
    CHECK_FALSE(a.armed());
    CHECK(a.at() == clock::time_point::max());
    CHECK(list.expire(t0 + 1h) == clock::time_point::max());
    CHECK(fired.empty());
    CHECK(list.empty());
}

TEST_CASE("an entry's reaction may re-arm itself, disarm another that is due too, or arm a new one")
{
    std::vector<int> fired;
    deadline_list list;
    probe a(fired, 1), b(fired, 2), c(fired, 3);
    list.arm(a, t0 + 1s);
    list.arm(b, t0 + 1s);
    bool first = true;
    a.on_fire = [&] {
        if (!std::exchange(first, false))
            return;
        list.arm(a, t0 + 10s);  // itself, later
        deadline_list::disarm(b); // due as well, but called off
        list.arm(c, t0 + 5s);
    };
    CHECK(list.expire(t0 + 2s) == t0 + 5s);
    CHECK(fired == std::vector<int>{1});
    CHECK(a.armed());
    CHECK_FALSE(b.armed());
    CHECK(list.expire(t0 + 10s) == clock::time_point::max());
    CHECK(fired == std::vector<int>{1, 1, 3}); // both due: in the order they were armed
}
