// The response a call obtains.
#pragma once

#include <roundtrip/body_reader.hpp>
#include <roundtrip/header_fields.hpp>

#include <memory>
#include <string>

namespace roundtrip {

/// A `response` is a final (non-1xx) HTTP response. Any status is a response, 404 and 500 included:
/// judging statuses is the caller's business. Its body is read to the end into `body`, or, when the
/// request asked for `stream_response`, left for the caller to read through `body_stream`.
/// Move-only (a body stream belongs to one reader).
struct response {
    /// The status code, 100 to 999 (interim 1xx responses are reported by `got_1xx` events, not here).
    unsigned status = 0;
    /// The HTTP version as 10 or 11.
    unsigned version = 11;
    /// The reason phrase as sent; may be empty.
    std::string reason;
    header_fields headers;
    /// The buffered body; empty when the body is streamed.
    std::string body;
    /// The streamed body (`request::stream_response`); at its end for a buffered response and for a
    /// response without a body (HEAD, 204, 304, `Content-Length: 0`).
    body_reader body_stream;
    /// Where the response came from when a middleware followed redirects to it (the redirect
    /// middleware sets it to the last hop's URL); null when no redirect was followed. A
    /// pointer, so that only a redirected call pays for it: a response lives in the coroutine frames
    /// of every call, which must stay small enough for Asio to recycle.
    std::unique_ptr<const std::string> final_url;
};

} // namespace roundtrip
