// The per-call state a request carries down the chain, and the list of a request's scoped observers.
#pragma once

#include <roundtrip/body_source.hpp>
#include <roundtrip/events.hpp>
#include <roundtrip/request.hpp>

#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/error.hpp>
#include <boost/intrusive/list.hpp>

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace roundtrip::detail {

// An attempt the bottom round tripper runs inside the call's own coroutine (the client's transport,
// awaited directly): the call's cancellation reaches it through the call, not through a handler's
// cancellation slot.
class cancellable_attempt {
public:
    virtual void cancel() noexcept = 0;

    boost::intrusive::list_member_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>> in_call;

protected:
    ~cancellable_attempt() = default; // leaves the call's list by itself (auto_unlink)
};

// What every attempt of one call shares, whichever copy of the request it was made with.
// Only touched on the client's strand.
struct call_state {
    std::uint64_t id = 0;
    std::uint32_t attempts = 0; // attempts started so far; the next one is attempts + 1
    const std::vector<std::shared_ptr<observer>>* client_observers = nullptr; // for emit(); outlives the call
    const executor* strand = nullptr; // the client's strand, where the call runs; outlives the call
    bool request_write_started = false; // a byte of the request may have reached a server
    bool body_read_to_end = false;      // the body_source delivered its last byte and it was written

    // The cancellation slot of the call's own coroutine (the client's): a round trip awaited with
    // this slot runs inline in it (transport_impl::round_trip_inline).
    asio::cancellation_slot coroutine_slot;

    // The call's attempts in progress inside its own coroutine.
    boost::intrusive::list<cancellable_attempt,
                           boost::intrusive::member_hook<cancellable_attempt, decltype(cancellable_attempt::in_call),
                                                         &cancellable_attempt::in_call>,
                           boost::intrusive::constant_time_size<false>>
        inline_attempts;

    // Ends every attempt of the call in progress inside its coroutine with error::canceled; the
    // caller then cancels the coroutine itself (a middleware's wait, say).
    void cancel_inline_attempts() noexcept
    {
        for (auto it = inline_attempts.begin(); it != inline_attempts.end();)
            (it++)->cancel();
    }
};

struct body_source_access {
    // Whether this is the source's first finish, which it then is no longer.
    static bool first_finish(body_source& body) noexcept { return !body.finished_.exchange(true); }
};

// Tells a call's body source how the call ended: its one finish(). Whoever started the call (the
// client, or the transport when used alone) calls this when the call completes. A source passed to a
// request built anew (not a copy) belongs to two calls, the client's and the transport's own beneath
// it: the inner one ends first, knows how far the body got, and is the one the source hears from.
inline void finish_body_source(body_source& body, const call_state& call, error_code call_error) noexcept
{
    if (!body_source_access::first_finish(body))
        return;
    if (call.body_read_to_end)
        body.finish({});
    else
        body.finish(call_error ? call_error : error_code(asio::error::broken_pipe));
}

// Asio's cancellation types as a call honours them: terminal and partial end it at any point; total
// only while no byte of the request may have reached a server (nothing observable has happened).
inline bool honours(asio::cancellation_type type, const call_state& call) noexcept
{
    using ct = asio::cancellation_type;
    if ((type & (ct::terminal | ct::partial)) != ct::none)
        return true;
    return (type & ct::total) != ct::none && !call.request_write_started;
}

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
