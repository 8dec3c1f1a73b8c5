// The chain: the client's middleware layers over its transport, built once. `next` handles point
// into its links, so the links never move after construction.
#pragma once

#include "event_sink.hpp"

#include <roundtrip/middleware.hpp>
#include <roundtrip/round_tripper.hpp>

#include <boost/asio/strand.hpp>

#include <vector>

namespace roundtrip::detail {

using client_strand = asio::strand<executor>;

struct chain_link {
    middleware_fn fn;                   // a coroutine middleware, or
    std::shared_ptr<middleware> object; // a middleware object, or
    round_tripper* bottom = nullptr;    // the transport beneath every middleware
    executor strand;                    // where coroutine middleware run
};

struct chain {
    chain(const std::vector<layer>& layers, round_tripper& bottom, executor strand);

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
