// Why work in progress — an attempt, a dial, a streamed body's reads — was told to stop. The transport
// stops work one way everywhere: whoever stops it records the reason here, then aborts the I/O
// (cancels the socket, abandons the lookup or the body source's read); the code that sees that I/O
// end asks outcome() what to report, so an abort reads as the cancellation or the deadline that
// caused it, never as the socket's operation_aborted.
#pragma once

#include "time.hpp"

#include <roundtrip/error.hpp>

#include <boost/beast/core/error.hpp>

#include <cstdint>

namespace roundtrip::detail {

class stop_state {
public:
    enum class reason : std::uint8_t { none, canceled, expired };

    // Records `why`, unless a reason is recorded already: the first one is what happened.
    void stop(reason why) noexcept
    {
        if (why_ == reason::none)
            why_ = why;
    }
    bool stopped() const noexcept { return why_ != reason::none; }
    bool canceled() const noexcept { return why_ == reason::canceled; }

    // What an operation that ended with `ec` reports: canceled when stopped for it (even over a
    // success that was queued before), a timeout when stopped because time ran out or when the
    // stream's deadline cut the operation short (the call's deadline_exceeded if `deadline` has
    // passed, else the phase's own `phase_timeout`), else `ec`.
    error_code outcome(error_code ec, error phase_timeout, clock::time_point deadline) const
    {
        if (why_ == reason::canceled)
            return error::canceled;
        if (why_ == reason::expired || ec == boost::beast::error::timeout)
            return timed_out(deadline, phase_timeout);
        return ec;
    }

private:
    reason why_ = reason::none;
};

} // namespace roundtrip::detail
