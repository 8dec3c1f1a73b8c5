// The decompress middleware's event and error: what it decoded, and a body that would not decode.
#pragma once

#include <roundtrip/error.hpp>
#include <roundtrip/field_writer.hpp>

#include <cstdint>
#include <string_view>

namespace roundtrip {

/// `content_decoded` fires when the middleware decodes a response body, as the response is
/// returned.
struct content_decoded {
    static constexpr std::string_view event_name = "content_decoded";
    static constexpr std::string_view attribute_prefix = "roundtrip.decompress";

    /// The response's `Content-Encoding`, normalized: lowercase, ", " between codings ("gzip", "gzip, br").
    std::string_view coding;
    /// The body is streamed: it is decoded as the caller reads it, and the sizes below are 0.
    bool streamed = false;
    std::uint64_t encoded_bytes = 0; ///< The buffered body's size as received.
    std::uint64_t decoded_bytes = 0; ///< The buffered body's size after decoding.

    void write_fields(field_writer& out) const
    {
        out("coding", coding), out("streamed", streamed);
        out("encoded_bytes", encoded_bytes), out("decoded_bytes", decoded_bytes);
    }
};

/// The decompress middleware's own error codes; their class is named after each.
enum class decompress_error {
    /// The body does not decode in its `Content-Encoding`: corrupt, truncated, with bytes past its
    /// end, or with more than 4 codings.
    decoding_failed = 1,
};

/// The category of `decompress_error`, "roundtrip.decompress" (a `classified_category`).
const classified_category& decompress_category() noexcept;
inline error_code make_error_code(decompress_error e) noexcept { return {static_cast<int>(e), decompress_category()}; }

} // namespace roundtrip

template <>
struct boost::system::is_error_code_enum<roundtrip::decompress_error> : std::true_type {};
