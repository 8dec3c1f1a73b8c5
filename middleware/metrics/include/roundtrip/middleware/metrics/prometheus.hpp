// The Prometheus text exposition (format 0.0.4) of a metrics snapshot, for a service's own
// `/metrics` handler.
#pragma once

#include <roundtrip/middleware/metrics/snapshot.hpp>

#include <string>
#include <string_view>

namespace roundtrip {

/// The Content-Type of `prometheus_text`'s output.
inline constexpr std::string_view prometheus_content_type = "text/plain; version=0.0.4; charset=utf-8";

/// Returns `snapshot` in the Prometheus text format 0.0.4, mapped as OpenTelemetry's Prometheus
/// exporter maps metrics: dots and other characters Prometheus does not allow become `_`; the unit
/// becomes a suffix (`s` → `_seconds`, `By` → `_bytes`; annotations like `{request}` are dropped); a
/// counter is a `counter` named `..._total`, an up-down counter a `gauge`, a histogram a `histogram`
/// with cumulative `_bucket{le="..."}` series ending in `le="+Inf"`, then `_sum` and `_count`.
/// Attribute keys become label names the same way; label values are escaped. Temporality is
/// cumulative, as Prometheus expects.
std::string prometheus_text(const metrics_snapshot& snapshot);

} // namespace roundtrip
