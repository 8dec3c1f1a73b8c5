// W3C Trace Context: the `traceparent` header's format, and the ids it carries.
#pragma once

#include <roundtrip/middleware/tracing/span.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace roundtrip {

/// Parses a `traceparent` value. Version 00 must be exactly `00-<32 hex>-<16 hex>-<2 hex>`, in
/// lowercase; a higher version is read for those four fields and may carry more after them, as the
/// W3C recommendation asks. Returns nothing for a malformed value, version ff, or an all-zero id:
/// the caller then starts a new trace.
std::optional<span_context> parse_traceparent(std::string_view value) noexcept;

/// Formats `context` as a version 00 `traceparent` value, its sampled flag as `01` or `00`.
std::string format_traceparent(const span_context& context);

/// Returns a new random trace id, never all zero. Each thread has its own generator, seeded once
/// from `std::random_device`: no lock, no system call per id. A child process made by `fork()`
/// continues its parent's sequences in the threads it copied: fork before the first id, or make
/// ids only in threads the child starts.
trace_id new_trace_id() noexcept;

/// Returns a new random span id, never all zero; as `new_trace_id`.
span_id new_span_id() noexcept;

} // namespace roundtrip
