#include "set_cookie.hpp"

#include "cookie_date.hpp"

#include <boost/beast/core/string.hpp>

#include <algorithm>
#include <limits>

namespace roundtrip::cookies_detail {
namespace {

using boost::beast::iequals;

std::string_view trim(std::string_view s) noexcept
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

// RFC 6265bis refuses a name or value with a control character other than tab; a tab is refused
// too, as curl does: the cookie file separates its fields with tabs.
bool has_control(std::string_view s) noexcept
{
    return std::any_of(s.begin(), s.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7F;
    });
}

std::optional<std::int64_t> parse_max_age(std::string_view v)
{
    if (v.empty() || !((v[0] >= '0' && v[0] <= '9') || v[0] == '-'))
        return std::nullopt;
    const bool negative = v[0] == '-';
    if (negative)
        v.remove_prefix(1);
    if (v.empty())
        return std::nullopt;
    std::int64_t n = 0;
    for (char c : v) {
        if (c < '0' || c > '9')
            return std::nullopt;
        n = n > std::numeric_limits<std::int64_t>::max() / 10 - 1 ? std::numeric_limits<std::int64_t>::max() / 10
                                                                  : n * 10 + (c - '0');
    }
    return negative ? -n : n;
}

// RFC 6265bis: an attribute value longer than this is ignored.
constexpr std::size_t max_attribute_value = 1024;

} // namespace

std::string lowercase(std::string_view s)
{
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c + 32);
    return out;
}

std::string_view name_part(std::string_view text) noexcept
{
    const auto end = text.find_first_of("=;");
    return trim(text.substr(0, end));
}

std::optional<set_cookie> parse_set_cookie(std::string_view text)
{
    const auto semicolon = text.find(';');
    const std::string_view pair = text.substr(0, semicolon);
    std::string_view attributes = semicolon == std::string_view::npos ? std::string_view{} : text.substr(semicolon + 1);
    const auto equals = pair.find('=');
    if (equals == std::string_view::npos)
        return std::nullopt;
    set_cookie c;
    const std::string_view name = trim(pair.substr(0, equals)), value = trim(pair.substr(equals + 1));
    if (name.empty() || has_control(name) || has_control(value))
        return std::nullopt;
    c.name = name;
    c.value = value;

    while (!attributes.empty()) {
        const auto next = attributes.find(';');
        const std::string_view av = attributes.substr(0, next);
        attributes = next == std::string_view::npos ? std::string_view{} : attributes.substr(next + 1);
        const auto eq = av.find('=');
        const std::string_view key = trim(av.substr(0, eq));
        const std::string_view v = eq == std::string_view::npos ? std::string_view{} : trim(av.substr(eq + 1));
        if (v.size() > max_attribute_value || has_control(v)) // ignored, as a value too long is
            continue;
        if (iequals(key, "expires")) {
            if (auto t = parse_cookie_date(v))
                c.expires = t;
        } else if (iequals(key, "max-age")) {
            if (auto n = parse_max_age(v))
                c.max_age = n;
        } else if (iequals(key, "domain")) {
            std::string_view d = v;
            if (!d.empty() && d.front() == '.')
                d.remove_prefix(1);
            if (d.empty()) // RFC 6265: ignore an empty Domain (a later one may still count)
                continue;
            c.domain = lowercase(d);
        } else if (iequals(key, "path")) {
            if (!v.empty() && v.front() == '/')
                c.path = std::string(v);
            else
                c.path.reset(); // the default path
        } else if (iequals(key, "secure")) {
            c.secure = true;
        } else if (iequals(key, "httponly")) {
            c.http_only = true;
        } else if (iequals(key, "samesite")) {
            c.same_site = iequals(v, "strict") ? same_site::strict
                          : iequals(v, "lax")  ? same_site::lax
                          : iequals(v, "none") ? same_site::none
                                               : same_site::unset;
        }
    }
    return c;
}

} // namespace roundtrip::cookies_detail
