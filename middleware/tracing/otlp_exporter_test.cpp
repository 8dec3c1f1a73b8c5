// The OTLP exporter against a local receiver (the loopback test server, storing what it is sent):
// the JSON checked field by field against OTLP's JSON encoding after a real parse, text escaping,
// batching by size and by time, flushing on shutdown, a full queue, a failing receiver, and a
// receiver that never answers.
#include <roundtrip/middleware/tracing/otlp_exporter.hpp>

#include "otlp_json.hpp"
#include "otlp_receiver.hpp"
#include <roundtrip/testing/test_server.hpp>

#include <roundtrip/version.hpp>

// Boost.JSON compiled into this test alone (header-only mode): the library does not use it.
#include <boost/json/src.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <string>
#include <vector>

using namespace roundtrip;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

using receiver = testing::otlp_receiver;

otlp_options options_for(const receiver& r)
{
    otlp_options o;
    o.endpoint = r.endpoint("/v1/traces");
    o.flush_interval = 1min; // only the batch size and shutdown send, unless a test says otherwise
    return o;
}

trace_id make_trace_id(std::uint8_t first)
{
    trace_id id;
    for (std::size_t i = 0; i < id.bytes.size(); ++i)
        id.bytes[i] = static_cast<std::uint8_t>(first + i);
    return id;
}

span_id make_span_id(std::uint8_t first)
{
    span_id id;
    for (std::size_t i = 0; i < id.bytes.size(); ++i)
        id.bytes[i] = static_cast<std::uint8_t>(first + i);
    return id;
}

// 2023-11-14T22:13:20.123456789Z, exact to the nanosecond.
const std::chrono::system_clock::time_point t0{std::chrono::duration_cast<std::chrono::system_clock::duration>(
    std::chrono::nanoseconds(1'700'000'000'123'456'789))};

span simple_span(std::string name)
{
    span s;
    s.name = std::move(name);
    s.context.trace = make_trace_id(0x01);
    s.context.span = make_span_id(0x20);
    s.context.sampled = true;
    s.start = t0;
    s.end = t0 + 1ms;
    return s;
}

std::size_t span_count(const json::object& body)
{
    return body.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").as_array().size();
}

// The value object of attribute `key` in a KeyValue list; fails the test when absent.
json::object attribute_value_of(const json::value& attributes, std::string_view key)
{
    for (const json::value& kv : attributes.as_array())
        if (kv.at("key").as_string() == key)
            return kv.at("value").as_object();
    FAIL("no attribute " << key);
    return {};
}

} // namespace

