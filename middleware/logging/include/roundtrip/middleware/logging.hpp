// The logging middleware: writes each call to an spdlog logger, at the detail chosen (OkHttp's levels),
// and each attempt's lifecycle events at debug level, with secrets redacted.
#pragma once

#include <roundtrip/middleware.hpp>
#include <roundtrip/redaction.hpp>

#include <spdlog/fwd.h>

#include <cstddef>
#include <memory>

namespace roundtrip {

/// How much of each call the logging middleware writes, at info level.
enum class log_detail {
    none,    ///< Nothing (lifecycle events may still be logged at debug level).
    basic,   ///< `--> GET url (N-byte body)` and `<-- 200 OK url (12 ms, N-byte body)`, or the failure.
    headers, ///< Basic, plus every request and response header field, redacted.
    body,    ///< Headers, plus the bodies: text up to `max_body_bytes`, binary bodies by size only.
};

/// `logging_options` configure the logging middleware; each default is the one stated.
struct logging_options {
    /// Where lines go; null means spdlog's default logger, looked up on each call.
    std::shared_ptr<spdlog::logger> logger;
    /// Default `basic`.
    log_detail detail = log_detail::basic;
    /// What is secret in headers and URLs. Default: credentials, cookies and URL user info.
    roundtrip::redaction redaction;
    /// The most of one body written at `body` detail; the rest is counted, not shown. Default 4 KiB.
    std::size_t max_body_bytes = 4096;
    /// Also write each attempt's lifecycle events (lookup, connect, got_conn with reuse and idle time,
    /// first byte, the connection's fate) at debug level, prefixed with the call and attempt.
    bool lifecycle = true;
};

/// Returns the logging middleware. Put it first in the chain to log what the application sent and
/// got; put it last (just above the transport) to log every attempt a retry makes. When the logger
/// would discard every line (level above info, or above debug for the lifecycle), the middleware
/// formats nothing, adds no observer and only passes the request on.
layer logging(logging_options options = {});

} // namespace roundtrip
