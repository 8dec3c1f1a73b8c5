// The response a call obtains.
#pragma once

#include <roundtrip/header_fields.hpp>

#include <string>

namespace roundtrip {

/// A `response` is a final (non-1xx) HTTP response with its body read to the end. Any status is a
/// response, 404 and 500 included: judging statuses is the caller's business.
struct response {
    /// The status code, 100 to 999 (interim 1xx responses are reported by `got_1xx` events, not here).
    unsigned status = 0;
    /// The HTTP version as 10 or 11.
    unsigned version = 11;
    /// The reason phrase as sent; may be empty.
    std::string reason;
    header_fields headers;
    std::string body;
};

} // namespace roundtrip
