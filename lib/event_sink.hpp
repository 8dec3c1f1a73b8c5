// Delivers one attempt's events to the client's observers, then to the request's scoped observers,
// outermost first. Builds nothing when nobody listens: `emit` takes the payload lazily.
#pragma once

#include "call_state.hpp"

#include <roundtrip/events.hpp>

#include <memory>
#include <vector>

namespace roundtrip::detail {

using observer_list = std::vector<std::shared_ptr<observer>>;

class event_sink {
public:
    event_sink() = default;
    event_sink(const observer_list* client_observers, std::shared_ptr<const observer_node> scoped,
               std::uint64_t call, std::uint32_t attempt) noexcept
        : client_(client_observers), scoped_(std::move(scoped)), call_(call), attempt_(attempt)
    {
    }

    bool active() const noexcept { return scoped_ || (client_ && !client_->empty()); }
    std::uint64_t call() const noexcept { return call_; }
    std::uint32_t attempt() const noexcept { return attempt_; }

    // Emits the event `make()` returns, on connection `conn`; `make` runs only when someone listens.
    template <class MakeData>
    void emit(std::uint64_t conn, MakeData&& make) const
    {
        if (!active())
            return;
        deliver(event{call_, attempt_, conn, clock::now(), make()});
    }

    // Whether a scoped observer asked for the attempt-header hook.
    bool stamps_headers() const noexcept;

    // Runs the scoped observers' attempt-header hooks on `headers`, outermost first.
    void stamp_headers(header_fields& headers) const noexcept;

    void deliver(const event& e) const noexcept;

private:
    const observer_list* client_ = nullptr;
    std::shared_ptr<const observer_node> scoped_;
    std::uint64_t call_ = 0;
    std::uint32_t attempt_ = 0;
};

} // namespace roundtrip::detail
