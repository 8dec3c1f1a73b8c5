/// Deadline arithmetic for roundtrip and its middleware. Timeouts and lifetimes may be
/// `clock::duration::max()` ("no limit"); adding one to a time point must give "never", not an
/// overflow into the past that would make a timer fire at once, again and again.
#pragma once

#include <roundtrip/detail/config.hpp>

namespace roundtrip {

/// `from + d`, or `clock::time_point::max()` when the sum would not fit.
constexpr clock::time_point saturating_add(clock::time_point from, clock::duration d) noexcept
{
    if (d > clock::duration::zero() && d >= clock::time_point::max() - from)
        return clock::time_point::max();
    return from + d;
}

} // namespace roundtrip
