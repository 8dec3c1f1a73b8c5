// The logging middleware: one coroutine layer, and an observer for the lifecycle lines.
#include <roundtrip/middleware/logging.hpp>

#include <roundtrip/body_source.hpp>
#include <roundtrip/detail/utf8.hpp>
#include <roundtrip/error.hpp>
#include <roundtrip/events.hpp>

#include <spdlog/logger.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace roundtrip {
namespace {

// Whether `s` is text we can show: valid UTF-8 without control characters other than tab and line ends.
bool is_text(std::string_view s)
{
    for (std::size_t i = 0; i < s.size();) {
        const std::size_t len = detail::utf8_sequence_length(s.substr(i));
        if (len == 0)
            return false;
        const auto c = static_cast<unsigned char>(s[i]);
        if (len == 1 && ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f))
            return false;
        i += len;
    }
    return true;
}

// The first `max` bytes of `s`, cut back to a character boundary so no UTF-8 sequence is split.
std::string_view utf8_prefix(std::string_view s, std::size_t max)
{
    if (s.size() <= max)
        return s;
    std::size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xc0) == 0x80)
        --cut;
    return s.substr(0, cut);
}

// Line breaks written as \n and \r: a body must not be able to forge lines of the log.
std::string one_line(std::string_view s)
{
    std::string out;
    out.reserve(s.size());
    for (char ch : s)
        out += ch == '\n' ? std::string_view("\\n") : ch == '\r' ? std::string_view("\\r") : std::string_view(&ch, 1);
    return out;
}

// How a call line describes a body: its size when it is held, "streamed" when it is read or written
// as it goes, which the log neither waits for nor shows.
std::string body_summary(std::size_t held, bool streamed, std::optional<std::uint64_t> length = std::nullopt)
{
    if (!streamed)
        return std::to_string(held) + "-byte body";
    return length ? "streamed " + std::to_string(*length) + "-byte body" : std::string("streamed body");
}

void log_body(spdlog::logger& log, std::string_view arrow, std::string_view body, std::size_t max)
{
    if (body.empty())
        return;
    if (!is_text(utf8_prefix(body, max)))
        return log.info("{} (binary {}-byte body omitted)", arrow, body.size());
    const std::string shown = one_line(utf8_prefix(body, max));
    if (utf8_prefix(body, max).size() < body.size())
        log.info("{} {} ... ({} bytes in all)", arrow, shown, body.size());
    else
        log.info("{} {}", arrow, shown);
}

void log_fields(spdlog::logger& log, std::string_view arrow, const header_fields& fields, const redaction& r)
{
    for (const auto& f : fields)
        log.info("{} {}: {}", arrow, f.name_string(), r.header_value(f.name_string(), f.value()));
}

// Writes each event of the attempts beneath the middleware at debug level.
class lifecycle_log : public observer {
public:
    explicit lifecycle_log(std::shared_ptr<spdlog::logger> log) : log_(std::move(log)) {}

    void on_event(const event& e) noexcept override
    {
        try {
            log_->debug("[call {} attempt {}] {}", e.call, e.attempt, describe(e));
        } catch (...) {
            // A logger that throws must not take the client down; the line is lost.
        }
    }

private:
    std::shared_ptr<spdlog::logger> log_;
};

// Logs one call (the lines at info) around the rest of the chain.
asio::awaitable<result> log_call(std::shared_ptr<const logging_options> o, std::shared_ptr<spdlog::logger> log,
                                 request req, next next)
{
    const std::string method = req.method;
    const std::string url = o->redaction.url(req.url);
    const bool streamed_out = req.body_stream != nullptr;
    log->info("--> {} {} ({})", method, url,
              body_summary(req.body.size(), streamed_out, streamed_out ? req.body_stream->length() : std::nullopt));
    if (o->detail >= log_detail::headers) {
        log_fields(*log, "-->", req.headers, o->redaction);
        if (o->detail >= log_detail::body && !streamed_out)
            log_body(*log, "-->", req.body, o->max_body_bytes);
        log->info("--> END {}", method);
    }

    const auto started = clock::now();
    result r = co_await next(std::move(req));
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - started).count();
    if (r.error) {
        // The class and roundtrip's short message: neither ever holds request data.
        log->info("<-- FAILED {}: {} {} ({} ms, attempts {})", error_class(r.error), r.error.message(),
                  url, ms, r.attempt.attempts);
        co_return r;
    }
    const auto& resp = r.response;
    const bool streamed_in = resp.body_stream.is_open();
    // A redirected response names where it came from (OkHttp's logger does the same).
    std::string redirected;
    const std::string& from = resp.final_url ? (redirected = o->redaction.url(*resp.final_url)) : url;
    log->info("<-- {} {} {} ({} ms, {})", resp.status, resp.reason, from, ms, body_summary(resp.body.size(), streamed_in));
    if (o->detail >= log_detail::headers) {
        log_fields(*log, "<--", resp.headers, o->redaction);
        if (o->detail >= log_detail::body && !streamed_in)
            log_body(*log, "<--", resp.body, o->max_body_bytes);
        log->info("<-- END HTTP");
    }
    co_return r;
}

} // namespace

layer logging(logging_options options)
{
    auto o = std::make_shared<const logging_options>(std::move(options));
    // Not a coroutine itself: a call with nothing to log costs no coroutine frame of its own, only
    // the decision; log_call is the coroutine, for a call that is logged.
    return [o](request req, next next) -> asio::awaitable<result> {
        std::shared_ptr<spdlog::logger> log = o->logger ? o->logger : spdlog::default_logger();
        const bool calls = o->detail != log_detail::none && log->should_log(spdlog::level::info);
        const bool events = o->lifecycle && log->should_log(spdlog::level::debug);
        if (events)
            req.observe(std::make_shared<lifecycle_log>(log));
        if (!calls)
            return next(std::move(req)); // no call lines: format nothing
        return log_call(o, std::move(log), std::move(req), next);
    };
}

} // namespace roundtrip
