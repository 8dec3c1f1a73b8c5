// The OTLP/JSON encoder: writes the request text directly, field by field, in the order of the
// proto definitions (opentelemetry/proto/trace/v1/trace.proto, common/v1/common.proto).
#include "otlp_json.hpp"

#include "otlp_json_writer.hpp"

namespace roundtrip::detail {
namespace {

using otlp::append_attributes;
using otlp::append_integer;
using otlp::append_key;
using otlp::append_quoted_integer;
using otlp::unix_nanos;

void append_event(std::string& out, const span_event& e)
{
    out += '{';
    append_key(out, "timeUnixNano");
    append_quoted_integer(out, unix_nanos(e.time));
    out += ',';
    append_key(out, "name");
    append_json_string(out, e.name);
    out += ',';
    append_attributes(out, e.attributes);
    out += '}';
}

void append_span(std::string& out, const span& s)
{
    out += '{';
    append_key(out, "traceId");
    append_json_string(out, s.context.trace.hex());
    out += ',';
    append_key(out, "spanId");
    append_json_string(out, s.context.span.hex());
    if (!s.context.trace_state.empty()) {
        out += ',';
        append_key(out, "traceState");
        append_json_string(out, s.context.trace_state);
    }
    if (s.parent.valid()) {
        out += ',';
        append_key(out, "parentSpanId");
        append_json_string(out, s.parent.hex());
    }
    if (s.context.sampled) {
        // The low 8 bits are the W3C trace flags, of which only "sampled" (01) is defined.
        out += ',';
        append_key(out, "flags");
        out += '1';
    }
    out += ',';
    append_key(out, "name");
    append_json_string(out, s.name);
    out += ',';
    append_key(out, "kind");
    append_integer(out, static_cast<int>(s.kind));
    out += ',';
    append_key(out, "startTimeUnixNano");
    append_quoted_integer(out, unix_nanos(s.start));
    out += ',';
    append_key(out, "endTimeUnixNano");
    append_quoted_integer(out, unix_nanos(s.end));
    out += ',';
    append_attributes(out, s.attributes);
    out += ',';
    append_key(out, "events");
    out += '[';
    for (std::size_t i = 0; i < s.events.size(); ++i) {
        if (i > 0)
            out += ',';
        append_event(out, s.events[i]);
    }
    out += "],";
    append_key(out, "status");
    out += '{';
    append_key(out, "code");
    append_integer(out, static_cast<int>(s.status));
    if (!s.status_message.empty()) {
        out += ',';
        append_key(out, "message");
        append_json_string(out, s.status_message);
    }
    out += "}}";
}

} // namespace

std::string otlp_trace_request_json(const std::vector<span>& spans, const std::vector<attribute>& resource)
{
    std::string out;
    // About 1 KiB per span with a dozen attributes: one allocation for most batches.
    out.reserve(256 + spans.size() * 1024);
    otlp::open_envelope(out, "Spans", "spans", resource, "roundtrip.tracing");
    for (std::size_t i = 0; i < spans.size(); ++i) {
        if (i > 0)
            out += ',';
        append_span(out, spans[i]);
    }
    otlp::close_envelope(out);
    return out;
}

} // namespace roundtrip::detail
