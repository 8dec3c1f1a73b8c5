// The metrics middleware: each instrument from the events that feed it, over the fake transport; and
// the pool gauges against the transport's own snapshot, over real sockets.
#include <roundtrip/client.hpp>
#include <roundtrip/error.hpp>
#include <roundtrip/middleware/metrics.hpp>
#include <roundtrip/middleware/metrics/prometheus.hpp>
#include <roundtrip/middleware/retry.hpp>
#include <roundtrip/testing/fake_transport.hpp>
#include <roundtrip/testing/test_server.hpp>
#include <roundtrip/testing/wait.hpp>

#include <doctest/doctest.h>

#include <thread>

using namespace roundtrip;

namespace {

// A client over a fake transport, recording into `metrics`. The observer goes to the client, for the
// middleware's events, and to the fake, for the attempts' (a bottom of one's own delivers them to
// the observers it was given).
struct rig {
    explicit rig(metrics_options o = {}, std::vector<layer> middleware = {})
        : metrics(std::make_shared<http_metrics>(std::move(o))),
          observer(metrics->new_observer()),
          fake(std::make_shared<testing::fake_transport>(testing::fake_options{.observers = {observer}})),
          c(client_options{.middleware = std::move(middleware), .observers = {observer}, .bottom = fake})
    {
    }
    std::shared_ptr<http_metrics> metrics;
    std::shared_ptr<roundtrip::observer> observer;
    std::shared_ptr<testing::fake_transport> fake;
    client c;

    metrics_snapshot snap() const { return metrics->collect(); }
};

std::int64_t value(const metrics_snapshot& s, std::string_view name,
                   std::initializer_list<std::pair<std::string_view, std::string_view>> match)
{
    const metric* m = s.find(name);
    if (!m)
        return -1;
    const metric_point* p = m->find(match);
    return p ? (m->kind == instrument_kind::histogram ? std::int64_t(p->count) : p->value) : -1;
}

} // namespace

TEST_CASE("a request is one measurement of http.client.request.duration, with the semantic conventions' attributes")
{
    rig t;
    REQUIRE_FALSE(t.c.round_trip(request("GET", "http://api.test:8080/users/17?token=secret")).error);
    const auto s = t.snap();
    const metric* d = s.find("http.client.request.duration");
    REQUIRE(d);
    CHECK(d->unit == "s");
    CHECK(d->kind == instrument_kind::histogram);
    CHECK(d->bounds.front() == doctest::Approx(0.005));
    CHECK(d->bounds.back() == doctest::Approx(10));
    REQUIRE(d->points.size() == 1);
    const metric_point& p = d->points[0];
    CHECK(p.count == 1);
    CHECK(p.bucket_counts.size() == d->bounds.size() + 1);
    CHECK(p.attributes == std::vector<metric_attribute>{{"http.request.method", "GET", false},
                                                        {"server.address", "api.test", false},
                                                        {"server.port", "8080", true},
                                                        {"url.scheme", "http", false},
                                                        {"http.response.status_code", "200", true},
                                                        {"network.protocol.version", "1.1", false}});
    // No path, query or URL anywhere.
    for (const metric& m : s.metrics)
        for (const metric_point& q : m.points)
            for (const auto& a : q.attributes)
                CHECK(a.value.find("secret") == std::string::npos);

    CHECK(value(s, "http.client.active_requests", {{"server.address", "api.test"}}) == 0);
    CHECK(value(s, "roundtrip.client.attempts_waiting", {{"server.address", "api.test"}}) == 0);
    CHECK(value(s, "dns.lookup.duration", {{"dns.question.name", "api.test"}}) == 1);
    CHECK(value(s, "roundtrip.client.connect.duration", {{"server.address", "api.test"}}) == 1);
    CHECK(value(s, "http.client.request.time_in_queue", {{"http.request.method", "GET"}}) == 1);
    CHECK(value(s, "roundtrip.client.connection.acquired",
                {{"roundtrip.connection.reused", "false"}, {"roundtrip.not_reused_reason", "no_idle"}})
          == 1);
}

