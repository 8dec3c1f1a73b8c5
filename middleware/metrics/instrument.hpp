// One instrument and its series: what a measurement is added to. Series are found by their
// attributes under a reader lock, made once under a writer lock, and never removed, so a pointer to
// one stays valid for the instrument's life; their values are atomics, so clients on several threads
// record at once while an exporter collects.
#pragma once

#include <roundtrip/detail/config.hpp>
#include <roundtrip/middleware/metrics.hpp>

#include <atomic>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace roundtrip::detail {

// What an instrument is: its OpenTelemetry name, unit, description, kind and (for a histogram of
// durations) its bucket boundaries in seconds.
struct instrument_info {
    std::string_view name;
    std::string_view unit;
    std::string_view description;
    instrument_kind kind;
    std::vector<double> bounds;
};

// The value of one series.
class series {
public:
    series(std::vector<metric_attribute> attributes, std::size_t buckets);

    void add(std::int64_t n) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
    // Records a duration in a histogram whose boundaries, in nanoseconds, are `bounds_ns`.
    void record(clock::duration d, const std::vector<std::int64_t>& bounds_ns) noexcept;

    metric_point point() const;

private:
    const std::vector<metric_attribute> attributes_;
    std::atomic<std::int64_t> value_{0};
    std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_; // null for a counter
    std::size_t bucket_count_ = 0;
    std::atomic<double> sum_seconds_{0}; // a double: nanoseconds in 64 bits would wrap within months
};

class instrument {
public:
    explicit instrument(instrument_info info);

    // Returns the series of `attributes`, made the first time they are seen. `key` is a buffer the
    // caller keeps between calls, so that building the lookup key does not allocate once warm.
    series& at(const attribute_list& attributes, std::string& key);

    void record(series& s, clock::duration d) const noexcept { s.record(d, bounds_ns_); }

    const instrument_info& info() const noexcept { return info_; }
    // Copies the instrument and its series out; an instrument without series yields no points.
    metric collect() const;

private:
    struct key_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>()(s); }
    };

    const instrument_info info_;
    const std::vector<std::int64_t> bounds_ns_;
    mutable std::shared_mutex mutex_;
    std::unordered_map<std::string, std::unique_ptr<series>, key_hash, std::equal_to<>> series_;
    std::vector<const series*> order_; // in order of creation, for a stable exposition
};

} // namespace roundtrip::detail
