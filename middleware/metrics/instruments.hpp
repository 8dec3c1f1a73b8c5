// The instruments the metrics middleware records, declared once: their names, units and buckets
// (OpenTelemetry's where the semantic conventions name them), in the order exporters show them.
#pragma once

#include "instrument.hpp"

#include <chrono>

namespace roundtrip::detail {

struct metrics_state {
    explicit metrics_state(metrics_options o);

    const metrics_options options;
    const std::chrono::system_clock::time_point start = std::chrono::system_clock::now();

    // OpenTelemetry's HTTP client instruments.
    instrument request_duration;
    instrument active_requests;
    instrument open_connections;
    instrument connection_duration;
    instrument time_in_queue;
    instrument dns_duration;
    // roundtrip's own.
    instrument attempts_waiting;
    instrument connect_duration;
    instrument tls_duration;
    instrument connections_acquired;
    instrument idle_time;
    instrument connections_closed;
    instrument responses_not_pooled;
    instrument transparent_retries;
    instrument middleware_events;

    // Every instrument above, in declaration order.
    const instrument* const all[15];
};

} // namespace roundtrip::detail
