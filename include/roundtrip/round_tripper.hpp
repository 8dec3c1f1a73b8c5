// The round tripper: the one-operation interface every layer of a client implements.
#pragma once

#include <roundtrip/request.hpp>
#include <roundtrip/result.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>

namespace roundtrip {

namespace detail {
struct chain;
}

/// A `round_tripper` sends one request and completes once with a `result`: a response or an
/// error_code, plus the attempt report. Any HTTP status counts as a response. It does not follow
/// redirects or judge statuses. Implementations are safe to call from any thread.
///
/// This is the type-erasure boundary: `async_round_trip` accepts any completion token and forwards
/// to the private virtual `do_round_trip`, so chains are composed at run time and compiled once.
class round_tripper {
public:
    /// The completion signature of `async_round_trip`.
    using signature = void(result);

    virtual ~round_tripper() = default;

    /// Starts sending `req` and completes with its result.
    ///
    /// @param req The request, taken by value.
    /// @param token A completion token for `void(result)`: a callback, `asio::use_awaitable`,
    ///   `asio::use_future`, `asio::deferred`, ... The handler is never invoked from within this
    ///   function; it runs on its associated executor (default: this round tripper's executor).
    ///
    /// Per-operation cancellation: terminal and partial cancellation through the handler's
    /// associated cancellation slot end the operation with `error::canceled`.
    template <asio::completion_token_for<signature> Token>
    auto async_round_trip(request req, Token&& token)
    {
        return asio::async_initiate<Token, signature>(
            [this](auto handler, request r) {
                do_round_trip(std::move(r), asio::any_completion_handler<signature>(std::move(handler)));
            },
            token, std::move(req));
    }

private:
    friend struct detail::chain;

    /// Starts the round trip. Implementations invoke `handler` exactly once, never before
    /// returning, on the handler's associated executor.
    virtual void do_round_trip(request req, asio::any_completion_handler<signature> handler) = 0;
};

} // namespace roundtrip
