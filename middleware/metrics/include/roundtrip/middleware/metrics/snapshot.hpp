// What the metrics middleware has measured, copied out at one moment: the input of every exporter
// (the Prometheus text exposition, OTLP), and what tests read.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace roundtrip {

/// What kind of instrument a metric comes from, in OpenTelemetry's terms.
enum class instrument_kind {
    counter,         ///< Only goes up: a count of things that happened.
    up_down_counter, ///< Goes up and down: how many things are in a state now.
    histogram,       ///< A distribution of durations, in explicit buckets.
};

/// One attribute of a series: `server.port="8080"`. Numbers (ports, statuses) are marked so that an
/// exporter with types (OTLP) sends them as integers; their text is their decimal form.
struct metric_attribute {
    std::string key;
    std::string value;
    bool integer = false;

    friend bool operator==(const metric_attribute&, const metric_attribute&) = default;
};

/// One series of a metric: its attributes and its value, cumulative since the metrics were made.
struct metric_point {
    std::vector<metric_attribute> attributes;
    /// A counter's or up-down counter's value.
    std::int64_t value = 0;
    /// A histogram's counts, one per bucket: `bucket_counts[i]` counts the measurements in
    /// (bounds[i-1], bounds[i]], the last one those above the last bound. Not cumulative.
    std::vector<std::uint64_t> bucket_counts;
    std::uint64_t count = 0; ///< A histogram's number of measurements.
    double sum = 0;          ///< A histogram's sum of measurements, in its unit.

    /// Returns the value of attribute `key`, if the series has it.
    std::optional<std::string_view> attribute(std::string_view key) const noexcept;
};

/// One metric: an instrument's name (OpenTelemetry's, dotted: `http.client.request.duration`), unit
/// (UCUM: `s`, `{request}`), description and kind, and a point per series.
struct metric {
    std::string name;
    std::string unit;
    std::string description;
    instrument_kind kind = instrument_kind::counter;
    std::vector<double> bounds; ///< A histogram's bucket boundaries, ascending, in its unit.
    std::vector<metric_point> points;

    /// Returns the series whose attributes include every (key, value) of `match`, the first such one;
    /// null when none does.
    const metric_point* find(std::initializer_list<std::pair<std::string_view, std::string_view>> match) const;
};

/// Every metric with at least one series, in a stable order (the order instruments are declared).
struct metrics_snapshot {
    std::chrono::system_clock::time_point start; ///< When the metrics were made: the cumulative start.
    std::chrono::system_clock::time_point taken; ///< When this snapshot was taken.
    std::vector<metric> metrics;

    /// Returns the metric named `name`, or null.
    const metric* find(std::string_view name) const noexcept;
};

} // namespace roundtrip
