// The chain of layers and `next`: a coroutine layer is called directly by the layer above it (no
// spawn, no type erasure); a middleware object or the transport is reached through
// any_completion_handler.
#include "chain.hpp"
#include "completion.hpp"
#include "call_state.hpp"
#include "error_from_exception.hpp"
#include "event_sink.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <optional>

namespace roundtrip {
namespace detail {

chain::chain(const std::vector<layer>& layers, round_tripper& bottom, inline_round_tripper* inline_bottom,
             executor strand)
{
    links.reserve(layers.size() + 1);
    for (const auto& l : layers)
        links.push_back(chain_link{l.fn_, l.object_, nullptr, nullptr, strand});
    links.push_back(chain_link{{}, nullptr, &bottom, inline_bottom, strand});
}

observer_list chain::client_observers(const std::vector<layer>& layers)
{
    observer_list out;
    for (const auto& l : layers)
        if (l.client_observer_)
            out.push_back(l.client_observer_);
    return out;
}

void start_next(const chain_link* link, request req, asio::any_completion_handler<void(result)> handler)
{
    if (link->bottom)
        return chain::call_bottom(*link->bottom, std::move(req), std::move(handler));
    if (link->object)
        return link->object->handle(std::move(req), chain::next_at(link + 1), std::move(handler));

    // A coroutine layer beneath a callback-style caller: run it as a coroutine of its own, whose
    // cancellation is the caller's.
    auto slot = asio::get_associated_cancellation_slot(handler);
    auto ex = asio::get_associated_executor(handler, link->strand);
    // A layer that is a plain function (it passes the request on without a frame of its own) runs
    // here, and may throw: its error is the call's, as a coroutine layer's would be.
    std::optional<asio::awaitable<result>> layer;
    try {
        layer.emplace(link->fn(std::move(req), chain::next_at(link + 1)));
    } catch (...) {
        result failed;
        failed.error = error_from_exception(std::current_exception());
        return post_completion(std::move(handler), std::move(failed)); // never inside this call
    }
    asio::co_spawn(link->strand, std::move(*layer),
                   asio::bind_cancellation_slot(slot, asio::bind_executor(
                       ex, [h = std::move(handler)](std::exception_ptr e, result r) mutable {
                           if (e)
                               r.error = error_from_exception(e);
                           std::move(h)(std::move(r));
                       })));
}

} // namespace detail

namespace {
// What emit and emitter share: the sink over the call's observers and the request's.
void deliver(const std::shared_ptr<detail::call_state>& call, const std::shared_ptr<const detail::observer_node>& observers,
             event_data& data)
{
    if (!call)
        return;
    const detail::event_sink sink(call->client_observers, observers, call->id, call->attempts);
    sink.emit(0, [&] { return std::move(data); });
}
} // namespace

void emit(const request& req, event_data data)
{
    deliver(detail::request_access::call(req), detail::request_access::observers(req), data);
}

emitter::emitter(const request& req) noexcept
    : observers_(detail::request_access::observers(req)), call_(detail::request_access::call(req))
{
}

void emitter::operator()(event_data data) const
{
    deliver(call_, observers_, data);
}

namespace {

result failed(error_code ec)
{
    result r;
    r.error = ec;
    return r;
}

asio::awaitable<result> already(error_code ec)
{
    co_return failed(ec);
}

// Runs a coroutine layer so that what escapes it reaches the layer above as a result: `next` never
// throws. One more frame per coroutine layer, small enough for Asio's recycling allocator.
asio::awaitable<result> guarded(asio::awaitable<result> layer)
{
    try {
        co_return co_await std::move(layer);
    } catch (...) {
        co_return failed(detail::error_from_exception(std::current_exception()));
    }
}

} // namespace

asio::awaitable<result> next::operator()(request&& req) const
{
    if (link_->fn) {
        // A layer that is a plain function (no frame of its own) runs here and may throw at once.
        std::optional<asio::awaitable<result>> layer;
        try {
            layer.emplace(link_->fn(std::move(req), next(link_ + 1)));
        } catch (...) {
            return already(detail::error_from_exception(std::current_exception()));
        }
        return guarded(std::move(*layer));
    }
    if (link_->inline_bottom)
        return link_->inline_bottom->round_trip_inline(std::move(req));
    // A middleware object or a bottom of the user's own: what its start throws is a result too.
    return guarded(asio::async_initiate<const asio::use_awaitable_t<>&, void(result)>(
        [link = link_](auto handler, request r) {
            detail::start_next(link, std::move(r), asio::any_completion_handler<void(result)>(std::move(handler)));
        },
        asio::use_awaitable, std::move(req)));
}

} // namespace roundtrip