TEST_CASE("connections: open ones by state, reuse with idle time, and why they were not pooled or closed")
{
    rig t;
    REQUIRE_FALSE(t.c.round_trip(request("GET", "https://a.test/")).error);
    auto s = t.snap();
    CHECK(value(s, "http.client.open_connections", {{"http.connection.state", "idle"}, {"url.scheme", "https"}}) == 1);
    CHECK(value(s, "http.client.open_connections", {{"http.connection.state", "active"}}) == 0);
    CHECK(value(s, "roundtrip.client.tls_handshake.duration", {{"server.address", "a.test"}, {"server.port", "443"}}) == 1);

    t.fake->push({.keep_alive = false}); // the second request reuses the connection, which then closes
    REQUIRE_FALSE(t.c.round_trip(request("GET", "https://a.test/")).error);
    s = t.snap();
    CHECK(value(s, "roundtrip.client.connection.acquired",
                {{"roundtrip.connection.reused", "true"}, {"roundtrip.not_reused_reason", "none"}})
          == 1);
    CHECK(value(s, "roundtrip.client.connection.idle_time", {{"server.address", "a.test"}}) == 1);
    CHECK(value(s, "http.client.request.time_in_queue", {}) == 1); // only the new connection's attempt
    CHECK(value(s, "roundtrip.client.response.not_pooled", {{"roundtrip.not_pooled_reason", "connection_close"}}) == 1);
    CHECK(value(s, "roundtrip.client.connection.closed", {{"roundtrip.close_reason", "not_pooled"}}) == 1);
    CHECK(value(s, "http.client.connection.duration", {{"server.address", "a.test"}}) == 1);
    CHECK(value(s, "http.client.open_connections", {{"http.connection.state", "idle"}}) == 0);
    CHECK(value(s, "http.client.open_connections", {{"http.connection.state", "active"}}) == 0);
}

TEST_CASE("error.type is the error's class, or a status of 400 and above; unknown methods are _OTHER")
{
    rig t;
    t.fake->push({.fault = testing::fault::refuse_connect});
    t.fake->push({.status = 503});
    CHECK(t.c.round_trip(request("GET", "http://h.test/")).error == error::connection_refused);
    CHECK(t.c.round_trip(request("PURGE", "http://h.test/")).response.status == 503);
    const auto s = t.snap();
    CHECK(value(s, "http.client.request.duration", {{"error.type", "connection_refused"}}) == 1);
    const metric_point* refused = s.find("http.client.request.duration")->find({{"error.type", "connection_refused"}});
    REQUIRE(refused);
    CHECK_FALSE(refused->attribute("http.response.status_code"));
    CHECK(value(s, "http.client.request.duration",
                {{"error.type", "503"}, {"http.request.method", "_OTHER"}, {"http.response.status_code", "503"}})
          == 1);
    CHECK(value(s, "roundtrip.client.connect.duration", {{"error.type", "connection_refused"}}) == 1);
}

TEST_CASE("retries: the transport's transparent ones, and the retry middleware's decisions by cause")
{
    retry_options fast;
    fast.sleep = [](clock::duration) -> asio::awaitable<void> { co_return; };
    rig t({}, {retry(fast)});
    t.fake->push({.fault = testing::fault::stale_pooled_connection});
    t.fake->push({.status = 503});
    t.fake->push({.status = 200});
    const result r = t.c.round_trip(request("GET", "http://h.test/"));
    CHECK(r.response.status == 200);
    CHECK(r.attempt.attempts == 3);
    const auto s = t.snap();
    CHECK(value(s, "roundtrip.client.transparent_retries", {{"server.address", "h.test"}}) == 1);
    CHECK(value(s, "roundtrip.client.middleware.events",
                {{"roundtrip.event", "retry_scheduled"}, {"roundtrip.retry.cause", "status"}})
          == 1);
    CHECK(value(s, "http.client.request.duration", {}) >= 1);
    std::uint64_t attempts = 0; // retries and transparent resends each count
    for (const auto& p : s.find("http.client.request.duration")->points)
        attempts += p.count;
    CHECK(attempts == 3);
}

TEST_CASE("the attributes hook drops and adds attributes, and each set is a series of its own")
{
    metrics_options o;
    o.attributes = [](std::string_view instrument, attribute_list& a) {
        a.drop("server.port");
        if (instrument == "http.client.request.duration")
            a.set("deployment.tier", "canary");
    };
    rig t(std::move(o));
    REQUIRE_FALSE(t.c.round_trip(request("GET", "http://h.test:81/")).error);
    REQUIRE_FALSE(t.c.round_trip(request("GET", "http://h.test:82/")).error);
    const auto s = t.snap();
    const metric* d = s.find("http.client.request.duration");
    REQUIRE(d->points.size() == 1); // the ports were the only difference
    CHECK(d->points[0].count == 2);
    CHECK(d->points[0].attribute("deployment.tier") == "canary");
    CHECK_FALSE(d->points[0].attribute("server.port"));
    CHECK_FALSE(s.find("http.client.active_requests")->points[0].attribute("deployment.tier"));
}

