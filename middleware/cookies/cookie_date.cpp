#include "cookie_date.hpp"

#include <array>

namespace roundtrip::cookies_detail {
namespace {

// delimiter = %x09 / %x20-2F / %x3B-40 / %x5B-60 / %x7B-7E
bool is_delimiter(unsigned char c) noexcept
{
    return c == 0x09 || (c >= 0x20 && c <= 0x2F) || (c >= 0x3B && c <= 0x40) || (c >= 0x5B && c <= 0x60)
           || (c >= 0x7B && c <= 0x7E);
}

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// Reads 1 to `max` digits at the front of `t`; false when there are none or too many.
bool digits(std::string_view& t, int min, int max, int& out)
{
    int n = 0, value = 0;
    while (n < static_cast<int>(t.size()) && is_digit(t[n])) {
        if (n == max)
            return false;
        value = value * 10 + (t[n] - '0');
        ++n;
    }
    if (n < min)
        return false;
    out = value;
    t.remove_prefix(n);
    return true;
}

// time = hms-time ( non-digit *OCTET ); hms-time = time-field ":" time-field ":" time-field
bool parse_time(std::string_view t, int& h, int& m, int& s)
{
    if (!digits(t, 1, 2, h) || t.empty() || t[0] != ':')
        return false;
    t.remove_prefix(1);
    if (!digits(t, 1, 2, m) || t.empty() || t[0] != ':')
        return false;
    t.remove_prefix(1);
    if (!digits(t, 1, 2, s))
        return false;
    return t.empty() || !is_digit(t[0]);
}

// A field of 1 to `max` digits, optionally followed by a non-digit and anything.
bool parse_number(std::string_view t, int min, int max, int& out)
{
    return digits(t, min, max, out) && (t.empty() || !is_digit(t[0]));
}

int month_of(std::string_view t) noexcept
{
    static constexpr std::array<std::string_view, 12> names{"jan", "feb", "mar", "apr", "may", "jun",
                                                            "jul", "aug", "sep", "oct", "nov", "dec"};
    if (t.size() < 3)
        return 0;
    char lower[3];
    for (int i = 0; i < 3; ++i)
        lower[i] = static_cast<char>(t[i] >= 'A' && t[i] <= 'Z' ? t[i] + 32 : t[i]);
    for (std::size_t i = 0; i < names.size(); ++i)
        if (std::string_view(lower, 3) == names[i])
            return static_cast<int>(i) + 1;
    return 0;
}

} // namespace

std::chrono::system_clock::time_point clamped(std::chrono::sys_seconds t) noexcept
{
    using namespace std::chrono;
    const auto latest = floor<seconds>(system_clock::time_point::max());
    const auto earliest = ceil<seconds>(system_clock::time_point::min());
    return t >= latest ? system_clock::time_point::max() : t <= earliest ? system_clock::time_point::min() : t;
}

std::optional<std::chrono::system_clock::time_point> parse_cookie_date(std::string_view text)
{
    bool found_time = false, found_day = false, found_month = false, found_year = false;
    int hour = 0, minute = 0, second = 0, day = 0, month = 0, year = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && is_delimiter(static_cast<unsigned char>(text[i])))
            ++i;
        const std::size_t start = i;
        while (i < text.size() && !is_delimiter(static_cast<unsigned char>(text[i])))
            ++i;
        const std::string_view token = text.substr(start, i - start);
        if (token.empty())
            continue;
        int value = 0;
        if (!found_time && parse_time(token, hour, minute, second))
            found_time = true;
        else if (!found_day && parse_number(token, 1, 2, value))
            found_day = true, day = value;
        else if (!found_month && month_of(token) != 0)
            found_month = true, month = month_of(token);
        else if (!found_year && parse_number(token, 2, 4, value))
            found_year = true, year = value;
    }
    if (found_year && year >= 70 && year <= 99)
        year += 1900;
    else if (found_year && year >= 0 && year <= 69)
        year += 2000;
    if (!found_time || !found_day || !found_month || !found_year || day < 1 || day > 31 || year < 1601
        || hour > 23 || minute > 59 || second > 59)
        return std::nullopt;
    using namespace std::chrono;
    const year_month_day date{std::chrono::year(year), std::chrono::month(static_cast<unsigned>(month)),
                              std::chrono::day(static_cast<unsigned>(day))};
    if (!date.ok()) // February 30th
        return std::nullopt;
    return clamped(sys_days(date) + hours(hour) + minutes(minute) + seconds(second));
}

} // namespace roundtrip::cookies_detail
