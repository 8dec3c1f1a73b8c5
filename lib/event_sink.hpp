// The transport's handle on one attempt's events: the public attempt_events, built from the call's
// state the transport keeps itself (and for connection events no call owns).
#pragma once

#include "call_state.hpp"

#include <roundtrip/attempt_events.hpp>

#include <memory>
#include <vector>

namespace roundtrip::detail {

using observer_list = std::vector<std::shared_ptr<observer>>;

class event_sink : public attempt_events {
public:
    event_sink() = default;
    // The next attempt of `req`'s call, numbered as every bottom round tripper numbers them.
    event_sink(const request& req, const observer_list& observers) : attempt_events(req, observers) {}
    event_sink(const observer_list* observers, std::shared_ptr<const observer_node> scoped, std::uint64_t call,
               std::uint32_t attempt) noexcept
        : attempt_events(observers, std::move(scoped), call, attempt)
    {
    }
};

} // namespace roundtrip::detail
