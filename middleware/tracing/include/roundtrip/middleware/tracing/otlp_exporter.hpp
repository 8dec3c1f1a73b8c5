// The OTLP exporter: sends finished spans in batches to an OpenTelemetry collector (or any OTLP/HTTP
// receiver) as JSON, from a thread of its own, through a roundtrip client of its own.
#pragma once

#include <roundtrip/detail/config.hpp>
#include <roundtrip/header_fields.hpp>
#include <roundtrip/middleware/tracing/span_exporter.hpp>
#include <roundtrip/transport.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace roundtrip {

/// `otlp_options` say where an `otlp_exporter` sends spans and how it batches them. The batching
/// defaults are those of OpenTelemetry's BatchSpanProcessor (OTEL_BSP_*), the timeout that of its
/// OTLP exporters (OTEL_EXPORTER_OTLP_TIMEOUT).
struct otlp_options {
    /// The OTLP/HTTP traces URL, http or https. Default `http://localhost:4318/v1/traces`: a local
    /// collector on OTLP/HTTP's default port and path.
    std::string endpoint = "http://localhost:4318/v1/traces";
    /// Sent with every export, e.g. an API key header. `Content-Type` is the exporter's to set.
    /// Default none.
    header_fields headers;
    /// The attributes of the resource every span comes from. Default `service.name =
    /// "unknown_service"`, the value OpenTelemetry uses when none is configured; set your service's
    /// name, since backends group spans by it.
    std::vector<attribute> resource = {{"service.name", std::string("unknown_service")}};
    /// The most spans waiting to be sent; a span exported when it is full is dropped and counted
    /// (`otlp_stats::dropped`). 0 drops every span. Default 2048, as BatchSpanProcessor's maxQueueSize.
    std::size_t max_queue = 2048;
    /// The most spans in one export. An export starts as soon as this many are queued (a value above
    /// `max_queue` is never reached: exports then wait for `flush_interval`). 0 means 1.
    /// Default 512, as BatchSpanProcessor's maxExportBatchSize.
    std::size_t max_batch = 512;
    /// The longest a queued span waits for its export when fewer than `max_batch` are queued.
    /// Values below 1 ms are taken as 1 ms. Default 5 s, as BatchSpanProcessor's scheduledDelayMillis.
    clock::duration flush_interval = std::chrono::seconds(5);
    /// The longest one export may take, and the time the destructor gives `shutdown`. Default 10 s,
    /// as OTLP exporters' timeout. (BatchSpanProcessor's exportTimeoutMillis is 30 s; an export here
    /// is one HTTP request, so the exporter's own timeout bounds it.)
    clock::duration export_timeout = std::chrono::seconds(10);
    /// The transport of the exporter's client: timeouts, TLS trust for an https endpoint, pool.
    transport_options transport;
};

/// `otlp_stats` count what happened to the spans an `otlp_exporter` was given. Every span ends up in
/// exactly one of the counters, or is still queued or being sent.
struct otlp_stats {
    /// Spans the receiver accepted (it answered 2xx).
    std::uint64_t exported = 0;
    /// Spans never sent: the queue was full, the exporter was shut down, or shutdown's time ran
    /// out before their turn.
    std::uint64_t dropped = 0;
    /// Spans whose export failed: no response, or a status other than 2xx.
    std::uint64_t failed = 0;
};

/// An `otlp_exporter` sends spans to an OTLP/HTTP receiver: `POST endpoint` with
/// `Content-Type: application/json` and an `ExportTraceServiceRequest` in OTLP's JSON encoding
/// (opentelemetry-proto `docs/specification.md`).
///
/// `export_span` only queues the span and returns; a thread the exporter owns sends a batch when
/// `max_batch` spans are queued or `flush_interval` after the last export, one export at a time,
/// through a `roundtrip::client` the exporter builds without middleware (so its own requests are
/// never traced) and which runs a thread of its own.
///
/// Each batch is sent once: a batch that fails (an error, a timeout, a non-2xx status, 429 and 503
/// included) is counted as failed, not retried. OTLP asks clients to retry retryable failures with
/// backoff; this exporter prefers to bound memory and keep the queue moving.
///
/// Thread safety: every member function may be called from any thread at once.
///
/// Lifetime: the destructor calls `shutdown(options.export_timeout)`; when it returns no thread of
/// the exporter is left running.
class otlp_exporter : public span_exporter {
public:
    /// Starts the exporter's thread and its client. Throws `boost::system::system_error`
    /// (`error::invalid_config`) when `options.transport` names TLS files that cannot be loaded.
    /// The endpoint is not checked here: a bad one makes every export fail.
    explicit otlp_exporter(otlp_options options = {});
    ~otlp_exporter() override;
    otlp_exporter(const otlp_exporter&) = delete;
    otlp_exporter& operator=(const otlp_exporter&) = delete;

    /// Queues `s` for export, or drops and counts it when the queue is full or the exporter was shut
    /// down. Never blocks (beyond a short mutex), never throws.
    void export_span(span s) noexcept override;

    /// Sends what is queued, in batches, and stops, waiting at most `timeout`: when it runs out, an
    /// export still running is cancelled and counted as failed, spans not yet sent are counted as
    /// dropped, and the call returns as soon as the exporter's thread has seen the cancellation.
    /// Spans exported afterwards are dropped. Calling it again returns at once.
    void shutdown(clock::duration timeout) noexcept override;

    /// Returns the counts so far.
    otlp_stats stats() const;

private:
    class impl;
    std::unique_ptr<impl> impl_;
};

} // namespace roundtrip
