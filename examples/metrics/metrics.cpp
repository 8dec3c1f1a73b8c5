// The metrics demo: a burst of requests through a pool that allows two connections per host and
// keeps one idle, then the Prometheus exposition of what happened. In it: how long requests queued
// for a connection (`http_client_request_time_in_queue_seconds`), how connections were acquired
// (`roundtrip_client_connection_acquired_total`: new, or reused from the idle pool), why responses
// were not pooled (`pool_full`, `connection_close`) and why connections closed, the connections
// open at the end by state, and the request durations by status.

#include <roundtrip/testing/test_server.hpp> // the local server; tests use the same one

#include <roundtrip/middleware/metrics.hpp>
#include <roundtrip/middleware/metrics/prometheus.hpp>

#include <roundtrip/client.hpp>

#include <boost/asio/use_future.hpp>

#include <chrono>
#include <cstdio>
#include <future>
#include <string>
#include <vector>

int main()
{
    using namespace std::chrono_literals;
    // 20 ms of think time; every fifth request on a connection is answered with `Connection: close`,
    // and /missing is a 404.
    roundtrip::testing::test_server server([](const roundtrip::testing::server_request& req,
                                              roundtrip::testing::exchange& ex) {
        ex.sleep(20ms);
        if (req.target == "/missing")
            return ex.reply(404, "no such thing");
        if (ex.request_index() % 5 == 0) {
            ex.reply(200, "ok", {{"Connection", "close"}});
            return ex.close();
        }
        ex.reply(200, "ok");
    });

    auto metrics = std::make_shared<roundtrip::http_metrics>();
    roundtrip::transport_options transport;
    transport.pool.max_conns_per_host = 2; // the other requests of a burst queue for these two
    transport.pool.max_idle_per_host = 1;  // a burst's second connection is closed when it is done
    roundtrip::client client(roundtrip::client_options{.observers = {metrics->new_observer()},
                                                       .transport = transport});

    // Three bursts of eight requests, sent at once; the client runs them concurrently.
    int failed = 0;
    for (int burst = 0; burst < 3; ++burst) {
        std::vector<std::future<roundtrip::response>> calls;
        for (int i = 0; i < 8; ++i)
            calls.push_back(client.async_send(roundtrip::request("GET", server.url(i == 7 ? "/missing" : "/")),
                                              boost::asio::use_future));
        for (auto& call : calls) {
            try {
                call.get();
            } catch (const std::exception& e) {
                std::fprintf(stderr, "metrics_demo: %s\n", e.what());
                ++failed;
            }
        }
    }
    // A service would serve this from its own /metrics handler, with prometheus_content_type.
    std::fputs(roundtrip::prometheus_text(metrics->collect()).c_str(), stdout);
    return failed == 0 ? 0 : 1;
}
