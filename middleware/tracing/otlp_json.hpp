// The OTLP/JSON encoding of spans: an ExportTraceServiceRequest in the protobuf JSON mapping, with
// OTLP's deviations (hex ids, integer enums). Not API: the otlp_exporter's, and its test's.
#pragma once

#include <roundtrip/middleware/tracing/span.hpp>

#include <string>
#include <vector>

namespace roundtrip::detail {

// Returns the body of one OTLP/HTTP JSON export: every span of `spans` under one resource (described
// by `resource`) and one instrumentation scope, roundtrip.tracing at this library's version.
//
// Follows opentelemetry-proto docs/specification.md ("JSON Protobuf Encoding"): trace and span ids
// as hex, not base64; enums as integers; 64-bit integers (times, intValue) as decimal strings; keys
// in lowerCamelCase; fields at their default value (an empty traceState, a root's parentSpanId)
// left out. Text that is not valid UTF-8 has each offending byte replaced by U+FFFD, since JSON
// must be UTF-8 and receivers reject it otherwise.
std::string otlp_trace_request_json(const std::vector<span>& spans, const std::vector<attribute>& resource);

} // namespace roundtrip::detail
