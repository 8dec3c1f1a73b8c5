// Name resolution behind a small interface: the default resolver runs lookups concurrently on a
// small thread pool; the static resolver answers from a fixed table (tests, pinned hosts).
#pragma once

#include <roundtrip/detail/config.hpp>
#include <roundtrip/events.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/ip/address.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace roundtrip {

/// A `resolver` turns a host name into the addresses to connect to, in the order to try them.
class resolver {
public:
    /// The completion signature of `async_resolve`.
    using signature = void(error_code, std::vector<endpoint>);

    virtual ~resolver() = default;

    /// Looks up `host` and completes with its addresses, each with `port`.
    ///
    /// Completes with `error::host_not_found` when the name has no address, `error::dns_failed` for
    /// other failures. Per-operation cancellation (terminal, partial, total) completes the operation
    /// at once with `error::canceled`, abandoning the lookup: a slow lookup never holds up its caller.
    /// The handler never runs inside this function; it runs on its associated executor (without one,
    /// on whichever thread finished the lookup: bind one).
    template <asio::completion_token_for<signature> Token>
    auto async_resolve(std::string_view host, std::uint16_t port, Token&& token)
    {
        return asio::async_initiate<Token, signature>(
            [this](auto handler, std::string_view h, std::uint16_t p) {
                do_resolve(std::string(h), p, asio::any_completion_handler<signature>(std::move(handler)));
            },
            token, host, port);
    }

private:
    /// Implementations invoke or destroy every handler before the execution context of the
    /// handler's executor is destroyed (a handler holds that executor).
    virtual void do_resolve(std::string host, std::uint16_t port,
                            asio::any_completion_handler<signature> handler) = 0;
};

/// A `system_resolver` calls `getaddrinfo` on a pool of its own threads, so lookups run concurrently
/// and a slow one stalls nobody but its caller. (Asio's own resolver runs one lookup at a time per
/// io_context and cannot be cancelled.) A cancelled lookup's thread finishes it and drops the answer.
/// Thread-safe. Destroying it does not wait: lookups still in progress finish on their own threads
/// and are dropped, and pending ones never start; their handlers must have completed (cancel them).
class system_resolver : public resolver {
public:
    /// Starts `threads` lookup threads (at least 1).
    explicit system_resolver(std::size_t threads = 4);
    ~system_resolver() override;

private:
    void do_resolve(std::string host, std::uint16_t port,
                    asio::any_completion_handler<signature> handler) override;
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// A `static_resolver` answers from a table of host names to addresses, without any lookup; names not
/// in the table fail with `error::host_not_found`. Thread-safe; the table is fixed at construction.
class static_resolver : public resolver {
public:
    explicit static_resolver(std::map<std::string, std::vector<asio::ip::address>, std::less<>> table);

private:
    void do_resolve(std::string host, std::uint16_t port,
                    asio::any_completion_handler<signature> handler) override;
    std::map<std::string, std::vector<asio::ip::address>, std::less<>> table_;
};

} // namespace roundtrip
