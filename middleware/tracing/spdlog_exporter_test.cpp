// The spdlog exporter's line, written to an in-memory sink.
#include <roundtrip/middleware/tracing/spdlog_exporter.hpp>

#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <doctest/doctest.h>

#include <chrono>
#include <sstream>

using namespace roundtrip;
using namespace std::chrono_literals;

namespace {

// A logger whose lines ("level message") land in a string.
struct captured {
    std::ostringstream out;
    std::shared_ptr<spdlog::logger> logger =
        std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));

    captured() { logger->set_pattern("%l %v"); }
};

span failed_call()
{
    const std::chrono::system_clock::time_point t0{std::chrono::seconds(1'700'000'000)};
    span s;
    s.name = "GET";
    s.kind = span_kind::client;
    for (std::uint8_t i = 0; i < 16; ++i)
        s.context.trace.bytes[i] = static_cast<std::uint8_t>(i + 1);
    s.context.span.bytes = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
    s.start = t0;
    s.end = t0 + 12345us;
    s.attributes = {{"http.request.method", std::string("GET")},
                    {"http.response.status_code", std::int64_t{503}},
                    {"ratio", 0.5},
                    {"retried", true},
                    {"note", std::string("two\nlines")}};
    s.events = {{"dns", t0 + 102us, {}}};
    s.status = status_code::error;
    s.status_message = "Service Unavailable";
    return s;
}

} // namespace

TEST_CASE("a span is one info line: name, duration, kind, status, ids, attributes, events")
{
    captured log;
    spdlog_exporter exporter(log.logger);

    exporter.export_span(failed_call());
    CHECK(log.out.str() ==
          "info span GET 12.345ms kind=client status=error \"Service Unavailable\" "
          "trace=0102030405060708090a0b0c0d0e0f10 span=00f067aa0ba902b7 parent=- "
          "http.request.method=GET http.response.status_code=503 ratio=0.5 retried=true note=two\\nlines "
          "event=dns@0.102ms\n");
}

TEST_CASE("a child span names its parent; an unset status is left out")
{
    captured log;
    spdlog_exporter exporter(log.logger);
    span s = failed_call();
    s.parent.bytes = {1, 2, 3, 4, 5, 6, 7, 8};
    s.status = status_code::unset;
    s.status_message.clear();
    s.attributes.clear();
    s.events.clear();

    exporter.export_span(s);
    CHECK(log.out.str() == "info span GET 12.345ms kind=client trace=0102030405060708090a0b0c0d0e0f10 "
                           "span=00f067aa0ba902b7 parent=0102030405060708\n");
}

TEST_CASE("nothing is written when the logger discards info lines")
{
    captured log;
    log.logger->set_level(spdlog::level::warn);
    spdlog_exporter exporter(log.logger);
    exporter.export_span(failed_call());
    CHECK(log.out.str().empty());
}
