// The span model's ids and lookup, and the in-memory exporter.
#include <roundtrip/middleware/tracing/span.hpp>
#include <roundtrip/middleware/tracing/span_exporter.hpp>

#include <doctest/doctest.h>

#include <chrono>

using namespace roundtrip;

TEST_CASE("an id is valid unless all zero, and prints as lowercase hex of its full length")
{
    trace_id t;
    CHECK_FALSE(t.valid());
    CHECK(t.hex() == "00000000000000000000000000000000");
    t.bytes[15] = 0xab;
    CHECK(t.valid());
    t.bytes[0] = 0x4b;
    CHECK(t.hex() == "4b0000000000000000000000000000ab");

    span_id s;
    CHECK_FALSE(s.valid());
    s.bytes = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
    CHECK(s.valid());
    CHECK(s.hex() == "00f067aa0ba902b7");

    span_context c;
    c.trace = t;
    CHECK_FALSE(c.valid()); // a span id is needed too
    c.span = s;
    CHECK(c.valid());
}

TEST_CASE("span::find returns the attribute's value, or null")
{
    span s;
    s.attributes = {{"http.request.method", std::string("GET")}, {"http.response.status_code", std::int64_t{200}}};
    const attribute_value* status = s.find("http.response.status_code");
    REQUIRE(status != nullptr);
    CHECK(std::get<std::int64_t>(*status) == 200);
    CHECK(s.find("server.address") == nullptr);
}

TEST_CASE("in_memory_exporter keeps spans in the order they ended until cleared")
{
    in_memory_exporter exporter;
    span a, b;
    a.name = "a";
    b.name = "b";
    exporter.export_span(a);
    exporter.export_span(b);
    const std::vector<span> spans = exporter.spans();
    REQUIRE(spans.size() == 2);
    CHECK(spans[0].name == "a");
    CHECK(spans[1].name == "b");
    exporter.shutdown(std::chrono::seconds(1)); // the default: nothing to flush
    exporter.clear();
    CHECK(exporter.spans().empty());
}
