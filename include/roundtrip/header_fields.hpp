// The header list of requests and responses, and the RFC 9110 syntax checks roundtrip applies to it.
#pragma once

#include <boost/beast/http/fields.hpp>

#include <string_view>

namespace roundtrip {

/// A `header_fields` is an ordered, case-insensitive list of header fields (Beast's `http::fields`).
/// Repeated names keep their order.
using header_fields = boost::beast::http::fields;

/// Returns whether `s` is an RFC 9110 token: a valid method or header name.
bool is_token(std::string_view s) noexcept;

/// Returns whether `s` may be sent as a header value: no CR, LF, NUL or other control character
/// except horizontal tab.
bool is_field_value(std::string_view s) noexcept;

} // namespace roundtrip
