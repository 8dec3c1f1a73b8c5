// The per-call state a request carries down the chain, and the list of a request's scoped observers.
#pragma once

#include <roundtrip/events.hpp>
#include <roundtrip/request.hpp>

#include <cstdint>
#include <memory>
#include <vector>

namespace roundtrip::detail {

// What every attempt of one call shares, whichever copy of the request it was made with.
// Only touched on the client's strand.
struct call_state {
    std::uint64_t id = 0;
    std::uint32_t attempts = 0; // attempts started so far; the next one is attempts + 1
    const std::vector<std::shared_ptr<observer>>* client_observers = nullptr; // for emit(); outlives the call
};

// One scoped observer of a request. The list is persistent: a request that adds an observer points at
// a new node whose `outer` is the list it had, so copies made earlier keep their shorter list.
struct observer_node {
    std::shared_ptr<observer> target;
    observer_hooks hooks;
    std::shared_ptr<const observer_node> outer;
};

struct request_access {
    static const std::shared_ptr<const observer_node>& observers(const request& r) noexcept { return r.observers_; }
    static const std::shared_ptr<call_state>& call(const request& r) noexcept { return r.call_; }
    static void set_call(request& r, std::shared_ptr<call_state> c) noexcept { r.call_ = std::move(c); }
};

} // namespace roundtrip::detail
