// The OTLP/JSON metrics encoder: writes the request text directly, field by field, in the order of
// the proto definitions (opentelemetry/proto/metrics/v1/metrics.proto).
#include "otlp_metrics_json.hpp"

#include "otlp_json_writer.hpp"

namespace roundtrip::detail {
namespace {

using otlp::append_double;
using otlp::append_key;
using otlp::append_quoted_integer;

// AGGREGATION_TEMPORALITY_CUMULATIVE in metrics.proto.
constexpr int cumulative = 2;

// A data point's attributes: numbers (ports, statuses) as intValue, the rest as stringValue.
void append_point_attributes(std::string& out, const metric_point& p)
{
    append_key(out, "attributes");
    out += '[';
    for (std::size_t i = 0; i < p.attributes.size(); ++i) {
        const auto& a = p.attributes[i];
        if (i > 0)
            out += ',';
        out += '{';
        append_key(out, "key");
        append_json_string(out, a.key);
        out += ",\"value\":{";
        if (a.integer) {
            append_key(out, "intValue");
            append_json_string(out, a.value); // decimal digits already: a 64-bit integer is a string
        } else {
            append_key(out, "stringValue");
            append_json_string(out, a.value);
        }
        out += "}}";
    }
    out += ']';
}

void append_times(std::string& out, std::uint64_t start, std::uint64_t now)
{
    append_key(out, "startTimeUnixNano");
    append_quoted_integer(out, start);
    out += ',';
    append_key(out, "timeUnixNano");
    append_quoted_integer(out, now);
}

void append_metric(std::string& out, const metric& m, std::uint64_t start, std::uint64_t now)
{
    out += '{';
    append_key(out, "name");
    append_json_string(out, m.name);
    out += ',';
    append_key(out, "description");
    append_json_string(out, m.description);
    out += ',';
    append_key(out, "unit");
    append_json_string(out, m.unit);
    out += ',';
    append_key(out, m.kind == instrument_kind::histogram ? "histogram" : "sum");
    out += "{\"dataPoints\":[";
    for (std::size_t i = 0; i < m.points.size(); ++i) {
        const metric_point& p = m.points[i];
        if (i > 0)
            out += ',';
        out += '{';
        append_point_attributes(out, p);
        out += ',';
        append_times(out, start, now);
        out += ',';
        if (m.kind == instrument_kind::histogram) {
            append_key(out, "count");
            append_quoted_integer(out, p.count);
            out += ',';
            append_key(out, "sum");
            append_double(out, p.sum);
            out += ',';
            append_key(out, "bucketCounts");
            out += '[';
            for (std::size_t b = 0; b < p.bucket_counts.size(); ++b) {
                if (b > 0)
                    out += ',';
                append_quoted_integer(out, p.bucket_counts[b]);
            }
            out += "],";
            append_key(out, "explicitBounds");
            out += '[';
            for (std::size_t b = 0; b < m.bounds.size(); ++b) {
                if (b > 0)
                    out += ',';
                append_double(out, m.bounds[b]);
            }
            out += ']';
        } else {
            append_key(out, "asInt");
            append_quoted_integer(out, p.value);
        }
        out += '}';
    }
    out += "],";
    append_key(out, "aggregationTemporality");
    out += std::to_string(cumulative);
    if (m.kind != instrument_kind::histogram) {
        out += ',';
        append_key(out, "isMonotonic");
        out += m.kind == instrument_kind::counter ? "true" : "false";
    }
    out += "}}";
}

} // namespace

std::string otlp_metrics_request_json(const metrics_snapshot& snapshot, const std::vector<attribute>& resource)
{
    std::string out;
    out.reserve(1024 + snapshot.metrics.size() * 1024);
    const std::uint64_t start = otlp::unix_nanos(snapshot.start), now = otlp::unix_nanos(snapshot.taken);
    otlp::open_envelope(out, "Metrics", "metrics", resource, "roundtrip.metrics");
    for (std::size_t i = 0; i < snapshot.metrics.size(); ++i) {
        if (i > 0)
            out += ',';
        append_metric(out, snapshot.metrics[i], start, now);
    }
    otlp::close_envelope(out);
    return out;
}

} // namespace roundtrip::detail
