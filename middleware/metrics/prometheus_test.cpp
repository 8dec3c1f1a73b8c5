// The Prometheus text exposition of a snapshot, written out in full for a small one.
#include <roundtrip/middleware/metrics/prometheus.hpp>

#include <doctest/doctest.h>

using namespace roundtrip;

TEST_CASE("names, units, kinds, cumulative buckets and escaped labels as OpenTelemetry maps them")
{
    metrics_snapshot s;
    metric duration{"http.client.request.duration", "s", "Duration of HTTP client requests.",
                    instrument_kind::histogram, {0.005, 0.5, 1}, {}};
    duration.points.push_back({{{"http.request.method", "GET", false}, {"server.port", "80", true}},
                               0, {1, 2, 0, 1}, 4, 2.25});
    metric active{"http.client.active_requests", "{request}", "Number of active HTTP requests.",
                  instrument_kind::up_down_counter, {}, {}};
    active.points.push_back({{{"server.address", "a\"b\\c\nd", false}}, 3, {}, 0, 0});
    metric closed{"roundtrip.client.connection.closed", "{connection}", "Connections closed,\nby reason.",
                  instrument_kind::counter, {}, {}};
    closed.points.push_back({{}, 7, {}, 0, 0});
    s.metrics = {duration, active, closed};

    CHECK(prometheus_text(s) ==
          "# HELP http_client_request_duration_seconds Duration of HTTP client requests.\n"
          "# TYPE http_client_request_duration_seconds histogram\n"
          "http_client_request_duration_seconds_bucket{http_request_method=\"GET\",server_port=\"80\",le=\"0.005\"} 1\n"
          "http_client_request_duration_seconds_bucket{http_request_method=\"GET\",server_port=\"80\",le=\"0.5\"} 3\n"
          "http_client_request_duration_seconds_bucket{http_request_method=\"GET\",server_port=\"80\",le=\"1\"} 3\n"
          "http_client_request_duration_seconds_bucket{http_request_method=\"GET\",server_port=\"80\",le=\"+Inf\"} 4\n"
          "http_client_request_duration_seconds_sum{http_request_method=\"GET\",server_port=\"80\"} 2.25\n"
          "http_client_request_duration_seconds_count{http_request_method=\"GET\",server_port=\"80\"} 4\n"
          "# HELP http_client_active_requests Number of active HTTP requests.\n"
          "# TYPE http_client_active_requests gauge\n"
          "http_client_active_requests{server_address=\"a\\\"b\\\\c\\nd\"} 3\n"
          "# HELP roundtrip_client_connection_closed_total Connections closed,\\nby reason.\n"
          "# TYPE roundtrip_client_connection_closed_total counter\n"
          "roundtrip_client_connection_closed_total 7\n");
}

TEST_CASE("attribute keys a hook adds become valid, distinct label names; colliding ones are joined")
{
    metrics_snapshot s;
    metric m{"9lives", "1", "", instrument_kind::up_down_counter, {}, {}};
    m.points.push_back({{{"1xx", "a", false}, {"ns:key", "b", false}, {"x.y", "2", false}, {"x_y", "1", false}},
                        1, {}, 0, 0});
    s.metrics = {m};
    CHECK(prometheus_text(s) == "# HELP _9lives_ratio \n# TYPE _9lives_ratio gauge\n"
                                "_9lives_ratio{key_1xx=\"a\",ns_key=\"b\",x_y=\"2;1\"} 1\n");
}

TEST_CASE("an empty snapshot is an empty exposition")
{
    CHECK(prometheus_text({}).empty());
}
