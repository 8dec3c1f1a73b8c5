// Middleware: the layers that wrap the next round tripper, in a coroutine form and a type-erased
// object form, and `next`, the rest of the chain that a middleware calls.
#pragma once

#include <roundtrip/events.hpp>
#include <roundtrip/request.hpp>
#include <roundtrip/result.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>

#include <concepts>
#include <functional>
#include <memory>

namespace roundtrip {

namespace detail {
struct chain;
struct chain_link;
void start_next(const chain_link* link, request req, asio::any_completion_handler<void(result)> handler);
} // namespace detail

/// A `next` is the rest of the chain beneath a middleware: the following middleware, down to the
/// transport. A middleware may call it zero, one or several times, one call at a time or
/// concurrently; each call is a new round trip with its own attempt number(s). It is a cheap
/// handle, valid for as long as the client that built the chain.
class next {
public:
    /// Sends `req` through the rest of the chain; for coroutine middleware.
    ///
    /// Takes the request by reference and moves (or copies) it into the rest of the chain before
    /// returning: `co_await next(std::move(req))` keeps no second request in the caller's
    /// coroutine frame, which a by-value parameter would (a temporary lives to the end of the
    /// co_await), and a frame that stays under about 1 KiB is one Asio recycles.
    asio::awaitable<result> operator()(request&& req) const;
    /// Sends a copy of `req` through the rest of the chain.
    asio::awaitable<result> operator()(const request& req) const { return (*this)(request(req)); }

    /// Sends `req` through the rest of the chain with any completion token; for middleware written
    /// with callbacks or `async_compose`. The handler runs on the client's strand unless it has an
    /// associated executor of its own.
    template <asio::completion_token_for<void(result)> Token>
    auto async_round_trip(request req, Token&& token) const
    {
        return asio::async_initiate<Token, void(result)>(
            [link = link_](auto handler, request r) {
                detail::start_next(link, std::move(r),
                                   asio::any_completion_handler<void(result)>(std::move(handler)));
            },
            token, std::move(req));
    }

private:
    friend struct detail::chain;
    explicit next(const detail::chain_link* link) noexcept : link_(link) {}
    const detail::chain_link* link_;
};

/// A `middleware_fn` is a middleware written as a C++20 coroutine: it receives the request and
/// `next`, may change the request, call `next` zero or more times, inspect or replace the result,
/// and returns a result. It runs on the client's strand. Errors are returned as values in the
/// result; an exception that escapes anyway becomes the result's error: a `system_error`'s own code,
/// `error::middleware_threw` for anything else.
using middleware_fn = std::function<asio::awaitable<result>(request, next)>;

/// A `middleware` is the type-erased object form of a middleware, for plugins written with
/// callbacks or composed at run time, and for middleware that observe the whole client.
class middleware {
public:
    virtual ~middleware() = default;

    /// Returns an observer that receives every event of the client, including connection events
    /// no call owns, or null (the default). Called once, when the chain is built.
    virtual std::shared_ptr<observer> client_observer() { return nullptr; }

    /// Handles one request. Must invoke `handler` exactly once, never before returning. `handler`'s
    /// associated cancellation slot carries the caller's cancellation; pass it on to `next`.
    virtual void handle(request req, next next, asio::any_completion_handler<void(result)> handler) = 0;
};

/// Delivers an event a middleware reports about its call (a retry decision) to the client's observers
/// and to the observers of `req` (those of middleware above the caller), like the transport's events.
/// `req` is the request the middleware holds; the event's attempt number is the call's last attempt.
/// Costs nothing when nobody listens. Outside a client call it does nothing.
void emit(const request& req, event_data data);

/// Delivers an event of the middleware's own (a `custom_event`, middleware_event.hpp) as above:
/// `emit(req, token_refreshed{took})`. Observers receive it as a `middleware_event`, read it back with
/// `event_cast<token_refreshed>(e)`, and see its fields through `write_fields` and `describe`.
template <custom_event T>
void emit(const request& req, const T& e)
{
    emit(req, event_data(middleware_event(e)));
}

/// A `layer` is one element of a client's chain: a coroutine middleware or a middleware object.
/// The first layer of a chain sees each request first and each result last.
class layer {
public:
    /// A coroutine middleware, with an optional observer of the whole client.
    layer(middleware_fn fn, std::shared_ptr<observer> client_observer = nullptr)
        : fn_(std::move(fn)), client_observer_(std::move(client_observer))
    {
    }

    /// Any callable with the signature of `middleware_fn`, such as a coroutine lambda.
    template <class F>
        requires std::is_invocable_r_v<asio::awaitable<result>, F&, request, next>
                 && (!std::is_same_v<std::remove_cvref_t<F>, layer>)
                 && (!std::is_same_v<std::remove_cvref_t<F>, middleware_fn>)
    layer(F f) : fn_(std::move(f))
    {
    }

    /// A middleware object; its `client_observer()` is asked for when the chain is built.
    template <std::derived_from<middleware> M>
    layer(std::shared_ptr<M> object) : object_(std::move(object))
    {
    }

private:
    friend struct detail::chain;
    middleware_fn fn_;
    std::shared_ptr<middleware> object_;
    std::shared_ptr<observer> client_observer_;
};

} // namespace roundtrip
