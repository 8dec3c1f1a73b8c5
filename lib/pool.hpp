// The pool's bookkeeping: idle connections per host (most recently used first), connection counts per
// host with their limit, and the FIFO of attempts waiting for a connection. It holds no sockets and
// reads no clock: the transport passes connections and `now` in, so tests drive it with plain values.
//
// Costs: every operation a request makes is O(1) in the number of hosts and connections (hash lookup,
// intrusive list links); only `evict_expired` and `drain` walk the idle connections.
//
// Not thread-safe: the transport calls it on its strand, and under its mutex for stats() readers.
#pragma once

#include <roundtrip/deadline.hpp>
#include <roundtrip/events.hpp>
#include <roundtrip/transport.hpp>

#include <boost/intrusive/list.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace roundtrip::detail {

namespace bi = boost::intrusive;

// An attempt waiting for a connection of `key`. It takes a connection handed over by put() unless it
// asked for a new one; it may also have a dial of its own in flight (late binding: whichever comes
// first). The pool's user derives its waiters from it.
struct pool_waiter : bi::list_base_hook<bi::link_mode<bi::auto_unlink>> {
    std::string key;
    bool wants_new = false; // skips connections handed over by put()
    bool has_dial = false;  // a dial started for it is in flight
};

// Where an idle connection sits in the pool: what put() hands out for remove_idle(). The pool's entries
// derive from it; nothing else can make one.
class idle_place {
protected:
    idle_place() = default;
    ~idle_place() = default;
};

template <class Conn, class Waiter = pool_waiter>
class pool {
public:
    using waiter = Waiter;

    // A connection the pool gave up, with why: to be closed by the caller, who then calls closed().
    struct expired {
        Conn conn;
        std::string key;
        close_reason reason;
    };

    // Where a returned connection went.
    struct put_result {
        enum class outcome { pooled, handed, not_pooled } what;
        std::optional<Conn> conn;          // back to the caller when handed or not pooled
        waiter* to = nullptr;              // when handed: the oldest waiter that takes reuse
        not_pooled_reason reason{};        // when not pooled
        std::optional<struct expired> evicted; // the oldest idle connection, to close to make room
        idle_place* place = nullptr;       // when pooled: for remove_idle()
    };

    // A connection taken from the idle pool.
    struct taken {
        Conn conn;
        clock::time_point idle_since;
    };

    explicit pool(const pool_options& options) : options_(options) {}
    pool(const pool&) = delete;
    pool& operator=(const pool&) = delete;

    ~pool()
    {
        by_age_.clear();
        for (auto& [key, h] : hosts_)
            h.idle.clear_and_dispose([](entry* e) { delete e; });
        for (entry* e : spare_entries_)
            delete e;
    }

    bool keep_alive_enabled() const noexcept { return options_.max_idle > 0 && options_.max_idle_per_host > 0; }

    // Takes the most recently used idle connection of `key` that is still fresh; stale ones are moved
    // to `stale` for the caller to close.
    std::optional<taken> take_idle(std::string_view key, clock::time_point now, std::vector<expired>& stale)
    {
        host* h = find(key);
        if (!h)
            return std::nullopt;
        while (!h->idle.empty()) {
            entry& e = h->idle.back();
            auto why = expiry_reason(e, now);
            taken t = unlink(e);
            if (why) {
                stale.push_back({std::move(t.conn), h->key, *why});
                continue;
            }
            return t;
        }
        return std::nullopt;
    }

