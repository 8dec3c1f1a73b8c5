// The spdlog exporter: formats one span as one line.
#include <roundtrip/middleware/tracing/spdlog_exporter.hpp>

#include <spdlog/fmt/fmt.h>
#include <spdlog/logger.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <iterator>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace roundtrip {
namespace {

// Appends `s` with line breaks written as \n and \r: a value must not be able to forge log lines.
void append_one_line(std::string& out, std::string_view s)
{
    for (char ch : s) {
        if (ch == '\n')
            out += "\\n";
        else if (ch == '\r')
            out += "\\r";
        else
            out += ch;
    }
}

void append_value(std::string& out, const attribute_value& value)
{
    std::visit(
        [&](const auto& v) {
            using type = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<type, std::string>)
                append_one_line(out, v);
            else if constexpr (std::is_same_v<type, bool>)
                out += v ? "true" : "false";
            else
                fmt::format_to(std::back_inserter(out), "{}", v);
        },
        value);
}

// Milliseconds with microsecond precision: "12.345ms".
void append_millis(std::string& out, std::chrono::system_clock::duration d)
{
    fmt::format_to(std::back_inserter(out), "{:.3f}ms", std::chrono::duration<double, std::milli>(d).count());
}

std::string_view kind_name(span_kind k)
{
    switch (k) {
    case span_kind::internal: return "internal";
    case span_kind::server: return "server";
    case span_kind::client: return "client";
    case span_kind::producer: return "producer";
    case span_kind::consumer: return "consumer";
    }
    return "unknown";
}

std::string format_line(const span& s)
{
    std::string line = "span ";
    append_one_line(line, s.name);
    line += ' ';
    append_millis(line, s.end - s.start);
    line += " kind=";
    line += kind_name(s.kind);
    if (s.status != status_code::unset) {
        line += s.status == status_code::ok ? " status=ok" : " status=error";
        if (!s.status_message.empty()) {
            line += " \"";
            append_one_line(line, s.status_message);
            line += '"';
        }
    }
    line += " trace=" + s.context.trace.hex() + " span=" + s.context.span.hex();
    line += " parent=" + (s.parent.valid() ? s.parent.hex() : std::string("-"));
    for (const attribute& a : s.attributes) {
        line += ' ';
        append_one_line(line, a.key);
        line += '=';
        append_value(line, a.value);
    }
    for (const span_event& e : s.events) {
        line += " event=";
        append_one_line(line, e.name);
        line += '@';
        append_millis(line, e.time - s.start);
    }
    return line;
}

} // namespace

spdlog_exporter::spdlog_exporter(std::shared_ptr<spdlog::logger> logger) : logger_(std::move(logger)) {}

void spdlog_exporter::export_span(span s) noexcept
{
    try {
        spdlog::logger* log = logger_ ? logger_.get() : spdlog::default_logger_raw();
        if (log == nullptr || !log->should_log(spdlog::level::info))
            return;
        log->info(format_line(s));
    } catch (...) {
        // Out of memory while formatting: the line is lost, the request is not.
    }
}

} // namespace roundtrip
