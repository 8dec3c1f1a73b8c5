// An observer that records the events it receives, for tests to assert order and pairing.
#pragma once

#include <roundtrip/events.hpp>

#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace roundtrip::testing {

// A recorded event: its name, ids and payload (kept: a middleware event's value is copied), and its
// description (`describe`) made on delivery. The payload's string views and spans point into memory
// that is gone after delivery: tests read only its scalar fields, and the strings through `described`.
struct recorded {
    std::string name;
    event e;
    std::string described;
};

class recorder : public observer {
public:
    // A test's note of the names recorded at some moment, e.g. when the call completed.
    std::string completed_at;

    void on_event(const event& e) noexcept override
    {
        std::lock_guard lock(mutex_);
        log_.push_back({std::string(roundtrip::name(e)), keep(e), describe(e)});
    }

    std::vector<recorded> events() const
    {
        std::lock_guard lock(mutex_);
        return {log_.begin(), log_.end()};
    }

    // The names of the events of `attempt` (0: all), space-separated.
    std::string names(std::uint32_t attempt = 0) const
    {
        std::lock_guard lock(mutex_);
        std::string out;
        for (const auto& r : log_)
            if (attempt == 0 || r.e.attempt == attempt)
                out += (out.empty() ? "" : " ") + r.name;
        return out;
    }

    // The first event of type T (roundtrip's or a middleware's), or null. The pointer stays valid for
    // the recorder's life: recorded events never move.
    template <class T>
    const T* first() const
    {
        std::lock_guard lock(mutex_);
        for (const auto& r : log_)
            if (auto p = event_cast<T>(r.e))
                return p;
        return nullptr;
    }

    // The description of the first event named `name`, or "" when there is none.
    std::string describe_first(std::string_view name) const
    {
        std::lock_guard lock(mutex_);
        for (const auto& r : log_)
            if (r.name == name)
                return r.described;
        return {};
    }

private:
    mutable std::mutex mutex_;
    std::deque<recorded> log_; // a deque: first<T>()'s pointers survive later events
};

// What became of the connection of the recorded attempts: "pooled", the conn_not_pooled reason, or
// "none" while undecided.
inline std::string connection_fate(const recorder& r)
{
    for (const auto& e : r.events()) {
        if (std::holds_alternative<put_idle_conn>(e.e.data))
            return "pooled";
        if (auto n = std::get_if<conn_not_pooled>(&e.e.data))
            return std::string(to_string(n->reason));
    }
    return "none";
}

} // namespace roundtrip::testing
