// The spdlog exporter: writes each finished span as one line to an spdlog logger. It lives in its own
// library, roundtrip-tracing-spdlog, so that tracing without it does not link spdlog.
#pragma once

#include <roundtrip/middleware/tracing/span_exporter.hpp>

#include <spdlog/fwd.h>

#include <memory>

namespace roundtrip {

/// A `spdlog_exporter` writes each span it is given as one line at info level, for development and
/// for services that read their traces in their logs:
///
/// ```
/// span GET 12.345ms kind=client status=error "connection refused" trace=4bf92f3577b34da6a3ce929d0e0e4736
///   span=00f067aa0ba902b7 parent=- http.request.method=GET server.port=8080 event=dns@0.102ms
/// ```
/// (one line; wrapped here). The duration is end minus start; `parent=-` marks a root span;
/// `status=` appears only when the status is set, with its message quoted; attribute values are
/// printed plainly; each event shows its offset from the span's start. Line breaks in names and
/// values are written as `\n` and `\r`, so a value cannot forge log lines.
///
/// The line is formatted and written on the caller's thread, inside `export_span`: use an
/// asynchronous spdlog logger (or a fast sink) on a busy client. When the logger would discard info
/// lines, nothing is formatted. Thread safety: as the logger's sinks (the `_mt` sinks are safe).
class spdlog_exporter : public span_exporter {
public:
    /// Writes to `logger`; null means spdlog's default logger, looked up for each span.
    explicit spdlog_exporter(std::shared_ptr<spdlog::logger> logger = nullptr);

    void export_span(span s) noexcept override;

private:
    std::shared_ptr<spdlog::logger> logger_;
};

} // namespace roundtrip
