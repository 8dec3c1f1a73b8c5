// How a round tripper at the bottom of a chain numbers its attempts and reports their lifecycle
// events, as roundtrip's own transport does.
#pragma once

#include <roundtrip/events.hpp>
#include <roundtrip/header_fields.hpp>
#include <roundtrip/result.hpp>

#include <concepts>
#include <cstdint>
#include <memory>
#include <vector>

namespace roundtrip {

class request;

namespace detail {
struct observer_node;
}

/// An `attempt_events` is one attempt of a call, seen from the round tripper that makes it: its
/// number within the call, and the delivery of its events to the observers that want them — the
/// round tripper's own (those it was built with) first, then the request's scoped observers
/// (`request::observe`), outermost first. roundtrip's transport makes one per attempt; a round tripper
/// of your own at the bottom of a client (`client_options::bottom`: a scripted fake, a transport over
/// another protocol) makes one the same way, so that every middleware above it sees its attempts
/// like the transport's. Events follow the contract at the top of events.hpp.
///
/// Cheap to copy; used on one thread at a time. Delivering costs nothing when nobody listens.
class attempt_events {
public:
    /// Starts the next attempt of `req`'s call: the call's attempt count goes up by one, and this
    /// attempt carries the new number. Outside a client call (the round tripper used on its own), the
    /// call id is 0 and the attempt is number 1. `observers` must outlive every copy of this object:
    /// events of a connection may arrive after the call completed.
    attempt_events(const request& req, const std::vector<std::shared_ptr<observer>>& observers);
    attempt_events(const request& req, std::vector<std::shared_ptr<observer>>&& observers) = delete; // dangles

    /// The call's id (`event::call`), 0 outside a client call.
    std::uint64_t call() const noexcept { return call_; }
    /// The attempt's number within its call (`event::attempt`, `attempt_report::attempts`).
    std::uint32_t attempt() const noexcept { return attempt_; }
    /// Whether anyone listens: when false, `emit` builds nothing.
    bool active() const noexcept { return scoped_ || (observers_ && !observers_->empty()); }

    /// Delivers the event `make()` returns, on connection `conn` (0: none), stamped with the attempt's
    /// ids and the current time. `make` is only called when someone listens, so building a payload
    /// (formatting an address, say) costs nothing otherwise.
    template <class MakeData>
        requires std::convertible_to<std::invoke_result_t<MakeData&>, event_data>
    void emit(std::uint64_t conn, MakeData&& make) const
    {
        if (!active())
            return;
        deliver(event{call_, attempt_, conn, clock::now(), make()});
    }

    /// Delivers `e` as it is, with the ids and time it carries; for events of a connection after its
    /// attempt (`conn_closed` of an idle connection: call and attempt 0).
    void deliver(const event& e) const noexcept;

    /// Whether a scoped observer asked for the attempt-header hook (`observer_hooks::events_and_headers`).
    bool stamps_headers() const noexcept;
    /// Runs the scoped observers' `on_attempt_headers` on `headers`, outermost first: call it on the
    /// attempt's own copy of the request's headers just before writing them.
    void stamp_headers(header_fields& headers) const noexcept;

    /// Returns the executor `req`'s call runs on — the client's strand — or an empty executor outside
    /// a client call. A bottom round tripper runs its attempt there, as roundtrip's transport does:
    /// observers receive events on the client's strand (events.hpp), and the call's state (the
    /// attempt count, the two marks below) is only touched there.
    static executor call_executor(const request& req) noexcept;

    /// How many times roundtrip's transport resends a request by itself, at most, per round trip.
    static constexpr int max_transparent_retries = 8;

    /// Returns whether roundtrip's transport resends `req` by itself after an attempt ended with `r`:
    /// the attempt failed on a reused connection before any response byte (the server had closed or
    /// reset it), and resending is safe — nothing was written, or `req` is replayable. A bottom round
    /// tripper of your own that pools connections follows the same rule.
    static bool retries_transparently(const request& req, const result& r) noexcept;

    /// Tells the call that a byte of the request may have reached a server: from now on the call
    /// declines total cancellation (client.hpp), as it does once roundtrip's transport starts writing.
    static void request_write_started(const request& req) noexcept;
    /// Tells the call that its `body_stream` delivered its last byte and all of it was written: the
    /// client then tells the source its body was sent (`body_source::finish` with success).
    static void request_body_sent(const request& req) noexcept;

protected:
    /// For roundtrip's transport, which keeps the call's state itself.
    attempt_events(const std::vector<std::shared_ptr<observer>>* observers,
                   std::shared_ptr<const detail::observer_node> scoped, std::uint64_t call,
                   std::uint32_t attempt) noexcept
        : observers_(observers), scoped_(std::move(scoped)), call_(call), attempt_(attempt)
    {
    }
    attempt_events() = default;

private:
    const std::vector<std::shared_ptr<observer>>* observers_ = nullptr;
    std::shared_ptr<const detail::observer_node> scoped_;
    std::uint64_t call_ = 0;
    std::uint32_t attempt_ = 0;
};

} // namespace roundtrip
