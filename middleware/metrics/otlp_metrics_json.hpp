// The OTLP/JSON encoding of a metrics snapshot: an ExportMetricsServiceRequest in the protobuf JSON
// mapping. Not API: the otlp_metrics_exporter's, and its test's.
#pragma once

#include <roundtrip/middleware/metrics/snapshot.hpp>
#include <roundtrip/middleware/otlp/attribute.hpp>

#include <string>
#include <vector>

namespace roundtrip::detail {

// Returns the body of one OTLP/HTTP JSON export: every metric of `snapshot` under one resource
// (described by `resource`) and one instrumentation scope, roundtrip.metrics at this library's
// version. Histograms as `histogram`, counters as monotonic `sum`, up-down counters as non-monotonic
// `sum`, all with cumulative temporality from `snapshot.start` to `snapshot.taken`; integer
// attributes as intValue, others as stringValue.
std::string otlp_metrics_request_json(const metrics_snapshot& snapshot, const std::vector<attribute>& resource);

} // namespace roundtrip::detail
