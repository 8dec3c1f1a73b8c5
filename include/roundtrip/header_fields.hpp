// The header list of requests and responses, and the RFC 9110 syntax checks roundtrip applies to it.
#pragma once

#include <boost/beast/http/fields.hpp>

#include <string_view>

namespace roundtrip {

/// A `header_fields` is a case-insensitive list of header fields (Beast's `http::fields`). Fields of one
/// name stay together, in the order they were inserted; that order is the one that carries meaning
/// (RFC 9110, section 5.3).
using header_fields = boost::beast::http::fields;

/// Returns whether `s` is an RFC 9110 token: a valid method or header name.
bool is_token(std::string_view s) noexcept;

/// Returns whether `s` may be sent as a header value: no CR, LF, NUL or other control character
/// except horizontal tab.
bool is_field_value(std::string_view s) noexcept;

} // namespace roundtrip
