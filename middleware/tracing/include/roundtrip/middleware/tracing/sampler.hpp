// Which calls are traced: OpenTelemetry's standard samplers.
#pragma once

#include <roundtrip/middleware/tracing/span.hpp>

#include <cstdint>

namespace roundtrip {

/// A `sampler` decides, when a call starts, whether its spans are recorded. The decision travels in
/// the `traceparent` sampled flag, so the services the call reaches can follow it. Copyable.
class sampler {
public:
    /// Records every call.
    static sampler always_on() noexcept;
    /// Records no call (the trace context is still propagated, unsampled).
    static sampler always_off() noexcept;
    /// Records about `ratio` (0 to 1, clamped) of new traces, decided by the trace id's random part
    /// (its rightmost 7 bytes) as OpenTelemetry's consistent probability sampling decides: a trace
    /// is kept when those 56 bits are at least (1 - ratio) * 2^56. Services sampling by that rule
    /// with the same ratio agree on every trace.
    static sampler ratio(double ratio) noexcept;
    /// Follows the caller's decision when the request continues a trace (a `traceparent` set on it),
    /// and asks `root` for new traces. The default: `parent_based(always_on())`.
    static sampler parent_based(sampler root) noexcept;

    /// Decides for a call whose trace is `trace`; `parent` is the caller's context, or null.
    bool should_sample(const span_context* parent, const trace_id& trace) const noexcept;

private:
    enum class rule { always, never, ratio };
    sampler(rule r, std::uint64_t threshold, bool parent_based) noexcept
        : rule_(r), threshold_(threshold), parent_based_(parent_based)
    {
    }
    rule rule_;
    std::uint64_t threshold_; // ratio: keep a trace whose 56 random bits are at least this
    bool parent_based_;
};

} // namespace roundtrip
