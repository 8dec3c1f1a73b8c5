// The decompress middleware: asks for compressed responses and decodes their bodies (gzip, deflate,
// br, zstd), buffered or streamed, within bounds a hostile server cannot talk past.
#pragma once

#include <roundtrip/limits.hpp>
#include <roundtrip/middleware.hpp>
#include <roundtrip/middleware/decompress_events.hpp>

#include <cstddef>
#include <cstdint>

namespace roundtrip {

/// `decompress_options` configure the decompress middleware; each default is the one stated.
struct decompress_options {
    /// The decoded size of a buffered body when the request sets no `limits` of its own (which then
    /// bound it with their `max_body_bytes`): past it the call fails with `error::body_too_large`.
    /// Default `limits{}.max_body_bytes` (64 MiB). A streamed body has no such limit.
    std::size_t max_body_bytes = limits{}.max_body_bytes;
    /// The bomb bound, for buffered and streamed bodies alike: once more than `ratio_after_bytes`
    /// have been decoded, a body whose decoded size is more than `max_ratio` times the encoded bytes
    /// it was decoded from fails with `error::body_too_large`; with stacked codings, each stage's output
    /// is held to it. Defaults 1 MiB and 1000: deflate's own best is about 1030:1, so a 10 MB gzip
    /// bomb of zeros is stopped after about 1 MiB. br and zstd go far past 1000:1 on very repetitive
    /// bodies (4 MB of one JSON row repeated: zstd about 9,000:1, br about 40,000:1): raise it for
    /// such sources, or set 0 and rely on `max_body_bytes`.
    std::size_t ratio_after_bytes = 1024 * 1024;
    std::uint32_t max_ratio = 1000; ///< 0: no ratio bound.
};

/// Returns the decompress middleware. It sends `Accept-Encoding: gzip, deflate, br, zstd` and decodes
/// a response whose `Content-Encoding` lists only codings it knows (`gzip`, `x-gzip`, `deflate` in
/// its zlib or raw form, `br`, `zstd`, `identity`; several are undone in reverse order, up to 4).
/// As Go's client, it does neither for a request with an `Accept-Encoding` of its own (the caller
/// wants the body as sent: the way to opt out per request), one that asks for a `Range` (a part of
/// an encoded body does not decode alone), or a HEAD. When it decodes:
///   - a buffered body is replaced by its decoding; a streamed one (`request::stream_response`) is
///     decoded as the caller reads it, through a `body_reader` of the middleware's, with memory that
///     stays flat whatever the body's size;
///   - `Content-Encoding` and `Content-Length` are removed from the response, and a
///     `content_decoded` event says what was decoded;
///   - a corrupt or truncated body is `decompress_error::decoding_failed` (class `decoding_failed`),
///     one past the bounds in `decompress_options` `error::body_too_large`: the call's error for a
///     buffered body, the failing read's for a streamed one.
/// 1xx, 204, 206 and 3xx responses are returned untouched (a redirect's body should not fail a
/// redirect a layer above follows), as are responses with a coding it does not know. Put it beneath
/// redirect and above retry.
layer decompress(decompress_options options = {});

} // namespace roundtrip
