// A program outside the roundtrip tree, built against an installed roundtrip the way a user's
// project is: through pkg-config or CMake's find_package. It sends one request to the URL it is
// given through a chain of five middleware (tracing, the headers, cookies and decompress middleware,
// then a coroutine of its own that checks what the headers and decompress ones did), watched by an observer and by the metrics middleware,
// and exits 0 only if all of it worked.

#include <roundtrip/client.hpp>
#include <roundtrip/middleware/cookies.hpp>
#include <roundtrip/middleware/decompress.hpp>
#include <roundtrip/middleware/headers.hpp>
#include <roundtrip/middleware/metrics.hpp>
#include <roundtrip/middleware/metrics/prometheus.hpp>
#include <roundtrip/middleware/tracing.hpp>
#include <roundtrip/version.hpp>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

namespace {

class counter : public roundtrip::observer {
public:
    void on_event(const roundtrip::event&) noexcept override { ++events; }
    std::atomic<int> events{0};
};

} // namespace

int main(int argc, char** argv)
{
    if (argc != 3) {
        std::fprintf(stderr, "usage: consumer URL NAME\n");
        return 2;
    }
    bool header_seen = false;
    roundtrip::layer check = [&](roundtrip::request req, roundtrip::next next)
        -> roundtrip::asio::awaitable<roundtrip::result> {
        header_seen = req.headers.count("X-Consumer") == 1 && req.headers.count("Accept-Encoding") == 1;
        co_return co_await next(std::move(req));
    };
    auto events = std::make_shared<counter>();
    auto spans = std::make_shared<roundtrip::in_memory_exporter>();
    auto metrics = std::make_shared<roundtrip::http_metrics>();
    roundtrip::client client({.middleware = {roundtrip::tracing({.exporter = spans}),
                                             roundtrip::headers(roundtrip::header_rules{}.set("X-Consumer", argv[2])),
                                             roundtrip::cookies(std::make_shared<roundtrip::cookie_jar>()),
                                             roundtrip::decompress(), check},
                              .observers = {events, metrics->new_observer()}});
    roundtrip::error_code ec;
    roundtrip::response r = client.send({"GET", argv[1]}, ec);
    if (ec) {
        std::fprintf(stderr, "consumer (%s): %s\n", argv[2], ec.message().c_str());
        return 1;
    }
    const bool same_version = std::strcmp(roundtrip::library_version(), ROUNDTRIP_VERSION_STRING) == 0;
    const auto traced = spans->spans().size();
    const bool measured = roundtrip::prometheus_text(metrics->collect()).find("http_client_request_duration_seconds_count{")
                          != std::string::npos;
    std::printf("consumer (%s): status %u, roundtrip %s, header set by middleware: %s, %d events, %zu spans, "
                "measured: %s\n",
                argv[2], r.status, roundtrip::library_version(), header_seen ? "yes" : "no", events->events.load(),
                traced, measured ? "yes" : "no");
    return r.status == 200 && header_seen && same_version && events->events > 0 && traced >= 2 && measured ? 0 : 1;
}