TEST_CASE("the documents' sample: a client's metrics as Prometheus text")
{
    testing::test_server server;
    const std::string url = server.url();
    // [doc-sample metrics-quick-start]
    auto metrics = std::make_shared<roundtrip::http_metrics>();
    roundtrip::client client({.observers = {metrics->new_observer()}});
    client.send({"GET", url});
    std::string body = roundtrip::prometheus_text(metrics->collect()); // served as prometheus_content_type
    // [end doc-sample]
    CHECK(body.find("http_client_request_duration_seconds_count{") != std::string::npos);
}

TEST_CASE("more attribute sets than a client remembers still land in their own series")
{
    rig t;
    for (int round = 0; round < 2; ++round)
        for (int port = 1000; port < 1100; ++port)
            REQUIRE_FALSE(t.c.round_trip(request("GET", "http://h.test:" + std::to_string(port) + "/")).error);
    const auto s = t.snap();
    const metric* d = s.find("http.client.request.duration");
    REQUIRE(d->points.size() == 100);
    for (const auto& p : d->points)
        CHECK(p.count == 2);
    CHECK(value(s, "http.client.open_connections", {{"server.port", "1042"}, {"http.connection.state", "idle"}}) == 1);
}

namespace {

// Feeds events to one observer directly, as a transport would deliver them: for the sequences the
// fake does not play (late binding, a dial nobody waits for, eviction).
struct feed {
    std::shared_ptr<http_metrics> metrics = std::make_shared<http_metrics>();
    std::shared_ptr<roundtrip::observer> observer = metrics->new_observer();
    clock::time_point now = clock::now();

    void operator()(std::uint64_t call, std::uint32_t attempt, std::uint64_t conn, event_data data)
    {
        now += std::chrono::milliseconds(1);
        observer->on_event(event{call, attempt, conn, now, std::move(data)});
    }
    void get(std::uint64_t call) { (*this)(call, 1, 0, get_conn{"http", "h.test", 80, "GET", "http://h.test/"}); }
    std::int64_t gauge(std::string_view state) const
    {
        return value(metrics->collect(), "http.client.open_connections", {{"http.connection.state", state}});
    }
};

} // namespace

TEST_CASE("late binding, a dial nobody waits for, a refused orphan and an eviction keep the gauges true")
{
    feed f;
    // Call 1 dials connection 1 and uses it; it goes idle.
    f.get(1);
    f(1, 1, 1, connect_start{});
    f(1, 1, 1, connect_done{});
    f(1, 1, 1, got_conn{false, false, {}, {}, {}, not_reused_reason::no_idle});
    f(1, 1, 1, response_headers{200, 11});
    f(1, 1, 1, put_idle_conn{});
    f(1, 1, 1, attempt_done{{}, 200});
    CHECK(f.gauge("idle") == 1);
    CHECK(f.gauge("active") == 0);

    // Call 2 starts a dial (connection 2), then takes connection 1 first (late binding) and ends;
    // its dial lands later, with nobody waiting, and goes idle.
    f.get(2);
    f(2, 1, 2, connect_start{});
    f(2, 1, 1, got_conn{true, true, {}, {}, {}, not_reused_reason::none, true});
    CHECK(f.gauge("active") == 1);
    f(2, 1, 1, put_idle_conn{});
    f(2, 1, 1, attempt_done{{}, 200});
    f(2, 1, 2, connect_done{});
    f(0, 0, 2, put_idle_conn{});
    CHECK(f.gauge("idle") == 2);
    CHECK(f.gauge("active") == 0);

    // Call 3 dials connection 3 but takes connection 2; connection 3 lands and the pool refuses it.
    f.get(3);
    f(3, 1, 3, connect_start{});
    f(3, 1, 2, got_conn{false, true, {}, {}, {}, not_reused_reason::none, true});
    f(3, 1, 2, put_idle_conn{});
    f(3, 1, 2, attempt_done{{}, 200});
    f(3, 1, 3, connect_done{});
    f(0, 0, 3, conn_not_pooled{not_pooled_reason::pool_full});
    f(0, 0, 3, conn_closed{close_reason::not_pooled, 0, std::chrono::milliseconds(5)});
    // The pool evicts connection 1.
    f(0, 0, 1, conn_closed{close_reason::evicted, 2, std::chrono::seconds(1)});

    // Call 4's dial fails on every address; then the client closes connection 2.
    f.get(4);
    f(4, 1, 4, connect_start{});
    f(4, 1, 4, connect_done{{}, make_error_code(boost::system::errc::connection_refused)});
    f(4, 1, 0, attempt_done{error::connection_refused, 0});
    f(0, 0, 2, conn_closed{close_reason::client_closed, 1, std::chrono::seconds(1)});

    const auto s = f.metrics->collect();
    CHECK(f.gauge("idle") == 0);
    CHECK(f.gauge("active") == 0);
    CHECK(value(s, "http.client.active_requests", {}) == 0);
    CHECK(value(s, "roundtrip.client.attempts_waiting", {}) == 0);
    CHECK(value(s, "roundtrip.client.response.not_pooled", {{"roundtrip.not_pooled_reason", "pool_full"}}) == 1);
    CHECK(value(s, "roundtrip.client.connection.closed", {{"roundtrip.close_reason", "not_pooled"}}) == 1);
    CHECK(value(s, "roundtrip.client.connection.closed", {{"roundtrip.close_reason", "evicted"}}) == 1);
    CHECK(value(s, "roundtrip.client.connection.closed", {{"roundtrip.close_reason", "client_closed"}}) == 1);
    CHECK(value(s, "http.client.connection.duration", {}) == 3);
    CHECK(value(s, "roundtrip.client.connect.duration", {{"error.type", "connection_refused"}}) == 1);
    CHECK(value(s, "http.client.request.duration", {{"error.type", "connection_refused"}}) == 1);
}

