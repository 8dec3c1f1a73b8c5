// UTF-8 sequence checking, shared by everything that writes text it did not make (logs, JSON).
// Not API.
#pragma once

#include <cstddef>
#include <string_view>

namespace roundtrip::detail {

// The length of the well-formed UTF-8 sequence that starts `s` (1 to 4), or 0 when there is none.
// Well-formed as RFC 3629 section 4 says: overlong forms, UTF-16 surrogates and code points above
// U+10FFFF are not, since strict JSON parsers (protobuf's among them) reject them.
inline std::size_t utf8_sequence_length(std::string_view s) noexcept
{
    if (s.empty())
        return 0;
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    const auto in = [](unsigned char b, unsigned char lo, unsigned char hi) { return b >= lo && b <= hi; };
    const unsigned char lead = byte(0);
    if (lead < 0x80)
        return 1;
    // The allowed range of the second byte depends on the lead byte; later bytes are always 80..BF.
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xbf;
    if (in(lead, 0xc2, 0xdf))
        len = 2;
    else if (lead == 0xe0)
        len = 3, lo = 0xa0; // below: overlong
    else if (lead == 0xed)
        len = 3, hi = 0x9f; // above: UTF-16 surrogates
    else if (in(lead, 0xe1, 0xef))
        len = 3;
    else if (lead == 0xf0)
        len = 4, lo = 0x90; // below: overlong
    else if (lead == 0xf4)
        len = 4, hi = 0x8f; // above: beyond U+10FFFF
    else if (in(lead, 0xf1, 0xf3))
        len = 4;
    if (len == 0 || s.size() < len || !in(byte(1), lo, hi))
        return 0;
    for (std::size_t k = 2; k < len; ++k)
        if (!in(byte(k), 0x80, 0xbf))
            return 0;
    return len;
}

} // namespace roundtrip::detail
