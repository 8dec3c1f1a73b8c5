// UTF-8 sequence checking, shared by everything that writes text it did not make (logs, JSON).
// Not API.
#pragma once

#include <cstddef>
#include <string_view>

namespace roundtrip::detail {

// The length of the valid UTF-8 sequence that starts `s` (1 to 4), or 0 when it is not one.
// Overlong forms and surrogates are not rejected: the callers need "decodable", not "canonical".
inline std::size_t utf8_sequence_length(std::string_view s) noexcept
{
    if (s.empty())
        return 0;
    const auto c = static_cast<unsigned char>(s[0]);
    // The length a lead byte announces: 0xxxxxxx, 110xxxxx, 1110xxxx, 11110xxx.
    const std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (len == 0 || len > s.size())
        return 0;
    for (std::size_t k = 1; k < len; ++k)
        if ((static_cast<unsigned char>(s[k]) & 0xc0) != 0x80) // continuation bytes are 10xxxxxx
            return 0;
    return len;
}

} // namespace roundtrip::detail
