// The tracing middleware: W3C trace context on every attempt, and OpenTelemetry spans for each call,
// each attempt and each phase of a new connection, built from the lifecycle events alone.
#pragma once

#include <roundtrip/middleware.hpp>
#include <roundtrip/middleware/tracing/sampler.hpp>
#include <roundtrip/middleware/tracing/span.hpp>
#include <roundtrip/middleware/tracing/span_exporter.hpp>
#include <roundtrip/middleware/tracing/trace_context.hpp>
#include <roundtrip/redaction.hpp>

#include <memory>

namespace roundtrip {

/// How the phases of a connection dialed for an attempt (waiting for a connection, the name lookup,
/// each connect, the TLS handshake) are recorded.
enum class phase_detail {
    spans,  ///< As child spans of the attempt's span.
    events, ///< As events of the attempt's span: fewer spans for a collector to store.
    none,   ///< Not at all.
};

/// `tracing_options` configure the tracing middleware.
struct tracing_options {
    /// Where finished spans go. Null: nothing is recorded; the trace context is still propagated.
    std::shared_ptr<span_exporter> exporter;
    /// Which calls are recorded. Default: follow the caller's `traceparent`, else record every call.
    roundtrip::sampler sampler = roundtrip::sampler::parent_based(roundtrip::sampler::always_on());
    /// How a new connection's phases are recorded. Default: child spans.
    phase_detail phases = phase_detail::spans;
    /// What `url.full` may show. Default: roundtrip's one policy (`redaction.hpp`), which covers the
    /// query parameters OpenTelemetry names as sensitive.
    roundtrip::redaction redaction;
};

/// Returns the tracing middleware. For each call it continues the trace of a valid `traceparent`
/// the caller put on the request (its `tracestate` goes on unchanged), or starts a new one, and asks
/// the sampler. Every attempt — a retry's and the transport's transparent ones too — carries its
/// own `traceparent`, whose parent-id is that attempt's span.
///
/// A sampled call produces, following OpenTelemetry's HTTP client conventions: a span for the call
/// (kind internal, named after the method), a child span per attempt (kind client, with
/// `http.request.resend_count` from the second on), and for a connection dialed by the attempt its
/// phases (`phases`); a reused connection shows as attributes of the attempt
/// (`roundtrip.connection.reused`, `.id`, `.idle_us`), never as phases. Spans end on every path:
/// success, error, cancellation; a streamed response's call span ends when its body is read to the
/// end or dropped.
///
/// An unsampled call costs one `traceparent` header and nothing else: no observer, no span.
/// Put it outermost, or below a retry middleware to trace each of its retries as a call of its own.
layer tracing(tracing_options options = {});

} // namespace roundtrip
