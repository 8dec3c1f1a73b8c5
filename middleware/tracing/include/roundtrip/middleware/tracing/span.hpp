// A finished span as the tracing middleware hands it to exporters: identity, timing, attributes,
// events and status, in OpenTelemetry's data model.
#pragma once

#include <roundtrip/middleware/otlp/attribute.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace roundtrip {

/// A W3C trace id: 16 bytes, never all zero when valid.
struct trace_id {
    std::array<std::uint8_t, 16> bytes{};
    bool valid() const noexcept;
    /// 32 lowercase hex digits.
    std::string hex() const;
    friend bool operator==(const trace_id&, const trace_id&) = default;
};

/// A W3C span id (the traceparent's parent-id): 8 bytes, never all zero when valid.
struct span_id {
    std::array<std::uint8_t, 8> bytes{};
    bool valid() const noexcept;
    /// 16 lowercase hex digits.
    std::string hex() const;
    friend bool operator==(const span_id&, const span_id&) = default;
};

/// A `span_context` is what crosses process boundaries in `traceparent` and `tracestate`.
struct span_context {
    trace_id trace;
    span_id span;
    bool sampled = false;
    std::string trace_state; ///< The `tracestate` header's value, passed on unchanged; may be empty.
    bool valid() const noexcept { return trace.valid() && span.valid(); }
};

/// OpenTelemetry's span kinds, numbered as in OTLP.
enum class span_kind : int { internal = 1, server = 2, client = 3, producer = 4, consumer = 5 };

/// OpenTelemetry's status codes, numbered as in OTLP.
enum class status_code : int { unset = 0, ok = 1, error = 2 };

/// A moment inside a span, with attributes of its own (a connection phase, when phases are
/// recorded as events).
struct span_event {
    std::string name;
    std::chrono::system_clock::time_point time;
    std::vector<attribute> attributes;
};

/// A `span` is one finished operation: a call, an attempt, or a connection phase.
struct span {
    std::string name;
    span_kind kind = span_kind::internal;
    span_context context;
    span_id parent; ///< Invalid (all zero) for a root span.
    std::chrono::system_clock::time_point start;
    std::chrono::system_clock::time_point end;
    std::vector<attribute> attributes;
    std::vector<span_event> events;
    status_code status = status_code::unset;
    std::string status_message; ///< Only with `status_code::error`.

    /// Returns the value of attribute `key`, or null.
    const attribute_value* find(std::string_view key) const noexcept;
};

} // namespace roundtrip
