// The chain: the client's middleware layers over its transport, built once. `next` handles point
// into its links, so the links never move after construction.
#pragma once

#include "event_sink.hpp"

#include <roundtrip/middleware.hpp>
#include <roundtrip/round_tripper.hpp>
#include <roundtrip/transport.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/strand.hpp>

#include <vector>

namespace roundtrip::detail {

using client_strand = asio::strand<executor>;

// A bottom round tripper that runs on the client's strand and can be awaited by the layer above it,
// like a coroutine middleware: no spawn, no type-erased handler, the call's cancellation through
// the call's state (call_state::inline_attempts).
class inline_round_tripper {
public:
    virtual asio::awaitable<result> round_trip_inline(request req) = 0;

protected:
    ~inline_round_tripper() = default;
};

// The client's way to its transport's inline round trip.
struct transport_access {
    static inline_round_tripper* inline_bottom(transport& t) noexcept;
};

struct chain_link {
    middleware_function fn;             // a coroutine middleware, or
    std::shared_ptr<middleware> object; // a middleware object, or
    round_tripper* bottom = nullptr;    // the round tripper beneath every middleware
    inline_round_tripper* inline_bottom = nullptr; // the same, when it can be awaited directly
    executor strand;                    // where coroutine middleware run
};

struct chain {
    // `inline_bottom`, if not null, is `bottom` seen as an inline_round_tripper.
    chain(const std::vector<layer>& layers, round_tripper& bottom, inline_round_tripper* inline_bottom,
          executor strand);

    chain(const chain&) = delete;
    chain& operator=(const chain&) = delete;

    // The observers that layers ask to register on the whole client, in chain order.
    static observer_list client_observers(const std::vector<layer>& layers);

    roundtrip::next first() const noexcept { return next_at(links.data()); }
    static roundtrip::next next_at(const chain_link* link) noexcept { return roundtrip::next(link); }

    static void call_bottom(round_tripper& rt, request req, asio::any_completion_handler<void(result)> h)
    {
        rt.do_round_trip(std::move(req), std::move(h));
    }

    std::vector<chain_link> links;
};

} // namespace roundtrip::detail
