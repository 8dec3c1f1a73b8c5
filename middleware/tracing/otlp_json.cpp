// The OTLP/JSON encoder: writes the request text directly, field by field, in the order of the
// proto definitions (opentelemetry/proto/trace/v1/trace.proto, common/v1/common.proto).
#include "otlp_json.hpp"

#include <roundtrip/detail/json.hpp>
#include <roundtrip/version.hpp>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <variant>

namespace roundtrip::detail {
namespace {

// Appends `"key":` .
void append_key(std::string& out, std::string_view key)
{
    append_json_string(out, key);
    out += ':';
}

template <class Integer>
void append_integer(std::string& out, Integer v)
{
    char buf[24];
    const auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
    out.append(buf, end);
}

// 64-bit integers are decimal strings in the protobuf JSON mapping: JavaScript numbers lose precision
// above 2^53.
template <class Integer>
void append_quoted_integer(std::string& out, Integer v)
{
    out += '"';
    append_integer(out, v);
    out += '"';
}

// A double in its shortest form that reads back exactly; the mapping writes the non-finite values,
// which JSON numbers cannot hold, as the strings "NaN", "Infinity" and "-Infinity".
void append_double(std::string& out, double v)
{
    if (std::isnan(v))
        out += "\"NaN\"";
    else if (std::isinf(v))
        out += v > 0 ? "\"Infinity\"" : "\"-Infinity\"";
    else {
        char buf[32];
        const auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
        out.append(buf, end);
    }
}

// Nanoseconds since the Unix epoch, as fixed64 wants them: never negative.
std::uint64_t unix_nanos(std::chrono::system_clock::time_point t)
{
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
    return ns < 0 ? 0 : static_cast<std::uint64_t>(ns);
}

// An AnyValue: exactly one of its fields is set.
void append_value(std::string& out, const attribute_value& value)
{
    out += '{';
    std::visit(
        [&](const auto& v) {
            using type = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<type, std::string>) {
                append_key(out, "stringValue");
                append_json_string(out, v);
            } else if constexpr (std::is_same_v<type, std::int64_t>) {
                append_key(out, "intValue");
                append_quoted_integer(out, v);
            } else if constexpr (std::is_same_v<type, double>) {
                append_key(out, "doubleValue");
                append_double(out, v);
            } else {
                static_assert(std::is_same_v<type, bool>);
                append_key(out, "boolValue");
                out += v ? "true" : "false";
            }
        },
        value);
    out += '}';
}

// `"attributes":[{"key":...,"value":{...}},...]`, a repeated KeyValue.
void append_attributes(std::string& out, const std::vector<attribute>& attributes)
{
    append_key(out, "attributes");
    out += '[';
    for (std::size_t i = 0; i < attributes.size(); ++i) {
        if (i > 0)
            out += ',';
        out += '{';
        append_key(out, "key");
        append_json_string(out, attributes[i].key);
        out += ',';
        append_key(out, "value");
        append_value(out, attributes[i].value);
        out += '}';
    }
    out += ']';
}

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
    out += "{\"resourceSpans\":[{\"resource\":{";
    append_attributes(out, resource);
    out += "},\"scopeSpans\":[{\"scope\":{";
    append_key(out, "name");
    append_json_string(out, "roundtrip.tracing");
    out += ',';
    append_key(out, "version");
    append_json_string(out, ROUNDTRIP_VERSION_STRING);
    out += "},\"spans\":[";
    for (std::size_t i = 0; i < spans.size(); ++i) {
        if (i > 0)
            out += ',';
        append_span(out, spans[i]);
    }
    out += "]}]}]}";
    return out;
}

} // namespace roundtrip::detail
