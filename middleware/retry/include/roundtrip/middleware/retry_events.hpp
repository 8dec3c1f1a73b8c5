// The retry middleware's events: its decision after each failed attempt, which observers, logs and
// traces see like any event (a custom_event of this middleware, not of the core).
#pragma once

#include <roundtrip/field_writer.hpp>

#include <cstdint>
#include <string_view>

namespace roundtrip {

/// Why the retry middleware retries a failed attempt.
enum class retry_cause {
    connection_error, ///< No response: refused, reset, timeout, or closed before the response.
    status,           ///< A response whose status asks for a retry (503, 429, ...).
};

/// Why the retry middleware does not retry a failed attempt.
enum class give_up_reason {
    not_retryable,        ///< The failure is not one it retries (a 404, a canceled call, invalid input).
    not_replayable,       ///< The request may have reached the server and is not replayable.
    attempts_exhausted,   ///< Its retries are used up.
    budget_exhausted,     ///< The client's retry budget allows no more retries now.
    deadline,             ///< The wait would end past the call's deadline.
    retry_after_too_long, ///< The server's Retry-After asks for a longer wait than allowed.
};

/// Returns the enumerator's name: "connection_error", "status".
std::string_view to_string(retry_cause c) noexcept;
/// Returns the enumerator's name: "attempts_exhausted", "not_replayable", ...
std::string_view to_string(give_up_reason r) noexcept;

/// `retry_scheduled` fires when the middleware will retry: the next attempt starts after `delay`.
/// Its `attempt` is the one that failed.
struct retry_scheduled {
    static constexpr std::string_view event_name = "retry_scheduled";
    static constexpr std::string_view attribute_prefix = "roundtrip.retry";

    std::uint32_t failed_attempt = 0; ///< The attempt that failed.
    retry_cause cause = retry_cause::connection_error;
    clock::duration delay{};

    void write_fields(field_writer& out) const
    {
        out("failed_attempt", failed_attempt), out("cause", to_string(cause)), out("delay", delay);
    }
};

/// `retry_given_up` fires when the middleware will not retry a failed attempt; the call ends with it.
struct retry_given_up {
    static constexpr std::string_view event_name = "retry_given_up";
    static constexpr std::string_view attribute_prefix = "roundtrip.retry";

    std::uint32_t failed_attempt = 0;
    give_up_reason reason = give_up_reason::not_retryable;

    void write_fields(field_writer& out) const { out("failed_attempt", failed_attempt), out("reason", to_string(reason)); }
};

} // namespace roundtrip
