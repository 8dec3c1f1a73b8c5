// ASCII case folding for host names: DNS names and URL hosts compare without regard to case, and
// only their ASCII letters fold (an IDN arrives as punycode).
#pragma once

#include <string>
#include <string_view>

namespace roundtrip::detail {

inline char ascii_lower(char c) noexcept
{
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

inline std::string ascii_lower(std::string_view s)
{
    std::string out(s);
    for (char& c : out)
        c = ascii_lower(c);
    return out;
}

} // namespace roundtrip::detail
