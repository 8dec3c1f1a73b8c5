// The exporter interface's default shutdown, and the in-memory exporter.
#include <roundtrip/middleware/tracing/span_exporter.hpp>

#include <utility>

namespace roundtrip {

void span_exporter::shutdown(clock::duration) noexcept {}

void in_memory_exporter::export_span(span s) noexcept
{
    std::lock_guard lock(mutex_);
    try {
        spans_.push_back(std::move(s));
    } catch (...) {
        // Out of memory: the span is lost, the request that produced it is not.
    }
}

std::vector<span> in_memory_exporter::spans() const
{
    std::lock_guard lock(mutex_);
    return spans_;
}

void in_memory_exporter::clear()
{
    std::lock_guard lock(mutex_);
    spans_.clear();
}

} // namespace roundtrip