    // Returns a connection after a successful exchange: to the oldest waiter that takes reuse, else
    // to the idle pool, else back to the caller with the reason it was not pooled.
    put_result put(std::string_view key, Conn conn, clock::time_point created, clock::time_point now)
    {
        host& h = *find(key);
        // Retired before anyone gets it, a waiter included: under load, connections would otherwise
        // be handed on forever and never reach their lifetime.
        if (options_.max_lifetime > clock::duration::zero() && now - created >= options_.max_lifetime)
            return not_pooled(std::move(conn), not_pooled_reason::max_lifetime);
        for (auto& w : h.waiters) {
            if (w.wants_new)
                continue;
            w.unlink();
            return {put_result::outcome::handed, std::move(conn), &w};
        }
        // Only waiters that want a new connection, at the host's limit: pooling this one would keep
        // them waiting for a place that never frees. Closing it frees one.
        if (!h.waiters.empty() && at_limit(h))
            return not_pooled(std::move(conn), not_pooled_reason::pool_full);
        if (!keep_alive_enabled())
            return not_pooled(std::move(conn), not_pooled_reason::keep_alive_disabled);
        if (h.idle.size() >= options_.max_idle_per_host)
            return not_pooled(std::move(conn), not_pooled_reason::pool_full);
        put_result out{put_result::outcome::pooled};
        if (idle_total_ >= options_.max_idle) {
            entry& oldest = by_age_.front();
            std::string oldest_key = oldest.owner->key;
            out.evicted = expired{unlink(oldest).conn, std::move(oldest_key), close_reason::evicted};
        }
        entry* e = make_entry(std::move(conn), &h, now, created);
        h.idle.push_back(*e);
        by_age_.push_back(*e);
        ++idle_total_;
        out.place = e;
        return out;
    }

    // Takes the longest-idle connection of `key` out, to close it so a new one may be opened in its
    // place (an attempt that wants a new connection, at the host's limit).
    std::optional<Conn> take_oldest_idle(std::string_view key)
    {
        host* h = find(key);
        if (!h || h->idle.empty())
            return std::nullopt;
        return unlink(h->idle.front()).conn;
    }

    // Removes an idle connection (the server closed it, or sent bytes), given where put() placed it.
    Conn remove_idle(idle_place& place) { return unlink(static_cast<entry&>(place)).conn; }

    // Counts a new connection of `key` if its host is below max_conns_per_host.
    bool try_open(std::string_view key)
    {
        host& h = get(key);
        if (at_limit(h))
            return false;
        ++h.open;
        ++h.dialing;
        return true;
    }

    // A dial of `key` ended: its connection now exists, or (failed) it never will.
    waiter* dial_done(std::string_view key, bool connected)
    {
        host& h = *find(key);
        --h.dialing;
        if (connected)
            ++opened_;
        return connected ? nullptr : closed(key);
    }

    // A connection of `key` is gone. Returns the oldest waiter without a dial of its own, now granted
    // the freed place (its dial is counted: the caller starts it), or null.
    waiter* closed(std::string_view key)
    {
        host& h = *find(key);
        --h.open;
        for (auto& w : h.waiters) {
            if (w.has_dial)
                continue;
            w.has_dial = true;
            ++h.open;
            ++h.dialing;
            return &w;
        }
        forget_if_unused(h);
        return nullptr;
    }

    void enqueue(waiter& w) { get(w.key).waiters.push_back(w); }

    // Removes a waiter that gave up (cancelled, deadline). Its dial, if any, goes on.
    void remove(waiter& w)
    {
        w.unlink();
        if (host* h = find(w.key))
            forget_if_unused(*h);
    }

    // The earliest time an idle connection expires, if any ever does. A limit of duration::max()
    // saturates to "never" rather than wrapping into the past (which would wake the sweep at once,
    // forever).
    std::optional<clock::time_point> next_expiry() const
    {
        clock::time_point at = clock::time_point::max();
        if (options_.idle_timeout > clock::duration::zero() && !by_age_.empty())
            at = saturating_add(by_age_.front().idle_since, options_.idle_timeout);
        if (options_.max_lifetime > clock::duration::zero())
            for (const auto& e : by_age_)
                at = std::min(at, saturating_add(e.created, options_.max_lifetime));
        if (at == clock::time_point::max())
            return std::nullopt;
        return at;
    }

    // Moves every idle connection that expired by `now` to `out`.
    void evict_expired(clock::time_point now, std::vector<expired>& out)
    {
        for (auto it = by_age_.begin(); it != by_age_.end();) {
            entry& e = *it++;
            if (auto why = expiry_reason(e, now)) {
                std::string key = e.owner->key;
                out.push_back({unlink(e).conn, std::move(key), *why});
            }
        }
    }

    // Moves every idle connection to `out`, with `reason`.
    void drain(close_reason reason, std::vector<expired>& out)
    {
        while (!by_age_.empty()) {
            std::string key = by_age_.front().owner->key;
            out.push_back({unlink(by_age_.front()).conn, std::move(key), reason});
        }
    }

