#include "instrument.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <mutex>

namespace roundtrip {

// attribute_list

attribute_list::entry* attribute_list::slot(std::string_view key) noexcept
{
    for (std::size_t i = 0; i < size_; ++i)
        if (items_[i].key == key)
            return &items_[i];
    if (size_ == capacity)
        return nullptr;
    items_[size_].key = key;
    return &items_[size_++];
}

void attribute_list::set(std::string_view key, std::string_view value) noexcept
{
    if (entry* e = slot(key))
        *e = entry{key, value, 0, false};
}

void attribute_list::set(std::string_view key, std::int64_t value) noexcept
{
    if (entry* e = slot(key))
        *e = entry{key, {}, value, true};
}

void attribute_list::drop(std::string_view key) noexcept
{
    for (std::size_t i = 0; i < size_; ++i)
        if (items_[i].key == key) {
            std::move(items_.begin() + i + 1, items_.begin() + size_, items_.begin() + i);
            --size_;
            return;
        }
}

const attribute_list::entry* attribute_list::find(std::string_view key) const noexcept
{
    for (std::size_t i = 0; i < size_; ++i)
        if (items_[i].key == key)
            return &items_[i];
    return nullptr;
}

// the snapshot's lookups

std::optional<std::string_view> metric_point::attribute(std::string_view key) const noexcept
{
    for (const auto& a : attributes)
        if (a.key == key)
            return a.value;
    return std::nullopt;
}

const metric_point* metric::find(std::initializer_list<std::pair<std::string_view, std::string_view>> match) const
{
    for (const auto& p : points)
        if (std::all_of(match.begin(), match.end(), [&](const auto& m) { return p.attribute(m.first) == m.second; }))
            return &p;
    return nullptr;
}

const metric* metrics_snapshot::find(std::string_view name) const noexcept
{
    for (const auto& m : metrics)
        if (m.name == name)
            return &m;
    return nullptr;
}

namespace detail {
namespace {

std::vector<std::int64_t> to_nanoseconds(const std::vector<double>& seconds)
{
    std::vector<std::int64_t> out;
    for (double s : seconds)
        out.push_back(static_cast<std::int64_t>(s * 1e9 + 0.5));
    return out;
}

void append_number(std::string& out, std::int64_t n)
{
    char buffer[24];
    const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, n);
    out.append(buffer, end);
}

} // namespace

series::series(std::vector<metric_attribute> attributes, std::size_t buckets)
    : attributes_(std::move(attributes)), bucket_count_(buckets)
{
    if (buckets) {
        buckets_ = std::make_unique<std::atomic<std::uint64_t>[]>(buckets);
        for (std::size_t i = 0; i < buckets; ++i)
            buckets_[i].store(0, std::memory_order_relaxed);
    }
}

void series::record(clock::duration d, const std::vector<std::int64_t>& bounds_ns) noexcept
{
    const std::int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
    // A bucket counts the values up to and including its boundary, as OpenTelemetry and Prometheus's
    // `le` define it.
    const std::size_t i = std::lower_bound(bounds_ns.begin(), bounds_ns.end(), ns) - bounds_ns.begin();
    buckets_[i].fetch_add(1, std::memory_order_relaxed);
    sum_seconds_.fetch_add(static_cast<double>(ns) / 1e9, std::memory_order_relaxed);
}

metric_point series::point() const
{
    metric_point p;
    p.attributes = attributes_;
    p.value = value_.load(std::memory_order_relaxed);
    p.bucket_counts.reserve(bucket_count_);
    std::uint64_t counted = 0;
    for (std::size_t i = 0; i < bucket_count_; ++i)
        counted += p.bucket_counts.emplace_back(buckets_[i].load(std::memory_order_relaxed));
    // Read one by one while others record, buckets, count and sum may disagree by a measurement or
    // two; the count a reader sees is the buckets' sum, so that `+Inf` and `_count` agree.
    p.count = counted;
    p.sum = sum_seconds_.load(std::memory_order_relaxed);
    return p;
}

instrument::instrument(instrument_info info) : info_(std::move(info)), bounds_ns_(to_nanoseconds(info_.bounds)) {}

series& instrument::at(const attribute_list& attributes, std::string& key)
{
    key.clear();
    for (const auto& a : attributes) {
        key.append(a.key).push_back('=');
        if (a.integer)
            append_number(key, a.number);
        else
            key.append(a.text);
        key.push_back('\x1f'); // no attribute holds a unit separator: keys cannot run together
    }
    {
        std::shared_lock lock(mutex_);
        if (auto it = series_.find(std::string_view(key)); it != series_.end())
            return *it->second;
    }
    std::vector<metric_attribute> owned;
    owned.reserve(attributes.size());
    for (const auto& a : attributes) {
        metric_attribute m{std::string(a.key), std::string(a.text), a.integer};
        if (a.integer) {
            m.value.clear();
            append_number(m.value, a.number);
        }
        owned.push_back(std::move(m));
    }
    const std::size_t buckets = info_.kind == instrument_kind::histogram ? info_.bounds.size() + 1 : 0;
    auto made = std::make_unique<series>(std::move(owned), buckets);
    std::unique_lock lock(mutex_);
    if (order_.size() == order_.capacity()) // so that nothing throws once the series is in the map
        order_.reserve(2 * order_.size() + 8);
    auto [it, inserted] = series_.try_emplace(key, std::move(made));
    if (inserted) // else another thread made it first
        order_.push_back(it->second.get());
    return *it->second;
}

metric instrument::collect() const
{
    metric m{std::string(info_.name), std::string(info_.unit), std::string(info_.description), info_.kind,
             info_.bounds, {}};
    std::shared_lock lock(mutex_);
    m.points.reserve(order_.size());
    for (const series* s : order_)
        m.points.push_back(s->point());
    return m;
}

} // namespace detail
} // namespace roundtrip
