// An OpenTelemetry attribute: a key and one of OTLP's scalar values. Spans carry them, and every
// OTLP export names its resource with them.
#pragma once

#include <cstdint>
#include <string>
#include <variant>

namespace roundtrip {

/// An attribute's value: the OTLP scalar types.
using attribute_value = std::variant<std::string, std::int64_t, double, bool>;

/// One attribute, `http.request.method = "GET"`.
struct attribute {
    std::string key;
    attribute_value value;
};

} // namespace roundtrip