    pool_stats stats() const
    {
        pool_stats s;
        s.opened = opened_;
        for (const auto& [key, h] : hosts_) {
            pool_stats::host one{key, h.open, h.idle.size(), 0, h.dialing, h.waiters.size()};
            one.active = one.open - one.idle - one.dialing;
            s.open += one.open, s.idle += one.idle, s.active += one.active;
            s.dialing += one.dialing, s.waiting += one.waiting;
            s.hosts.push_back(std::move(one));
        }
        return s;
    }

private:
    struct host;
    struct entry : idle_place {
        entry(Conn c, host* h, clock::time_point idle, clock::time_point made)
            : conn(std::move(c)), owner(h), idle_since(idle), created(made)
        {
        }
        Conn conn;
        host* owner;
        clock::time_point idle_since;
        clock::time_point created;
        bi::list_member_hook<> in_host; // in owner->idle, most recently used last
        bi::list_member_hook<> in_age;  // in by_age_, longest idle first
    };
    using host_list = bi::list<entry, bi::member_hook<entry, bi::list_member_hook<>, &entry::in_host>,
                               bi::constant_time_size<true>>;
    using age_list = bi::list<entry, bi::member_hook<entry, bi::list_member_hook<>, &entry::in_age>,
                              bi::constant_time_size<false>>;
    using waiter_list = bi::list<Waiter, bi::constant_time_size<false>>;

    struct host {
        std::string key;
        host_list idle;
        std::size_t open = 0;    // active + idle + dialing
        std::size_t dialing = 0;
        waiter_list waiters;
    };

    struct key_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view k) const noexcept { return std::hash<std::string_view>{}(k); }
    };

    host* find(std::string_view key)
    {
        auto it = hosts_.find(key);
        return it == hosts_.end() ? nullptr : &it->second;
    }

    host& get(std::string_view key)
    {
        if (host* h = find(key))
            return *h;
        auto [it, inserted] = hosts_.try_emplace(std::string(key));
        it->second.key = it->first;
        return it->second;
    }

    bool at_limit(const host& h) const noexcept
    {
        return options_.max_conns_per_host > 0 && h.open >= options_.max_conns_per_host;
    }

    // A host with nothing open and nobody waiting is forgotten, so the map does not grow with every
    // host ever contacted.
    void forget_if_unused(host& h)
    {
        if (h.open == 0 && h.waiters.empty())
            hosts_.erase(h.key);
    }

    std::optional<close_reason> expiry_reason(const entry& e, clock::time_point now) const
    {
        if (options_.max_lifetime > clock::duration::zero() && now - e.created >= options_.max_lifetime)
            return close_reason::max_lifetime;
        if (options_.idle_timeout > clock::duration::zero() && now - e.idle_since >= options_.idle_timeout)
            return close_reason::idle_timeout;
        return std::nullopt;
    }

    // Unlinks an idle entry and returns its connection, which stays counted as open.
    taken unlink(entry& e)
    {
        e.owner->idle.erase(e.owner->idle.iterator_to(e));
        by_age_.erase(by_age_.iterator_to(e));
        --idle_total_;
        taken t{std::move(e.conn), e.idle_since};
        if (spare_entries_.size() < max_spare_entries) {
            e.conn = Conn{};
            spare_entries_.push_back(&e);
        } else {
            delete &e;
        }
        return t;
    }

    // An entry from the spares, else a new one: a connection that goes idle after every request
    // would otherwise cost an allocation each time.
    entry* make_entry(Conn conn, host* owner, clock::time_point now, clock::time_point created)
    {
        if (spare_entries_.empty())
            return new entry{std::move(conn), owner, now, created};
        entry* e = spare_entries_.back();
        spare_entries_.pop_back();
        e->conn = std::move(conn);
        e->owner = owner;
        e->idle_since = now;
        e->created = created;
        return e;
    }

    put_result not_pooled(Conn conn, not_pooled_reason why)
    {
        put_result out{put_result::outcome::not_pooled, std::move(conn)};
        out.reason = why;
        return out;
    }

    const pool_options& options_;
    std::unordered_map<std::string, host, key_hash, std::equal_to<>> hosts_;
    age_list by_age_;
    std::size_t idle_total_ = 0;
    std::uint64_t opened_ = 0; // dials that connected, ever: pool_stats::opened
    static constexpr std::size_t max_spare_entries = 64;
    std::vector<entry*> spare_entries_; // unlinked, without a connection: see make_entry
};

} // namespace roundtrip::detail
