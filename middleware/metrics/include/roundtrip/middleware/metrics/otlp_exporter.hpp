// The OTLP metrics exporter: sends the metrics' cumulative figures periodically to an OpenTelemetry
// collector (or any OTLP/HTTP receiver) as JSON, from a thread of its own, through a roundtrip client
// of its own.
#pragma once

#include <roundtrip/header_fields.hpp>
#include <roundtrip/middleware/metrics.hpp>
#include <roundtrip/middleware/otlp/attribute.hpp>
#include <roundtrip/transport.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace roundtrip {

/// `otlp_metrics_options` say where an `otlp_metrics_exporter` sends and how often. The defaults are
/// those of OpenTelemetry's PeriodicExportingMetricReader (OTEL_METRIC_EXPORT_INTERVAL,
/// OTEL_METRIC_EXPORT_TIMEOUT) and OTLP/HTTP's default endpoint.
struct otlp_metrics_options {
    /// The OTLP/HTTP metrics URL, http or https. Default `http://localhost:4318/v1/metrics`.
    std::string endpoint = "http://localhost:4318/v1/metrics";
    /// Sent with every export, e.g. an API key header. `Content-Type` is the exporter's to set.
    header_fields headers;
    /// The attributes of the resource the metrics come from. Default `service.name =
    /// "unknown_service"`; set your service's name, since backends group metrics by it.
    std::vector<attribute> resource = {{"service.name", std::string("unknown_service")}};
    /// How often the figures are sent, on a fixed schedule from the exporter's start. Values below
    /// 1 ms are taken as 1 ms. Default 60 s.
    clock::duration interval = std::chrono::seconds(60);
    /// The longest one export may take, and what the destructor gives `shutdown`. Values below 1 ms
    /// are taken as 1 ms. Default 30 s.
    clock::duration export_timeout = std::chrono::seconds(30);
    /// The transport of the exporter's client: timeouts, TLS trust for an https endpoint, pool.
    transport_options transport;
};

/// `otlp_metrics_stats` count the exports an `otlp_metrics_exporter` made.
struct otlp_metrics_stats {
    std::uint64_t exported = 0; ///< Exports the receiver accepted (it answered 2xx).
    std::uint64_t failed = 0;   ///< Exports that failed: no response, or a status other than 2xx.
};

/// An `otlp_metrics_exporter` sends what `metrics` has measured every `interval`: `POST endpoint`
/// with `Content-Type: application/json` and an `ExportMetricsServiceRequest` in OTLP's JSON
/// encoding, with cumulative temporality (each export carries the totals since the metrics were
/// made, so a lost export loses nothing but its moment). Histograms go as OTLP histograms with their
/// explicit bounds; counters as monotonic sums; up-down counters as non-monotonic sums. An export
/// that fails is not retried: the next one carries the same totals.
///
/// A thread the exporter owns collects and sends, through a `roundtrip::client` the exporter builds
/// without middleware and without metrics, so its own requests are never measured.
///
/// Thread safety: every member function may be called from any thread at once. Lifetime: the
/// destructor calls `shutdown(options.export_timeout)`, which sends the figures one last time.
class otlp_metrics_exporter {
public:
    /// Starts the exporter's thread and its client. Throws `std::invalid_argument` when `metrics` is
    /// null, and `boost::system::system_error` (`error::invalid_config`) when `options.transport`
    /// names TLS files that cannot be loaded.
    otlp_metrics_exporter(std::shared_ptr<const http_metrics> metrics, otlp_metrics_options options = {});
    ~otlp_metrics_exporter();
    otlp_metrics_exporter(const otlp_metrics_exporter&) = delete;
    otlp_metrics_exporter& operator=(const otlp_metrics_exporter&) = delete;

    /// Sends the figures once more, then stops, waiting at most `timeout`: when it runs out, the
    /// export in flight is cancelled and counted as failed (and so is the last export when no time
    /// is left to start it). Calling it again returns at once.
    void shutdown(clock::duration timeout) noexcept;

    /// Returns the counts so far.
    otlp_metrics_stats stats() const;

private:
    class impl;
    std::unique_ptr<impl> impl_;
};

} // namespace roundtrip
