// The OTLP metrics exporter against a local receiver: the JSON checked field by field against
// OTLP's metrics encoding after a real parse, periodic and final exports, and receivers that fail or
// never answer.
#include <roundtrip/middleware/metrics/otlp_exporter.hpp>

#include "otlp_receiver.hpp"
#include <roundtrip/testing/fake_transport.hpp>
#include <roundtrip/testing/wait.hpp>

#include <roundtrip/client.hpp>
#include <roundtrip/version.hpp>

// Boost.JSON compiled into this test alone (header-only mode): the library does not use it.
#include <boost/json/src.hpp>

#include <doctest/doctest.h>

using namespace roundtrip;
using namespace std::chrono_literals;
namespace json = boost::json;
using receiver = testing::otlp_receiver;

namespace {

// Metrics with one GET to api.test:8080 recorded, over the fake transport.
std::shared_ptr<http_metrics> measured_metrics()
{
    auto metrics = std::make_shared<http_metrics>();
    auto observer = metrics->new_observer();
    auto fake = std::make_shared<testing::fake_transport>(testing::fake_options{.observers = {observer}});
    client c(client_options{.observers = {observer}, .bottom = fake});
    REQUIRE_FALSE(c.round_trip(request("GET", "http://api.test:8080/")).error);
    return metrics;
}

otlp_metrics_options options_for(const receiver& r, clock::duration interval = 1h)
{
    otlp_metrics_options o;
    o.endpoint = r.endpoint("/v1/metrics");
    o.interval = interval;
    o.resource = {{"service.name", std::string("checkout")}};
    return o;
}

const json::object* find_metric(const json::object& body, std::string_view name)
{
    for (const auto& m : body.at("resourceMetrics").at(0).at("scopeMetrics").at(0).at("metrics").as_array())
        if (m.at("name").as_string() == name)
            return &m.as_object();
    return nullptr;
}

std::string attribute_of(const json::object& point, std::string_view key, std::string_view kind)
{
    for (const auto& a : point.at("attributes").as_array())
        if (a.at("key").as_string() == key)
            return std::string(a.at("value").at(kind).as_string());
    return "(none)";
}

} // namespace

TEST_CASE("an export is an ExportMetricsServiceRequest: histograms, monotonic and non-monotonic sums, cumulative")
{
    auto metrics = measured_metrics();
    receiver r;
    otlp_metrics_exporter exporter(metrics, options_for(r, 50ms));
    REQUIRE(r.wait_for(1));
    const auto req = r.requests().at(0);
    CHECK(req.method == "POST");
    CHECK(req.target == "/v1/metrics");
    CHECK(req.headers["Content-Type"] == "application/json");

    const json::object body = r.body(0);
    const auto& rm = body.at("resourceMetrics").at(0);
    CHECK(rm.at("resource").at("attributes").at(0).at("value").at("stringValue") == "checkout");
    const auto& scope = rm.at("scopeMetrics").at(0).at("scope");
    CHECK(scope.at("name") == "roundtrip.metrics");
    CHECK(scope.at("version") == ROUNDTRIP_VERSION_STRING);

    const json::object* duration = find_metric(body, "http.client.request.duration");
    REQUIRE(duration);
    CHECK(duration->at("unit") == "s");
    const auto& h = duration->at("histogram").as_object();
    CHECK(h.at("aggregationTemporality") == 2);
    const auto& point = h.at("dataPoints").at(0).as_object();
    CHECK(point.at("count") == "1");
    CHECK(point.at("bucketCounts").as_array().size() == point.at("explicitBounds").as_array().size() + 1);
    CHECK(point.at("explicitBounds").at(0).as_double() == doctest::Approx(0.005));
    CHECK(point.at("sum").is_number());
    CHECK(attribute_of(point, "server.port", "intValue") == "8080");
    CHECK(attribute_of(point, "server.address", "stringValue") == "api.test");
    const auto start = std::stoull(std::string(point.at("startTimeUnixNano").as_string()));
    const auto now = std::stoull(std::string(point.at("timeUnixNano").as_string()));
    CHECK(start > 0);
    CHECK(start < now);

    const json::object* active = find_metric(body, "http.client.active_requests");
    REQUIRE(active);
    CHECK(active->at("sum").at("isMonotonic") == false);
    CHECK(active->at("sum").at("dataPoints").at(0).at("asInt") == "0");
    const json::object* acquired = find_metric(body, "roundtrip.client.connection.acquired");
    REQUIRE(acquired);
    CHECK(acquired->at("sum").at("isMonotonic") == true);
    CHECK(acquired->at("sum").at("aggregationTemporality") == 2);
    CHECK(acquired->at("sum").at("dataPoints").at(0).at("asInt") == "1");

    // Periodic, and cumulative: the next export carries the same totals.
    REQUIRE(r.wait_for(2));
    CHECK(find_metric(r.body(1), "http.client.request.duration")->at("histogram").at("dataPoints").at(0).at("count")
          == "1");
    exporter.shutdown(5s);
    CHECK(exporter.stats().exported >= 2);
    CHECK(exporter.stats().failed == 0);
}

