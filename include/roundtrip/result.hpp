// What a round trip yields: a response or an error, and what the transport learned about the attempt.
#pragma once

#include <roundtrip/detail/config.hpp>
#include <roundtrip/response.hpp>

#include <cstdint>

namespace roundtrip {

/// How far the last attempt's request got. Retry decisions rest on this: a request that may have
/// reached the server is resent only when it is replayable.
enum class request_progress : std::uint8_t {
    /// No byte of the request was written: resending it is always safe.
    not_sent,
    /// Some or all of the request was written and no response byte arrived: the server may have
    /// processed it.
    possibly_processed,
    /// At least one byte of the response arrived.
    response_started,
};

/// An `attempt_report` says what the transport learned about the call's last attempt.
struct attempt_report {
    /// The number of the last attempt, from 1; every attempt counts, a transport's transparent
    /// retries and a middleware's repeated calls to `next` alike. 0 when no attempt was made
    /// (a middleware answered without calling `next`, or the request was invalid).
    std::uint32_t attempts = 0;
    request_progress progress = request_progress::not_sent;
    /// The connection served an earlier request.
    bool reused = false;
    /// The connection's id, 0 when the attempt got none.
    std::uint64_t conn = 0;
};

/// A `result` is what a round tripper completes with: a response, or an error_code when no response
/// was obtained, and in both cases the attempt report. Errors travel as values: between middleware,
/// nothing is thrown.
struct result {
    error_code error;
    roundtrip::response response; ///< Meaningful only when `error` is success.
    attempt_report attempt;

    /// Returns true when there is a response (of any status).
    explicit operator bool() const noexcept { return !error; }
};

} // namespace roundtrip
