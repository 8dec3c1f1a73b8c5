// Deadline arithmetic that saturates (a duration of "forever", duration::max(), means no limit, never
// an overflow into the past), and the rule that names a timeout.
#pragma once

#include <roundtrip/deadline.hpp>
#include <roundtrip/error.hpp>

#include <algorithm>

namespace roundtrip::detail {

// When a phase that may take `phase` must end: then, or at the call's deadline if sooner. A phase of
// 0 (or less) has no limit of its own, as every "0 means none" setting of roundtrip and of Go.
inline clock::time_point bounded(clock::duration phase, clock::time_point deadline) noexcept
{
    if (phase <= clock::duration::zero())
        return deadline;
    return std::min(saturating_add(clock::now(), phase), deadline);
}

// The error for a wait that ran out: the call's deadline when that has passed, else the phase's own.
inline error_code timed_out(clock::time_point call_deadline, error phase_timeout) noexcept
{
    return clock::now() >= call_deadline ? error::deadline_exceeded : phase_timeout;
}

} // namespace roundtrip::detail
