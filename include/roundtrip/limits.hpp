// The bounds on the memory one response may take.
#pragma once

#include <cstddef>

namespace roundtrip {

/// `limits` bound the memory one response may take. Exceeding one fails the attempt with
/// `error::header_too_large` or `error::body_too_large` and closes the connection. They are set per
/// transport (`transport_options::limits`) and may be replaced per request (`request::limits`).
struct limits {
    /// The response head: status line and all header fields; trailers get the same allowance.
    /// Default 256 KiB: room for hundreds of fields and lines of tens of KiB. A single field line over
    /// 64 KiB is always too large (Beast 1.81's parser refuses it).
    std::size_t max_header_bytes = 256 * 1024;
    /// A buffered response body. Default 64 MiB. A streamed body (`request::stream_response`) has no
    /// limit: the caller reads it a buffer at a time.
    std::size_t max_body_bytes = 64 * 1024 * 1024;
};

} // namespace roundtrip