TEST_CASE("an observer dropped before its client's last events takes its attempts and connections out of the gauges")
{
    feed f;
    f.get(1);
    f(1, 1, 1, connect_start{});
    f(1, 1, 1, connect_done{});
    f(1, 1, 1, got_conn{});
    f.get(2); // still waiting
    CHECK(f.gauge("active") == 1);
    f.observer.reset();
    const auto s = f.metrics->collect();
    CHECK(value(s, "http.client.open_connections", {{"http.connection.state", "active"}}) == 0);
    CHECK(value(s, "http.client.active_requests", {}) == 0);
    CHECK(value(s, "roundtrip.client.attempts_waiting", {}) == 0);
}

TEST_CASE("a hook that throws loses its measurement and nothing else")
{
    metrics_options o;
    bool fail = true;
    o.attributes = [&fail](std::string_view instrument, attribute_list&) {
        if (fail && instrument == "http.client.open_connections")
            throw std::runtime_error("no");
    };
    auto metrics = std::make_shared<http_metrics>(std::move(o));
    auto obs = metrics->new_observer();
    auto ev = [&, now = clock::now()](std::uint64_t call, std::uint64_t conn, event_data d) mutable {
        obs->on_event(event{call, 1, conn, now += std::chrono::milliseconds(1), std::move(d)});
    };
    ev(1, 0, get_conn{"http", "h.test", 80, "GET", "http://h.test/"});
    ev(1, 1, got_conn{}); // its connection cannot be counted
    ev(1, 1, put_idle_conn{});
    ev(1, 1, attempt_done{{}, 200});
    ev(0, 1, conn_closed{close_reason::idle_timeout, 1, std::chrono::seconds(1)});
    fail = false;
    const auto s = metrics->collect();
    CHECK(value(s, "http.client.active_requests", {}) == 0);
    CHECK(value(s, "http.client.request.duration", {}) == 1);
    CHECK_FALSE(s.find("http.client.open_connections"));
}

namespace {

// A plugin's own event, as a token middleware would define it.
struct token_refreshed {
    static constexpr std::string_view event_name = "token_refreshed";
    static constexpr std::string_view attribute_prefix = "acme.auth";
    std::string_view outcome; // an enum's name
    clock::duration took{};
    void write_fields(field_writer& out) const { out("outcome", outcome), out("took", took); }
};

} // namespace

TEST_CASE("a plugin's events are counted by name, and by the field event_fields names")
{
    metrics_options o;
    o.event_fields.push_back({"token_refreshed", "outcome"});
    auto metrics = std::make_shared<http_metrics>(std::move(o));
    auto obs = metrics->new_observer();
    const token_refreshed ok{"ok", std::chrono::milliseconds(3)}, denied{"denied", {}};
    obs->on_event(event{1, 1, 0, clock::now(), middleware_event(ok)});
    obs->on_event(event{2, 1, 0, clock::now(), middleware_event(ok)});
    obs->on_event(event{3, 1, 0, clock::now(), middleware_event(denied)});
    const auto s = metrics->collect();
    CHECK(value(s, "roundtrip.client.middleware.events", {{"roundtrip.event", "token_refreshed"}, {"acme.auth.outcome", "ok"}})
          == 2);
    CHECK(value(s, "roundtrip.client.middleware.events",
                {{"roundtrip.event", "token_refreshed"}, {"acme.auth.outcome", "denied"}})
          == 1);
    CHECK(s.find("roundtrip.client.middleware.events")->points.size() == 2); // `took` is not an attribute
}

