// The connection broker: the policy of getting, waiting for and returning connections, over the pool's
// bookkeeping (pool.hpp). It decides which idle connection an attempt takes and whether to look at it
// first, when an attempt dials and when it waits for a place, who gets a returned connection or one
// whose requester gave up, and when the sweep runs. It does nothing itself: dials, closes, idle
// watching and the completion of waits go through its `Ports`, which the transport implements with
// sockets and timers and tests/conn_broker_test.cpp with plain records. Even the time is the Ports'
// (`now()`), so tests move it by hand.
//
// Thread safety: everything runs on the transport's strand, except stats(), which any thread may call;
// the broker's mutex guards the bookkeeping for it and nothing else. Ports are called outside the
// lock, and may call the broker again (a close grants a waiter its place, which starts a dial).
#pragma once

#include "pool.hpp"

#include <roundtrip/deadline.hpp>
#include <roundtrip/error.hpp>
#include <roundtrip/events.hpp>
#include <roundtrip/transport.hpp>

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace roundtrip::detail {

// An attempt waiting for a connection, as the broker sees it. The transport derives its waits from it.
struct broker_waiter : pool_waiter {
    bool done = false; // given a connection or an error; a late connection passes on to the next
};

// What an attempt is given: a connection and how it was found.
template <class Conn>
struct conn_lease {
    Conn conn;
    bool was_idle = false;
    clock::duration idle_time{};
    bool late_bound = false; // handed to a waiter that had a dial of its own in flight
};

// What a look at an idle connection found (Ports::inspect_idle).
struct idle_verdict {
    enum class kind {
        usable,
        stale,      // closed by the server, or bytes no request asked for: close it, for `why`
        needs_look, // bytes on a TLS connection, perhaps only a session ticket: the transport reads them
    } what = kind::usable;
    close_reason why{};
};

// What an attempt asks of the idle pool.
struct checkout {
    std::string_view key;
    bool new_connection = false; // request::new_connection
    bool replayable = false;     // is_replayable: a closed connection would be retried on another
};

// `Ports` provides the types conn_type (a shared pointer to a connection with `key`, `created`,
// `idle`, an idle_place* the broker sets while the connection is idle, and `idle_since`, which it sets
// on a connection it hands back to look at), waiter_type (derived from
// broker_waiter) and sink_type (where a returned connection's events go), and these operations:
//   dial_for(waiter&)                   start a dial of the waiter's key, already counted; its end
//                                       comes back through dialed()
//   waits_for_slot(waiter&)             the waiter waits for a place at the host's limit
//   deliver(waiter&, error_code, lease) complete a wait, never inline
//   close_unused(const conn&, reason)   close a connection no attempt holds
//   close_returned(const conn&, const sink&, not_pooled_reason)  close one an attempt gave back
//   kept(conn&, const sink&)            a returned connection is kept (pooled or handed on); an
//                                       observer told so may even close the pool (then `idle` is null)
//   went_idle(conn&) / left_idle(conn&) it entered / left the idle pool (idle watching)
//   inspect_idle(conn&) -> idle_verdict a look at an idle connection before it is used
//   return_unowned(const conn&)         return a connection whose waiter is gone, as the transport
//                                       returns one after an exchange (to give_back(), unless closed)
//   sweep_at(time_point)                call sweep() at that time (replacing a later wake-up)
//   now() -> clock::time_point
template <class Ports>
class conn_broker {
public:
    using conn_type = typename Ports::conn_type;
    using waiter_type = typename Ports::waiter_type;
    using sink_type = typename Ports::sink_type;
    using lease = conn_lease<conn_type>;

    // How long a pooled connection may have been idle for a replayable request to take it without a
    // look: reused at once, as under load, where a look would cost a system call a request. If it
    // turns out closed, the request is retried on another connection; what a server pushes that soon
    // after its own response cannot be told from a response racing ours anyway.
    static constexpr auto look_after = std::chrono::milliseconds(1);

    conn_broker(Ports& ports, const pool_options& options) : ports_(ports), options_(options), pool_(options) {}
    conn_broker(const conn_broker&) = delete;
    conn_broker& operator=(const conn_broker&) = delete;

    bool keep_alive_enabled() const noexcept { return pool_.keep_alive_enabled(); }

    // The most recently used idle connection of `want.key` that the request may use, if any. One found
    // stale is closed and the next tried. One that needs a look through TLS comes back in
    // `to_look_at`, with no lease. `not_reused` says why when there is no lease.
    std::optional<lease> take_idle(const checkout& want, conn_type& to_look_at, not_reused_reason& not_reused)
    {
        if (want.new_connection) {
            not_reused = not_reused_reason::new_connection_requested;
            return std::nullopt;
        }
        for (;;) {
            std::vector<typename book::expired> stale;
            std::optional<typename book::taken> idle;
            const clock::time_point now = ports_.now();
            {
                std::lock_guard lock(mutex_);
                idle = pool_.take_idle(want.key, now, stale);
            }
            close_all(stale);
            if (!stale.empty())
                not_reused = not_reused_reason::idle_expired;
            if (!idle) {
                if (not_reused == not_reused_reason::none)
                    not_reused = not_reused_reason::no_idle;
                return std::nullopt;
            }
            conn_type c = left_idle(std::move(idle->conn));
            // A connection idle for a moment has no watcher yet, and a watcher may not have run for
            // bytes or a FIN that arrived just now.
            if (!want.replayable || now - idle->idle_since >= look_after) {
                const idle_verdict look = ports_.inspect_idle(c);
                if (look.what == idle_verdict::kind::needs_look) {
                    c->idle_since = idle->idle_since;
                    to_look_at = std::move(c);
                    return std::nullopt;
                }
                if (look.what == idle_verdict::kind::stale) {
                    close_unused(c, look.why);
                    not_reused = not_reused_reason::idle_stale;
                    continue;
                }
            }
            return lease{std::move(c), true, now - idle->idle_since};
        }
    }

    // Has `w` (with its key and wants_new set) wait for a connection: with a dial of its own when the
    // host is below max_conns_per_host, else for a place. A waiter that wants a new connection at the
    // limit closes the longest idle one of its host to make room (one would never be handed to it).
    // The wait ends through Ports::deliver, or through finish() (cancellation, deadline).
    void wait(waiter_type& w)
    {
        bool may_dial;
        std::optional<conn_type> make_room;
        {
            std::lock_guard lock(mutex_);
            may_dial = pool_.try_open(w.key);
            if (!may_dial && w.wants_new)
                make_room = pool_.take_oldest_idle(w.key);
            w.has_dial = may_dial;
            pool_.enqueue(w);
        }
        if (may_dial)
            ports_.dial_for(w);
        else
            ports_.waits_for_slot(w);
        if (make_room)
            close_unused(left_idle(std::move(*make_room)), close_reason::evicted); // grants a place: closed()
    }

    // Ends `w`'s wait, with a connection or an error, once. A connection handed to a wait that already
    // ended (cancelled by an observer of the very hand-over) is not lost: it passes on to the next
    // waiter or the idle pool.
    void finish(waiter_type& w, error_code ec, lease l)
    {
        if (w.done) {
            if (l.conn)
                ports_.return_unowned(l.conn);
            return;
        }
        w.done = true;
        {
            std::lock_guard lock(mutex_);
            pool_.remove(w);
        }
        ports_.deliver(w, ec, std::move(l));
    }

    // A dial of `key` ended, with a connection or an error. `w` is its waiter, null if it is gone. A
    // failed dial frees its place for a waiter without a dial; a connection whose waiter took another
    // or gave up serves whoever comes next.
    void dialed(waiter_type* w, const std::string& key, error_code ec, conn_type c)
    {
        waiter_type* granted;
        {
            std::lock_guard lock(mutex_);
            granted = pool_.dial_done(key, !ec);
        }
        const bool waiting = w && !w->done;
        if (ec) {
            if (waiting)
                finish(*w, ec, {});
            if (granted)
                ports_.dial_for(*granted);
            return;
        }
        if (waiting)
            return finish(*w, {}, lease{std::move(c)});
        ports_.return_unowned(c);
    }

    // Returns a connection after its exchange: to the oldest waiter that takes reuse, to the idle pool,
    // or closed — with `refused` when the exchange says it may not be reused, else with the reason
    // the pool gives.
    void give_back(conn_type c, const sink_type& sink, std::optional<not_pooled_reason> refused)
    {
        if (refused)
            return close_returned(std::move(c), sink, *refused);
        const clock::time_point now = ports_.now();
        typename book::put_result put;
        {
            std::lock_guard lock(mutex_);
            put = pool_.put(c->key, c, c->created, now);
        }
        if (put.evicted)
            close_unused(left_idle(std::move(put.evicted->conn)), close_reason::evicted);
        switch (put.what) {
        case book::put_result::outcome::handed: {
            ports_.kept(c, sink);
            waiter_type& to = *put.to;
            finish(to, {}, lease{std::move(c), false, {}, to.has_dial});
            return;
        }
        case book::put_result::outcome::pooled:
            c->idle = put.place; // before anyone hears of it: an observer may drain the pool
            ports_.kept(c, sink);
            if (!c->idle)
                return; // drained, and closed, by then
            ports_.went_idle(c);
            schedule_sweep(saturating_add(now, options_.idle_timeout), saturating_add(c->created, options_.max_lifetime));
            return;
        case book::put_result::outcome::not_pooled:
            return close_returned(std::move(c), sink, put.reason);
        }
    }

    // Takes an idle connection out of the pool because it can no longer be used (its watcher saw the
    // server close it, or bytes). False when it is not idle (taken for a request since, or closed).
    bool take_out(const conn_type& c)
    {
        if (!c->idle)
            return false;
        {
            std::lock_guard lock(mutex_);
            pool_.remove_idle(*c->idle);
        }
        left_idle(conn_type(c));
        return true;
    }

    // Closes a connection no attempt holds, out of the pool already. Its place may go to a waiter.
    void close_unused(const conn_type& c, close_reason why)
    {
        ports_.close_unused(c, why);
        closed(c->key);
    }

    // Closes every idle connection (close_idle(), or the transport closing).
    void drain(close_reason why)
    {
        std::vector<typename book::expired> out;
        {
            std::lock_guard lock(mutex_);
            pool_.drain(why, out);
        }
        close_all(out);
    }

    // Closes the idle connections expired by now and asks to be called again at the next expiry.
    void sweep()
    {
        const clock::time_point now = ports_.now();
        sweep_at_ = clock::time_point::max();
        std::vector<typename book::expired> out;
        std::optional<clock::time_point> next;
        {
            std::lock_guard lock(mutex_);
            pool_.evict_expired(now, out);
            next = pool_.next_expiry();
        }
        close_all(out);
        if (next)
            schedule_sweep(*next, *next);
    }

    pool_stats stats() const
    {
        std::lock_guard lock(mutex_);
        return pool_.stats();
    }

private:
    using book = pool<conn_type, waiter_type>;

    conn_type left_idle(conn_type c)
    {
        c->idle = nullptr;
        ports_.left_idle(c);
        return c;
    }

    // Closes connections the pool let go, each for its reason.
    void close_all(std::vector<typename book::expired>& out)
    {
        for (auto& e : out)
            close_unused(left_idle(std::move(e.conn)), e.reason);
    }

    void close_returned(conn_type c, const sink_type& sink, not_pooled_reason why)
    {
        ports_.close_returned(c, sink, why);
        closed(c->key);
    }

    // A connection of `key` no longer exists: a waiter at the host's limit may dial now.
    void closed(const std::string& key)
    {
        waiter_type* granted;
        {
            std::lock_guard lock(mutex_);
            granted = pool_.closed(key);
        }
        if (granted)
            ports_.dial_for(*granted);
    }

    // Asks for a sweep at the earliest of the given expiries that applies, if sooner than the one
    // asked for.
    void schedule_sweep(clock::time_point idle_expiry, clock::time_point lifetime_expiry)
    {
        clock::time_point at = clock::time_point::max();
        if (options_.idle_timeout > clock::duration::zero())
            at = idle_expiry;
        if (options_.max_lifetime > clock::duration::zero())
            at = std::min(at, lifetime_expiry);
        if (at >= sweep_at_)
            return;
        sweep_at_ = at;
        ports_.sweep_at(at);
    }

    Ports& ports_;
    const pool_options& options_;
    mutable std::mutex mutex_; // guards pool_: written on the strand, read by stats() anywhere
    book pool_;
    clock::time_point sweep_at_ = clock::time_point::max();
};

} // namespace roundtrip::detail
