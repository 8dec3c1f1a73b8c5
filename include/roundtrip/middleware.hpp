// Middleware: the layers that wrap the next round tripper, written as coroutines or as objects, and
// `next`, the rest of the chain that a middleware calls.
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
///
/// `next` completes with a result and never throws: a failure beneath, cancellation included, is
/// the result's `error`, and so is an exception a layer beneath let escape.
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

/// `coroutine_middleware` is the signature of a middleware written as a C++20 coroutine: a callable
/// taking the request by value and `next`, returning `asio::awaitable<result>`. It may change the
/// request, call `next` zero or more times, inspect or replace the result, and returns a result. It
/// runs on the client's strand. Errors are returned as values in the result; an exception that
/// escapes anyway becomes the result's error (a `system_error`'s own code, `error::canceled` for
/// `operation_aborted`, `error::middleware_threw` for anything else), so the layer above always
/// receives a result from `next`, never an exception.
template <class F>
concept coroutine_middleware = std::is_invocable_r_v<asio::awaitable<result>, F&, request, next>;

/// A `middleware` is the object form of a middleware, for one written with callbacks or
/// `async_compose` rather than as a coroutine. Put it in a chain as `std::shared_ptr` (a `layer`).
class middleware {
public:
    virtual ~middleware() = default;

    /// Handles one request. Must invoke `handler` exactly once, never before returning; report a
    /// failure through the handler, not by throwing. `handler`'s associated cancellation slot carries
    /// the caller's cancellation; pass it on to `next`.
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

/// An `emitter` keeps what `emit` needs of a request, its call and its observers, without the
/// request: for a middleware that moves the request into `next` and reports an event about the
/// result. Made before the move, `emitter events(req); result r = co_await next(std::move(req));
/// events(content_decoded{...});` delivers as `emit(req, ...)` would have. Copying it copies two
/// shared pointers and allocates nothing.
class emitter {
public:
    explicit emitter(const request& req) noexcept;

    /// Delivers `data` as `emit(req, data)` does.
    void operator()(event_data data) const;
    /// Delivers an event of the middleware's own as `emit(req, e)` does.
    template <custom_event T>
    void operator()(const T& e) const
    {
        (*this)(event_data(middleware_event(e)));
    }

private:
    std::shared_ptr<const detail::observer_node> observers_;
    std::shared_ptr<detail::call_state> call_;
};

namespace detail {
using middleware_function = std::function<asio::awaitable<result>(request, next)>;
template <class T>
inline constexpr bool is_middleware_object = false;
template <std::derived_from<middleware> M>
inline constexpr bool is_middleware_object<std::shared_ptr<M>> = true;
} // namespace detail

/// A `layer` is one middleware of a client's chain (`client_options::middleware`), in either form:
///
///   - a coroutine: any callable satisfying `coroutine_middleware`, such as
///     `[](request req, next next) -> asio::awaitable<result> { co_return co_await next(std::move(req)); }`;
///   - an object: a `std::shared_ptr` to a class derived from `middleware`.
///
/// Either comes with an optional observer of the whole client: it receives every event of every
/// call and the connection events no call owns (an idle connection closed by the pool). That is
/// the one way a middleware adds a client-wide observer; an application adds its own to
/// `client_options::observers`. To observe only the attempts beneath it, a middleware calls
/// `request::observe` instead. The first layer of a chain sees each request first and each result
/// last.
class layer {
public:
    /// A coroutine middleware, with an optional observer of the whole client.
    template <coroutine_middleware F>
        requires(!std::same_as<std::remove_cvref_t<F>, layer>)
    layer(F fn, std::shared_ptr<observer> client_observer = nullptr)
        : fn_(std::move(fn)), client_observer_(std::move(client_observer))
    {
    }

    /// A middleware object, with an optional observer of the whole client.
    template <std::derived_from<middleware> M>
    layer(std::shared_ptr<M> object, std::shared_ptr<observer> client_observer = nullptr)
        : object_(std::move(object)), client_observer_(std::move(client_observer))
    {
    }

    /// Anything else is not a middleware: this constructor exists to say so at compile time, instead
    /// of an overload-resolution failure in `client_options`'s initializer.
    template <class T>
        requires(!coroutine_middleware<T> && !detail::is_middleware_object<std::remove_cvref_t<T>>
                 && !std::same_as<std::remove_cvref_t<T>, layer>)
    layer(T&&, std::shared_ptr<observer> = nullptr)
    {
        static_assert(coroutine_middleware<T>,
                      "not a roundtrip middleware: a middleware is either a callable "
                      "asio::awaitable<roundtrip::result>(roundtrip::request, roundtrip::next) (take the "
                      "request by value and next; return the awaitable, e.g. a coroutine lambda), or a "
                      "std::shared_ptr to a class derived from roundtrip::middleware");
    }

private:
    friend struct detail::chain;
    detail::middleware_function fn_;
    std::shared_ptr<middleware> object_;
    std::shared_ptr<observer> client_observer_;
};

} // namespace roundtrip
