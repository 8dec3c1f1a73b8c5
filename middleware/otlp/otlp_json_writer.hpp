// The pieces of OTLP's JSON encoding that traces and metrics share (opentelemetry-proto
// docs/specification.md, "JSON Protobuf Encoding"): keys in lowerCamelCase, 64-bit integers as
// decimal strings, doubles in their shortest exact form, AnyValue and KeyValue, and the envelope of
// one resource and one instrumentation scope. Not API: the OTLP exporters' own.
#pragma once

#include <roundtrip/detail/json.hpp>
#include <roundtrip/middleware/otlp/attribute.hpp>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace roundtrip::detail::otlp {

// Appends `"key":` .
inline void append_key(std::string& out, std::string_view key)
{
    append_json_string(out, key);
    out += ':';
}

template <class Integer>
void append_integer(std::string& out, Integer v)
{
    char buf[24];
    out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
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

// A double in its shortest form that reads back exactly; NaN and the infinities, which JSON numbers
// cannot hold, as the strings "NaN", "Infinity" and "-Infinity".
void append_double(std::string& out, double v);

// Nanoseconds since the Unix epoch, as fixed64 wants them: never negative.
std::uint64_t unix_nanos(std::chrono::system_clock::time_point t) noexcept;

// An AnyValue: exactly one of its fields is set.
void append_value(std::string& out, const attribute_value& value);

// `"attributes":[{"key":...,"value":{...}},...]`, a repeated KeyValue.
void append_attributes(std::string& out, const std::vector<attribute>& attributes);

// Opens `{"resource<Kind>":[{"resource":{attributes},"scope<Kind>":[{"scope":{name, this
// library's version},"<items>":[` ; `kind` is "Spans" or "Metrics", `items` "spans" or "metrics".
void open_envelope(std::string& out, std::string_view kind, std::string_view items,
                   const std::vector<attribute>& resource, std::string_view scope);
// Closes what open_envelope opened.
void close_envelope(std::string& out);

} // namespace roundtrip::detail::otlp
