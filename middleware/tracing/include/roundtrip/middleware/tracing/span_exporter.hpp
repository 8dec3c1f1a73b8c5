// Where finished spans go: the interface exporters implement, and an exporter that keeps spans in
// memory, for tests (roundtrip's and yours).
#pragma once

#include <roundtrip/detail/config.hpp>
#include <roundtrip/middleware/tracing/span.hpp>

#include <mutex>
#include <vector>

namespace roundtrip {

/// A `span_exporter` receives every sampled span when it ends. `export_span` runs on the client's
/// strand, on the request path: it must return at once, never block, throw or call into the client
/// that produced the span. An exporter that sends spans somewhere queues them and sends from
/// elsewhere (`otlp_exporter` does). One exporter may serve several clients, so `export_span` may be
/// called from several threads at once.
class span_exporter {
public:
    virtual ~span_exporter() = default;

    /// Takes one finished span.
    virtual void export_span(span s) noexcept = 0;

    /// Sends what is still queued and stops, waiting at most `timeout`. Spans exported afterwards
    /// are dropped. The default does nothing.
    virtual void shutdown(clock::duration timeout) noexcept;
};

/// An `in_memory_exporter` keeps every span it is given, in the order they ended.
class in_memory_exporter : public span_exporter {
public:
    void export_span(span s) noexcept override;

    /// Returns a copy of the spans so far.
    std::vector<span> spans() const;
    /// Forgets the spans so far.
    void clear();

private:
    mutable std::mutex mutex_;
    std::vector<span> spans_;
};

} // namespace roundtrip
