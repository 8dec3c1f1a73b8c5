// The client: the object applications send requests through, made of a chain of middleware over a
// transport, on an executor the application gives or on a thread of its own.
#pragma once

#include <roundtrip/detail/config.hpp>
#include <roundtrip/events.hpp>
#include <roundtrip/middleware.hpp>
#include <roundtrip/request.hpp>
#include <roundtrip/response.hpp>
#include <roundtrip/result.hpp>
#include <roundtrip/round_tripper.hpp>
#include <roundtrip/transport.hpp>

#include <boost/asio/associator.hpp>
#include <boost/asio/dispatch.hpp>

#include <memory>
#include <utility>
#include <vector>

namespace roundtrip {

/// `client_options` say what a client is made of.
struct client_options {
    /// The chain, outermost first: the first layer sees each request first and each result last.
    std::vector<layer> middleware;
    /// Observers of every event of every call, and of connection events no call owns.
    std::vector<std::shared_ptr<observer>> observers;
    /// The options of the pooled HTTP/1.1 transport the client builds beneath the chain, unless
    /// `bottom` gives one.
    transport_options transport;
    /// The round tripper beneath the chain, as Go's `Client.Transport`: null (the default) makes the
    /// client build a `transport` from `transport`, on the client's strand, and close it with the
    /// client. Give one to put something else at the bottom: a scripted fake for tests, a transport
    /// shared by several clients. The client does not close a bottom it was given; `stats()` and
    /// `close_idle()` reach it when it is a `roundtrip::transport`. A bottom of your own emits its
    /// events to the observers it was built with (and to the request's scoped observers), not to
    /// `observers`: those see the client's own events (`call_start`, `call_done`, a middleware's).
    /// `attempt_events` (attempt_events.hpp) is how it numbers attempts and delivers events;
    /// `roundtrip::testing::fake_transport` is one.
    std::shared_ptr<round_tripper> bottom;
    /// The default deadline of a call, from its start; a request's own `timeout` overrides it.
    /// 0 means none (each phase is still bounded by `transport.timeouts`).
    clock::duration timeout{};
};

namespace detail {
class client_impl;
struct owned_context;

// Adapts a handler of (error_code, response) to the void(result) of the chain, keeping the
// handler's associated executor, allocator and cancellation slot. Invoked, it runs the handler on
// the handler's own executor (`fallback`, the client's strand, when it has none), through that
// executor's concrete type: asking the type-erased handler for its executor would wrap it in an
// any_completion_executor, which allocates. Only invoked from the client's strand, never inside
// async_send.
template <class Handler>
struct unwrap_result {
    Handler handler;
    executor fallback;

    void operator()(result r)
    {
        auto ex = asio::get_associated_executor(handler, fallback);
        if (ex == fallback) // the client's strand, which invokes this: run here, without a hop
            return std::move(handler)(r.error, std::move(r.response));
        asio::dispatch(ex, [h = std::move(handler), r = std::move(r)]() mutable {
            std::move(h)(r.error, std::move(r.response));
        });
    }
};
} // namespace detail

/// A `client` sends HTTP requests through a chain of middleware over a transport.
///
/// Thread safety: every member function may be called from any thread at once. All of the client's
/// work (middleware coroutines, the transport, event delivery) runs on one strand of the executor it
/// was built with; completion handlers run on their own associated executor (by default that strand).
///
/// Lifetime: the client may be destroyed with calls in flight; destruction closes it, and those calls
/// complete with `error::canceled`.
class client : public round_tripper {
public:
    /// Builds a client that runs on a thread of its own, for blocking use or when the application has
    /// no io_context. Destruction closes it and joins the thread, so it must not be destroyed from one
    /// of its own completion handlers.
    explicit client(client_options options = {});

    /// Builds a client whose work runs on a strand of `ex`. The application runs `ex`'s context.
    explicit client(executor ex, client_options options = {});

    ~client() override;
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    /// Sends `req` through the chain and completes with `(error_code, response)`. A response of any
    /// status is success; an error_code means no response was obtained (compare it with `condition`s).
    ///
    /// Accepts any completion token: a callback, `asio::use_awaitable`, `asio::use_future`,
    /// `asio::deferred`. The handler never runs inside this function.
    ///
    /// Per-operation cancellation through the handler's associated cancellation slot, with Asio's
    /// meanings: terminal and partial cancellation end the call with `error::canceled` at any point;
    /// total cancellation does so only while no byte of the request has been written (afterwards the
    /// server may have acted on it, so the request is declined and the call goes on). The call's deadline (the
    /// request's `timeout` or `client_options::timeout`) ends it with `error::deadline_exceeded`.
    template <asio::completion_token_for<void(error_code, response)> Token>
    auto async_send(request req, Token&& token)
    {
        return asio::async_initiate<Token, void(error_code, response)>(
            [this](auto handler, request r) {
                using handler_type = decltype(handler);
                send_delivering(std::move(r), asio::any_completion_handler<void(result)>(
                                                  detail::unwrap_result<handler_type>{std::move(handler), get_executor()}));
            },
            token, std::move(req));
    }

    /// Sends `req` and blocks until its response; throws `call_failed` (a `boost::system::system_error`
    /// whose what() reads "CLASS: message") on failure.
    /// Must not be called from a thread running the client's executor (it would wait for itself).
    response send(request req);

    /// Sends `req` and blocks until its response; sets `ec` on failure instead of throwing.
    response send(request req, error_code& ec);

    /// Sends `req` and blocks until its result, with the attempt report.
    result round_trip(request req);

    /// Ends every call in flight with `error::canceled`, closes all connections of the client's own
    /// transport and makes later calls fail with `error::canceled`. Returns at once; the calls
    /// complete on their executors. A bottom given in `client_options::bottom` stays open.
    void close();

    /// Closes every idle connection of the client's pool (`conn_closed{close_idle}`). Returns at once.
    /// Does nothing when the bottom is not a `transport`.
    void close_idle();

    /// Returns a snapshot of the client's connection pool. Safe from any thread. Empty when the
    /// bottom is not a `transport`.
    pool_stats stats() const;

    /// Returns the strand the client's work runs on.
    executor get_executor() const noexcept;

private:
    void do_round_trip(request req, asio::any_completion_handler<signature> handler) override;
    // As do_round_trip, for a handler that runs itself on its own executor (unwrap_result).
    void send_delivering(request&& req, asio::any_completion_handler<signature> handler);
    std::unique_ptr<detail::owned_context> owned_; // only for a client that runs its own thread
    std::shared_ptr<detail::client_impl> impl_;
};

} // namespace roundtrip

template <template <class, class> class Associator, class Handler, class DefaultCandidate>
struct boost::asio::associator<Associator, roundtrip::detail::unwrap_result<Handler>, DefaultCandidate>
    : Associator<Handler, DefaultCandidate> {
    static typename Associator<Handler, DefaultCandidate>::type
    get(const roundtrip::detail::unwrap_result<Handler>& h) noexcept
    {
        return Associator<Handler, DefaultCandidate>::get(h.handler);
    }
    static auto get(const roundtrip::detail::unwrap_result<Handler>& h, const DefaultCandidate& c) noexcept
        -> decltype(Associator<Handler, DefaultCandidate>::get(h.handler, c))
    {
        return Associator<Handler, DefaultCandidate>::get(h.handler, c);
    }
};
