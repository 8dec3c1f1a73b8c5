// Deadline arithmetic that saturates: a duration of "forever" (duration::max()) means no limit, never
// an overflow into the past.
#pragma once

#include <roundtrip/detail/config.hpp>

namespace roundtrip::detail {

// `from + d`, or time_point::max() when that would overflow.
inline clock::time_point after(clock::time_point from, clock::duration d) noexcept
{
    return d >= clock::time_point::max() - from ? clock::time_point::max() : from + d;
}

} // namespace roundtrip::detail