TEST_CASE("shutdown sends the figures one last time; the exporter's own requests are not measured")
{
    auto metrics = measured_metrics();
    receiver r;
    {
        otlp_metrics_exporter exporter(metrics, options_for(r));
        exporter.shutdown(5s);
        CHECK(exporter.stats().exported == 1);
        exporter.shutdown(5s); // again: returns at once
    }
    CHECK(r.requests().size() == 1);
    const auto s = metrics->collect();
    REQUIRE(s.find("http.client.request.duration"));
    CHECK(s.find("http.client.request.duration")->points.size() == 1); // api.test's request alone
    CHECK(s.find("http.client.request.duration")->points[0].count == 1);
}

TEST_CASE("shutdown with no time left counts its export as failed; a zero export timeout is 1 ms, not no export")
{
    auto metrics = measured_metrics();
    receiver r(receiver::answer::never);
    otlp_metrics_options o = options_for(r, 10ms);
    o.export_timeout = {};
    otlp_metrics_exporter exporter(metrics, o);
    CHECK(testing::eventually([&] { return exporter.stats().failed >= 2; })); // each fails after its 1 ms
    const auto failed_before = exporter.stats().failed;
    exporter.shutdown({});
    CHECK(exporter.stats().failed > failed_before);
    CHECK(exporter.stats().exported == 0);
    CHECK_THROWS_AS(otlp_metrics_exporter(nullptr, options_for(r)), std::invalid_argument);
}

TEST_CASE("the documents' sample")
{
    auto metrics = measured_metrics();
    receiver r;
    const std::string collector_url = r.endpoint("/v1/metrics");
    {
        // [doc-sample metrics-otlp]
        roundtrip::otlp_metrics_exporter exporter(metrics, {.endpoint = collector_url, // http://collector:4318/v1/metrics
                                                            .resource = {{"service.name", std::string("checkout")}}});
        // [end doc-sample]
    }
    CHECK(r.requests().size() == 1); // the destructor's last export
}

TEST_CASE("a receiver answering 500 makes the export fail, and the next one is tried anyway")
{
    auto metrics = measured_metrics();
    receiver r(receiver::answer::fail);
    otlp_metrics_exporter exporter(metrics, options_for(r, 20ms));
    REQUIRE(r.wait_for(2));
    exporter.shutdown(5s);
    CHECK(exporter.stats().failed >= 2);
    CHECK(exporter.stats().exported == 0);
}

TEST_CASE("shutdown returns within its timeout when the receiver never answers")
{
    auto metrics = measured_metrics();
    receiver r(receiver::answer::never);
    otlp_metrics_exporter exporter(metrics, options_for(r, 20ms));
    REQUIRE(r.wait_for(1));
    const auto started = clock::now();
    exporter.shutdown(200ms);
    CHECK(clock::now() - started < 3s);
    CHECK(exporter.stats().failed >= 1);
}
