// The watchdog: the deadlines of every connection's socket operations, enforced by one timer per
// transport instead of a timer per operation.
//
// Beast's tcp_stream arms a timer before each read and write and cancels it after: with keep-alive,
// that timer is nearly always the earliest one, so each arming is a timerfd_settime system call and
// each cancellation a handler that still runs (measured: two syscalls, one allocation and 5.7k
// instructions per request). Here arming a deadline is a store and a list link. The timer wakes at
// the earliest deadline that falls before the next coarse tick, else at the tick; at each wake it
// fires what expired and looks again. So every deadline fires on time, and a steady stream of
// requests whose deadlines are seconds away costs one timer re-arm per tick.
#pragma once

#include <roundtrip/detail/config.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/intrusive/list.hpp>

#include <algorithm>
#include <chrono>
#include <memory>

namespace roundtrip::detail {

// One armed deadline. What happens when it passes is the owner's: `expired` runs on the strand.
class deadline_entry
    : public boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>> {
public:
    clock::time_point at() const noexcept { return at_; }
    bool armed() const noexcept { return is_linked(); }

protected:
    deadline_entry() = default;
    ~deadline_entry() = default; // unlinks itself (auto_unlink)
    deadline_entry(const deadline_entry&) = delete;
    deadline_entry& operator=(const deadline_entry&) = delete;

private:
    friend class deadline_list;
    virtual void expired() noexcept = 0;
    clock::time_point at_ = clock::time_point::max();
};

// The bookkeeping alone, with time passed in: which deadlines are armed, which expired by `now`, and
// when to look next. No timer, so tests drive it with chosen times.
class deadline_list {
public:
    // Arms `e`, or moves its deadline; an entry due to fire in expire() that is armed again from
    // another's `expired` waits for its new deadline instead.
    void arm(deadline_entry& e, clock::time_point at) noexcept
    {
        e.at_ = at;
        e.unlink();
        entries_.push_back(e);
    }

    static void disarm(deadline_entry& e) noexcept
    {
        e.unlink();
        e.at_ = clock::time_point::max();
    }

    bool empty() const noexcept { return entries_.empty(); }

    // Unlinks and fires every entry whose deadline is at or before `now`; returns the earliest
    // deadline left, or time_point::max(). An entry's `expired` may arm or disarm any entry.
    clock::time_point expire(clock::time_point now) noexcept
    {
        // Fired entries leave the list first, so what `expired` does to the list cannot upset the walk.
        list due;
        for (auto it = entries_.begin(); it != entries_.end();) {
            deadline_entry& e = *it++;
            if (e.at_ <= now) {
                e.unlink();
                due.push_back(e);
            }
        }
        while (!due.empty()) {
            deadline_entry& e = due.front();
            e.unlink();
            e.at_ = clock::time_point::max();
            e.expired();
        }
        clock::time_point earliest = clock::time_point::max();
        for (const auto& e : entries_)
            earliest = std::min(earliest, e.at_);
        return earliest;
    }

    // When to look next: the earliest deadline if it comes before `now + tick`, else `now + tick`;
    // max() when nothing is armed.
    clock::time_point next_wake(clock::time_point earliest, clock::time_point now, clock::duration tick) const noexcept
    {
        if (entries_.empty())
            return clock::time_point::max();
        return std::min(earliest, now + tick);
    }

private:
    using list = boost::intrusive::list<deadline_entry, boost::intrusive::constant_time_size<false>>;
    list entries_;
};

// The timer that drives a deadline_list on a strand. Only used on that strand.
class watchdog : public std::enable_shared_from_this<watchdog> {
public:
    static constexpr clock::duration default_tick = std::chrono::seconds(1);

    explicit watchdog(executor strand, clock::duration tick = default_tick) : timer_(std::move(strand)), tick_(tick) {}

    // Arms (or moves) `e`'s deadline. No system call unless the timer must wake earlier than planned:
    // when it is idle, or for a deadline nearer than the next wake.
    void arm(deadline_entry& e, clock::time_point at)
    {
        list_.arm(e, at);
        if (at < wake_)
            wake_at(wake_ == clock::time_point::max() ? std::min(at, clock::now() + tick_) : at);
    }

    static void disarm(deadline_entry& e) noexcept { deadline_list::disarm(e); }

    // Cancels the timer's wait if nothing is armed, so that it keeps no io_context busy: after a
    // close, say. Arming again restarts it.
    void rest()
    {
        if (!list_.empty())
            return;
        wake_ = clock::time_point::max();
        timer_.cancel();
    }

private:
    void wake_at(clock::time_point t)
    {
        wake_ = t;
        timer_.expires_at(t); // cancels a wait in progress: its handler sees operation_aborted
        timer_.async_wait([self = weak_from_this(), t](error_code ec) {
            if (auto w = self.lock(); w && !ec && w->wake_ == t)
                w->on_wake();
        });
    }

    void on_wake()
    {
        wake_ = clock::time_point::max();
        const clock::time_point now = clock::now();
        const clock::time_point earliest = list_.expire(now);
        // `expired` may have armed an entry, and with it the timer: only wake earlier than that.
        const clock::time_point next = list_.next_wake(earliest, now, tick_);
        if (next < wake_)
            wake_at(next);
    }

    asio::steady_timer timer_;
    clock::duration tick_;
    clock::time_point wake_ = clock::time_point::max(); // when the timer is set to wake; max: idle
    deadline_list list_;
};

} // namespace roundtrip::detail