// The shape of the cookies middleware's event (its library is not linked here): counted by reason by
// default, never by the cookie's name, which the server chooses.
struct cookie_refused_like {
    static constexpr std::string_view event_name = "cookie_refused";
    static constexpr std::string_view attribute_prefix = "roundtrip.cookies";
    std::string_view name, reason;
    void write_fields(field_writer& out) const { out("name", name), out("reason", reason); }
};

TEST_CASE("by default the shipped middleware's refusals are counted by reason, never by a server's value")
{
    auto metrics = std::make_shared<http_metrics>();
    auto obs = metrics->new_observer();
    const cookie_refused_like a{"tracker1", "public_suffix"}, b{"tracker2", "public_suffix"};
    obs->on_event(event{1, 1, 0, clock::now(), middleware_event(a)});
    obs->on_event(event{1, 1, 0, clock::now(), middleware_event(b)});
    const auto s = metrics->collect();
    CHECK(value(s, "roundtrip.client.middleware.events",
                {{"roundtrip.event", "cookie_refused"}, {"roundtrip.cookies.reason", "public_suffix"}})
          == 2);
    CHECK(s.find("roundtrip.client.middleware.events")->points.size() == 1);
}

TEST_CASE("an attribute list holds a bounded number of attributes, replaces a key's value, and drops")
{
    attribute_list a;
    a.set("k", "v1");
    a.set("k", "v2");
    a.set("n", std::int64_t(7));
    CHECK(a.size() == 2);
    CHECK(a.find("k")->text == "v2");
    CHECK(a.find("n")->integer);
    a.drop("k");
    CHECK(a.size() == 1);
    static const std::string keys[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "o", "p", "q", "r"};
    for (const auto& k : keys)
        a.set(k, "x");
    CHECK(a.size() == attribute_list::capacity);
}

TEST_CASE("at quiescence after a burst from several threads, open_connections per host equals the pool's snapshot")
{
    testing::test_server server([](const testing::server_request&, testing::exchange& ex) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        ex.reply(200, "ok");
    });
    testing::test_server other;
    auto metrics = std::make_shared<http_metrics>();
    transport_options o;
    o.pool.max_conns_per_host = 4; // some attempts queue; late binding hands connections over
    o.pool.max_idle_per_host = 3;  // some are not pooled
    client c(client_options{.observers = {metrics->new_observer()}, .transport = o});

    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i)
        threads.emplace_back([&, i] {
            for (int n = 0; n < 15; ++n) {
                request req("GET", (n % 3 == 0 ? other : server).url());
                req.new_connection = (n + i) % 7 == 0; // evictions and fresh dials too
                CHECK_FALSE(c.round_trip(std::move(req)).error);
            }
        });
    for (auto& t : threads)
        t.join();

    // The last connections' events (put_idle_conn, conn_closed) are delivered on the strand after
    // the calls complete: wait for the figures to settle.
    auto agrees = [&] {
        const pool_stats stats = c.stats();
        const auto s = metrics->collect();
        for (const auto& h : stats.hosts) {
            const auto port = h.key.substr(h.key.rfind(':') + 1);
            if (value(s, "http.client.open_connections", {{"server.port", port}, {"http.connection.state", "idle"}})
                    != std::int64_t(h.idle)
                || value(s, "http.client.open_connections", {{"server.port", port}, {"http.connection.state", "active"}})
                       != std::int64_t(h.active))
                return false;
        }
        std::int64_t idle = 0, active = 0;
        for (const auto& p : s.find("http.client.open_connections")->points)
            (p.attribute("http.connection.state") == "idle" ? idle : active) += p.value;
        return idle == std::int64_t(stats.idle) && active == std::int64_t(stats.active)
               && value(s, "roundtrip.client.attempts_waiting", {{"server.port", std::to_string(server.port())}}) == 0
               && value(s, "http.client.active_requests", {{"server.port", std::to_string(server.port())}}) == 0;
    };
    CHECK(testing::eventually(agrees));
    const pool_stats stats = c.stats();
    CHECK(stats.idle > 0);
    const auto s = metrics->collect();
    std::uint64_t requests = 0;
    for (const auto& p : s.find("http.client.request.duration")->points)
        requests += p.count;
    CHECK(requests == 60);
}