TEST_CASE("a batch is sent as an OTLP/JSON ExportTraceServiceRequest, field by field")
{
    receiver r;
    otlp_options o = options_for(r);
    o.headers.set("X-Api-Key", "k-123");
    o.resource = {{"service.name", std::string("checkout")}, {"service.instance.id", std::int64_t{7}}};

    span root = simple_span("GET");
    root.kind = span_kind::client;
    root.context.trace_state = "vendor=abc,other=x";
    root.end = t0 + 12ms;
    root.attributes = {
        {"http.request.method", std::string("GET")},
        {"http.response.status_code", std::int64_t{503}},
        {"big", std::int64_t{9'007'199'254'740'993}}, // 2^53 + 1: a JSON number would lose it
        {"negative", std::int64_t{-5}},
        {"ratio", 0.25},
        {"retried", true},
    };
    root.events = {{"connect", t0 + 2ms, {{"network.peer.port", std::int64_t{4318}}}}};
    root.status = status_code::error;
    root.status_message = "Service Unavailable";

    span child = simple_span("attempt");
    child.context.span = make_span_id(0xa0);
    child.context.sampled = false;
    child.parent = root.context.span;

    {
        otlp_exporter exporter(o);
        exporter.export_span(root);
        exporter.export_span(child);
        exporter.shutdown(5s);
        const otlp_stats stats = exporter.stats();
        CHECK(stats.exported == 2);
        CHECK(stats.dropped == 0);
        CHECK(stats.failed == 0);
    }

    REQUIRE(r.requests().size() == 1);
    const testing::server_request req = r.requests()[0];
    CHECK(req.method == "POST");
    CHECK(req.target == "/v1/traces");
    CHECK(req.headers["Content-Type"] == "application/json");
    CHECK(req.headers["X-Api-Key"] == "k-123");

    const json::object body = r.body(0);
    const json::array& resource_spans = body.at("resourceSpans").as_array();
    REQUIRE(resource_spans.size() == 1);

    const json::value& resource_attributes = resource_spans[0].at("resource").at("attributes");
    CHECK(attribute_value_of(resource_attributes, "service.name").at("stringValue") == "checkout");
    CHECK(attribute_value_of(resource_attributes, "service.instance.id").at("intValue") == "7");

    const json::array& scope_spans = resource_spans[0].at("scopeSpans").as_array();
    REQUIRE(scope_spans.size() == 1);
    CHECK(scope_spans[0].at("scope").at("name") == "roundtrip.tracing");
    CHECK(scope_spans[0].at("scope").at("version") == ROUNDTRIP_VERSION_STRING);

    const json::array& spans = scope_spans[0].at("spans").as_array();
    REQUIRE(spans.size() == 2);

    const json::object& s = spans[0].as_object();
    // Ids as lowercase hex (OTLP's exception to protobuf's base64), 32 and 16 digits.
    CHECK(s.at("traceId") == "0102030405060708090a0b0c0d0e0f10");
    CHECK(s.at("spanId") == "2021222324252627");
    CHECK_FALSE(s.contains("parentSpanId")); // a root has none
    CHECK(s.at("traceState") == "vendor=abc,other=x");
    CHECK(s.at("flags") == 1); // W3C "sampled"
    CHECK(s.at("name") == "GET");
    CHECK(s.at("kind") == 3); // SPAN_KIND_CLIENT, an integer, never the enum's name
    // fixed64 times as decimal strings.
    CHECK(s.at("startTimeUnixNano") == "1700000000123456789");
    CHECK(s.at("endTimeUnixNano") == "1700000000135456789");

    const json::value& attributes = s.at("attributes");
    CHECK(attributes.as_array().size() == 6);
    CHECK(attribute_value_of(attributes, "http.request.method").at("stringValue") == "GET");
    CHECK(attribute_value_of(attributes, "http.response.status_code").at("intValue") == "503");
    CHECK(attribute_value_of(attributes, "big").at("intValue") == "9007199254740993");
    CHECK(attribute_value_of(attributes, "negative").at("intValue") == "-5");
    CHECK(attribute_value_of(attributes, "ratio").at("doubleValue") == 0.25);
    CHECK(attribute_value_of(attributes, "retried").at("boolValue") == true);
    CHECK(attribute_value_of(attributes, "ratio").size() == 1); // exactly one field of AnyValue

    const json::array& events = s.at("events").as_array();
    REQUIRE(events.size() == 1);
    CHECK(events[0].at("timeUnixNano") == "1700000000125456789");
    CHECK(events[0].at("name") == "connect");
    CHECK(attribute_value_of(events[0].at("attributes"), "network.peer.port").at("intValue") == "4318");

    CHECK(s.at("status").at("code") == 2); // STATUS_CODE_ERROR
    CHECK(s.at("status").at("message") == "Service Unavailable");

    const json::object& c = spans[1].as_object();
    CHECK(c.at("traceId") == "0102030405060708090a0b0c0d0e0f10");
    CHECK(c.at("spanId") == "a0a1a2a3a4a5a6a7");
    CHECK(c.at("parentSpanId") == "2021222324252627");
    CHECK_FALSE(c.contains("traceState")); // empty: left out, as protobuf's JSON leaves defaults out
    CHECK_FALSE(c.contains("flags"));
    CHECK(c.at("kind") == 1); // SPAN_KIND_INTERNAL
    CHECK(c.at("attributes").as_array().empty());
    CHECK(c.at("events").as_array().empty());
    CHECK(c.at("status").at("code") == 0);
    CHECK_FALSE(c.at("status").as_object().contains("message"));
}

TEST_CASE("text is JSON-escaped, UTF-8 passes through, invalid UTF-8 becomes U+FFFD")
{
    span s = simple_span("quote\" backslash\\ newline\n tab\t bell\x07 del\x7f");
    s.attributes = {
        {"utf8", std::string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80")},      // é € 😀
        {"invalid", std::string("a\xff" "b\xc0\xaf" "c\xed\xa0\x80" "d\xe2\x82")}, // stray, overlong, surrogate, cut
        {"nan", std::numeric_limits<double>::quiet_NaN()},
        {"inf", -std::numeric_limits<double>::infinity()},
    };

    const std::string text = detail::otlp_trace_request_json({s}, {});
    CHECK(text.find("\\u0007") != std::string::npos); // control characters as \u00XX

    const json::value body = json::parse(text); // throws on malformed JSON or invalid UTF-8
    const json::value& parsed = body.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").at(0);
    CHECK(parsed.at("name") == "quote\" backslash\\ newline\n tab\t bell\x07 del\x7f");
    const json::value& attributes = parsed.at("attributes");
    CHECK(attribute_value_of(attributes, "utf8").at("stringValue") == "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    const std::string fffd = "\xef\xbf\xbd";
    const std::string replaced = "a" + fffd + "b" + fffd + fffd + "c" + fffd + fffd + fffd + "d" + fffd + fffd;
    CHECK(attribute_value_of(attributes, "invalid").at("stringValue") == replaced.c_str());
    // Protobuf's JSON mapping writes non-finite doubles as strings.
    CHECK(attribute_value_of(attributes, "nan").at("doubleValue") == "NaN");
    CHECK(attribute_value_of(attributes, "inf").at("doubleValue") == "-Infinity");
    CHECK(body.at("resourceSpans").at(0).at("resource").at("attributes").as_array().empty());
}

TEST_CASE("an export starts as soon as max_batch spans are queued; shutdown sends the rest")
{
    receiver r;
    otlp_options o = options_for(r);
    o.max_batch = 3;
    otlp_exporter exporter(o);

    for (int i = 0; i < 7; ++i)
        exporter.export_span(simple_span("s" + std::to_string(i)));
    REQUIRE(r.wait_for(2)); // long before the one-minute flush interval
    CHECK(span_count(r.body(0)) == 3);
    CHECK(span_count(r.body(1)) == 3);

    exporter.shutdown(5s);
    REQUIRE(r.requests().size() == 3);
    CHECK(span_count(r.body(2)) == 1);
    CHECK(exporter.stats().exported == 7);
    // The default resource.
    CHECK(attribute_value_of(r.body(0).at("resourceSpans").at(0).at("resource").at("attributes"), "service.name")
              .at("stringValue") == "unknown_service");
}

TEST_CASE("fewer than max_batch spans are sent when flush_interval passes")
{
    receiver r;
    otlp_options o = options_for(r);
    o.flush_interval = 20ms;
    otlp_exporter exporter(o);

    exporter.export_span(simple_span("first"));
    REQUIRE(r.wait_for(1));
    exporter.export_span(simple_span("second"));
    REQUIRE(r.wait_for(2));
    CHECK(span_count(r.body(0)) == 1);
    CHECK(span_count(r.body(1)) == 1);
}

TEST_CASE("shutdown sends what is queued before returning; afterwards spans are dropped")
{
    receiver r;
    otlp_exporter exporter(options_for(r));
    for (int i = 0; i < 5; ++i)
        exporter.export_span(simple_span("s"));
    CHECK(r.requests().empty()); // neither the batch size nor the interval was reached

    exporter.shutdown(5s);
    REQUIRE(r.requests().size() == 1);
    CHECK(span_count(r.body(0)) == 5);
    CHECK(exporter.stats().exported == 5);

    exporter.export_span(simple_span("late"));
    exporter.shutdown(5s); // a second shutdown returns at once
    CHECK(exporter.stats().dropped == 1);
    CHECK(r.requests().size() == 1);
}

TEST_CASE("a full queue drops and counts spans instead of blocking")
{
    receiver r(receiver::answer::never);
    otlp_options o = options_for(r);
    o.max_queue = 4;
    o.max_batch = 2;
    otlp_exporter exporter(o);

    exporter.export_span(simple_span("a"));
    exporter.export_span(simple_span("b"));
    REQUIRE(r.wait_for(1)); // that batch left the queue and is stuck at the receiver

    for (int i = 0; i < 10; ++i)
        exporter.export_span(simple_span("c"));
    CHECK(exporter.stats().dropped == 6); // 4 fit

    exporter.shutdown(100ms);
    const otlp_stats stats = exporter.stats();
    CHECK(stats.failed == 2);   // the batch in flight, cancelled
    CHECK(stats.dropped == 10); // 6 on arrival, 4 never sent
    CHECK(stats.exported == 0);
}

TEST_CASE("a receiver answering 500 makes the batch fail, once, without retries")
{
    receiver r(receiver::answer::fail);
    otlp_exporter exporter(options_for(r));
    for (int i = 0; i < 3; ++i)
        exporter.export_span(simple_span("s"));
    exporter.shutdown(5s);
    CHECK(r.requests().size() == 1);
    const otlp_stats stats = exporter.stats();
    CHECK(stats.failed == 3);
    CHECK(stats.exported == 0);
}

TEST_CASE("no receiver listening makes the batch fail")
{
    otlp_options o;
    o.endpoint = "http://127.0.0.1:" + std::to_string(testing::refused_port()) + "/v1/traces";
    otlp_exporter exporter(o);
    exporter.export_span(simple_span("s"));
    exporter.shutdown(5s);
    CHECK(exporter.stats().failed == 1);
}

TEST_CASE("shutdown returns within its timeout when the receiver never answers")
{
    receiver r(receiver::answer::never);
    otlp_options o = options_for(r);
    o.max_batch = 1;
    otlp_exporter exporter(o); // export_timeout stays 10 s: shutdown must cut the export short
    exporter.export_span(simple_span("s"));
    REQUIRE(r.wait_for(1));

    const auto start = clock::now();
    exporter.shutdown(200ms);
    // Generous for a loaded machine, and far below the 10 s the export itself would wait.
    CHECK(clock::now() - start < 3s);
    CHECK(exporter.stats().failed == 1);
}

TEST_CASE("the destructor shuts down within export_timeout when the receiver never answers")
{
    receiver r(receiver::answer::never);
    otlp_options o = options_for(r);
    o.export_timeout = 200ms;
    const auto start = clock::now();
    {
        otlp_exporter exporter(o);
        exporter.export_span(simple_span("s"));
    }
    CHECK(clock::now() - start < 3s);
}

TEST_CASE("the README's exporter starts, and stops at once with nothing queued")
{
    // [doc-sample tracing-otlp-readme]
    #include <roundtrip/middleware/tracing/otlp_exporter.hpp>

    auto exporter = std::make_shared<roundtrip::otlp_exporter>(roundtrip::otlp_options{
        .endpoint = "http://localhost:4318/v1/traces",
        .resource = {{"service.name", std::string("checkout")}}});
    // [end doc-sample]
    exporter->shutdown(5s);
    const otlp_stats stats = exporter->stats();
    CHECK(stats.exported + stats.dropped + stats.failed == 0);
}
