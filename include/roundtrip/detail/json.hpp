// Writing a JSON string, shared by everything that writes JSON (the CLI's --json and --trace lines,
// the OTLP exporter). Not API.
#pragma once

#include <roundtrip/detail/utf8.hpp>

#include <string>
#include <string_view>

namespace roundtrip::detail {

// Appends `s` to `out` as a JSON string (RFC 8259, section 7): quotes, backslashes and control
// characters escaped, well-formed UTF-8 passed through, and every byte that is not part of one
// replaced by U+FFFD, since JSON text must be UTF-8.
inline void append_json_string(std::string& out, std::string_view s)
{
    static constexpr char hex[] = "0123456789abcdef";
    out += '"';
    for (std::size_t i = 0; i < s.size();) {
        const std::size_t len = utf8_sequence_length(s.substr(i));
        if (len == 0) {
            out += "\xef\xbf\xbd";
            ++i;
            continue;
        }
        if (len > 1) {
            out.append(s.substr(i, len));
            i += len;
            continue;
        }
        const auto c = static_cast<unsigned char>(s[i++]);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20) {
                out += "\\u00";
                out += hex[c >> 4];
                out += hex[c & 0xf];
            } else {
                out += static_cast<char>(c);
            }
        }
    }
    out += '"';
}

} // namespace roundtrip::detail
