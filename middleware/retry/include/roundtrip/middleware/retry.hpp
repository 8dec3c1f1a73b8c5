// The retry middleware: resends a failed call when that is safe, with exponential backoff and full
// jitter, honouring Retry-After, within a retry budget shared by the client's calls.
#pragma once

#include <roundtrip/middleware.hpp>
#include <roundtrip/middleware/retry_events.hpp>

#include <chrono>
#include <functional>
#include <vector>

namespace roundtrip {

/// `retry_options` configure the retry middleware; each default is the one stated.
struct retry_options {
    /// Retries per call, beyond the first attempt; the transport's own transparent retries do not
    /// count. Default 2.
    unsigned max_retries = 2;
    /// Backoff: before retry n (from 0) wait a random time in [0, min(max_delay, base_delay * 2^n)]
    /// ("full jitter"). Defaults 100 ms and 10 s.
    clock::duration base_delay = std::chrono::milliseconds(100);
    clock::duration max_delay = std::chrono::seconds(10);
    /// Response statuses that are retried. Default 408, 429, 500, 502, 503, 504.
    std::vector<unsigned> statuses{408, 429, 500, 502, 503, 504};
    /// A `Retry-After` (seconds or HTTP-date) is waited for instead of the backoff, up to this long; a
    /// longer one ends the call with that response at once. Default 30 s.
    clock::duration max_retry_after = std::chrono::seconds(30);
    /// Bounds each attempt (it shortens that attempt's deadline); 0 means only the call's deadline.
    clock::duration per_attempt_timeout{};
    /// The budget: over the last 10 s, retries may be at most `budget_ratio` of the calls, but
    /// `budget_min_retries` are always allowed. Defaults 0.2 and 10 (Envoy's idea: a failing server
    /// sees at most 20% more load, not three times as much).
    double budget_ratio = 0.2;
    unsigned budget_min_retries = 10;

    /// Time, injectable for tests. `sleep` waits (default: a steady_timer on the client's strand, so
    /// cancellation reaches it); `random` returns a number in [0, 1) (default: a per-thread
    /// generator); `now` and `wall_now` read the clocks (Retry-After dates use the wall clock).
    std::function<asio::awaitable<void>(clock::duration)> sleep;
    std::function<double()> random;
    std::function<clock::time_point()> now;
    std::function<std::chrono::system_clock::time_point()> wall_now;
};

/// Returns the retry middleware. A failed attempt is retried when:
///   - it failed with a connection error (refused, reset, timeout, closed before the response) or a
///     status in `statuses`;
///   - resending is safe: nothing was written (`request_progress::not_sent`), or the request is
///     replayable (`is_replayable`: an idempotent method or an `Idempotency-Key`, and a body that
///     can be sent again) — a POST that may have reached the server is never resent;
///   - retries and budget remain, and the wait ends before the call's deadline.
/// After a failure on a reused connection the next attempt asks for a new connection. Each decision
/// is an event of this middleware (`retry_scheduled`, `retry_given_up`, retry_events.hpp) for the
/// client's observers and the middleware above. A retried response's streamed body is discarded
/// (`body_reader::discard`: drained during the backoff, up to 64 KiB and 100 ms) so that its
/// connection can serve the retry. The call ends with the last attempt's result: a response (of any status) or an error.
layer retry(retry_options options = {});

} // namespace roundtrip
