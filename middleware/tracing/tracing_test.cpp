// The tracing middleware over roundtrip-testing's fake transport: traceparent on every attempt, and the
// spans of a new connection, a reused one, a retried call, a cancelled call and a streamed body, read
// back from an in_memory_exporter. The loopback server stays where the real transport is the point: a
// wait for a pooled connection, a real TLS handshake, a streamed body dropped unread (its connection
// closed), and the README's example, whose client has no bottom to swap.
#include <roundtrip/testing/fake_transport.hpp>
#include <roundtrip/testing/test_certs.hpp>
#include <roundtrip/testing/test_server.hpp>
#include <roundtrip/testing/wait.hpp>

#include <roundtrip/middleware/retry.hpp>
#include <roundtrip/middleware/tracing.hpp>
#include <roundtrip/middleware/tracing/otlp_exporter.hpp>

#include <roundtrip/client.hpp>
#include <roundtrip/error.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_future.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <mutex>
#include <thread>

using namespace roundtrip;
using namespace std::chrono_literals;

namespace {

// A server that answers "ok" and keeps every traceparent it was sent, for the tests that need sockets.
struct traced_server {
    std::mutex mutex;
    std::vector<std::string> traceparents;
    testing::handler reply = [](const testing::server_request&, testing::exchange& ex) { ex.reply(200, "ok"); };
    testing::test_server server{[this](const testing::server_request& req, testing::exchange& ex) {
        {
            std::lock_guard lock(mutex);
            traceparents.emplace_back(req.headers["traceparent"]);
        }
        reply(req, ex);
    }};
    std::vector<std::string> seen()
    {
        std::lock_guard lock(mutex);
        return traceparents;
    }
};

struct traced_client {
    std::shared_ptr<in_memory_exporter> spans = std::make_shared<in_memory_exporter>();
    client c;
    explicit traced_client(tracing_options options = {}, client_options more = {})
        : c((options.exporter = options.exporter ? options.exporter : spans,
             more.middleware.insert(more.middleware.begin(), tracing(std::move(options))), std::move(more)))
    {
    }
};

// Where the fake transport's requests go. An IP literal, as the loopback server's URLs are: no dns
// phase, so a new connection has one phase, connect.
const std::string base_url = "http://127.0.0.1:8080";

// The value of `field` in each request the fake received, one per attempt ("" when it is absent).
std::vector<std::string> sent(const testing::fake_transport& fake, std::string_view field)
{
    std::vector<std::string> out;
    for (const auto& r : fake.requests())
        out.emplace_back(r.headers[field]);
    return out;
}

std::vector<const span*> named(const std::vector<span>& all, std::string_view name)
{
    std::vector<const span*> out;
    for (const auto& s : all)
        if (s.name == name)
            out.push_back(&s);
    return out;
}

std::vector<const span*> children(const std::vector<span>& all, const span& parent)
{
    std::vector<const span*> out;
    for (const auto& s : all)
        if (s.parent == parent.context.span)
            out.push_back(&s);
    return out;
}

// A call on an io_context this thread runs, which the test cancels through its slot.
struct cancellable_call {
    asio::cancellation_signal cancel;
    error_code ec;
    bool done = false;

    void start(client& c, request req)
    {
        c.async_send(std::move(req), asio::bind_cancellation_slot(cancel.slot(), [this](error_code e, response) {
                         ec = e;
                         done = true;
                     }));
    }
};

// Runs `io` until `until()` holds, for at most 10 s.
template <class Until>
void run_until(asio::io_context& io, Until until)
{
    const auto give_up = clock::now() + 10s;
    while (!until() && clock::now() < give_up)
        io.run_one_for(10ms);
}

// The one call span (kind internal, named after the method) among `all`.
const span& call_span(const std::vector<span>& all)
{
    const auto is_call = [](const span& s) { return s.kind == span_kind::internal && s.name == "GET"; };
    REQUIRE(std::count_if(all.begin(), all.end(), is_call) == 1);
    return *std::find_if(all.begin(), all.end(), is_call);
}

template <class T>
T value(const span& s, std::string_view key)
{
    const attribute_value* v = s.find(key);
    REQUIRE_MESSAGE(v, "no attribute " << key << " on span " << s.name);
    REQUIRE(std::holds_alternative<T>(*v));
    return std::get<T>(*v);
}

} // namespace

TEST_CASE("traceparent: version 00 parsed exactly; bad values start a new trace")
{
    const auto ok = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    REQUIRE(ok);
    CHECK(ok->trace.hex() == "4bf92f3577b34da6a3ce929d0e0e4736");
    CHECK(ok->span.hex() == "00f067aa0ba902b7");
    CHECK(ok->sampled);
    CHECK(format_traceparent(*ok) == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    CHECK_FALSE(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")->sampled);
    // A later version may add fields after the four it shares with 00.
    CHECK(parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"));
    for (const char* bad : {"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  // uppercase
                            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  // zero trace id
                            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  // zero span id
                            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // version ff
                            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x", // 00 has no more
                            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", "", "garbage"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_traceparent(bad));
    }
    CHECK(new_trace_id().valid());
    CHECK(new_span_id() != new_span_id());
}

TEST_CASE("samplers: always, never, ratio by trace id, and parent-based")
{
    int sampled = 0;
    const auto half = sampler::ratio(0.5);
    for (int i = 0; i < 10000; ++i)
        sampled += half.should_sample(nullptr, new_trace_id());
    CHECK(sampled > 4600);
    CHECK(sampled < 5400);
    const trace_id id = new_trace_id();
    CHECK(half.should_sample(nullptr, id) == half.should_sample(nullptr, id)); // one decision per trace
    CHECK(sampler::always_on().should_sample(nullptr, id));
    CHECK_FALSE(sampler::always_off().should_sample(nullptr, id));
    CHECK_FALSE(sampler::ratio(0).should_sample(nullptr, id));

    span_context parent{new_trace_id(), new_span_id(), false, {}};
    CHECK_FALSE(sampler::parent_based(sampler::always_on()).should_sample(&parent, parent.trace));
    parent.sampled = true;
    CHECK(sampler::parent_based(sampler::always_off()).should_sample(&parent, parent.trace));
    CHECK_FALSE(sampler::parent_based(sampler::always_off()).should_sample(nullptr, id));
}

TEST_CASE("a new connection: a call span, its attempt, the connect phase; the attempt sends its traceparent")
{
    auto fake = std::make_shared<testing::fake_transport>();
    traced_client t({}, {.bottom = fake});
    std::string url = base_url + "/orders?sig=secret";
    url.insert(url.find("//") + 2, "alice:pw@");
    REQUIRE(t.c.send(request("GET", url)).status == 200);

    const auto all = t.spans->spans();
    REQUIRE(all.size() == 3);
    const span& call = call_span(all);
    CHECK_FALSE(call.parent.valid());
    CHECK(value<std::string>(call, "url.full").find("secret") == std::string::npos);
    CHECK(value<std::string>(call, "url.full").find("alice") == std::string::npos);
    CHECK(value<std::int64_t>(call, "http.response.status_code") == 200);
    CHECK(call.status == status_code::unset);

    const auto attempts = children(all, call);
    REQUIRE(attempts.size() == 1);
    const span& attempt = *attempts[0];
    CHECK(attempt.kind == span_kind::client);
    CHECK(attempt.context.trace == call.context.trace);
    CHECK(value<std::string>(attempt, "http.request.method") == "GET");
    CHECK(value<std::string>(attempt, "server.address") == "127.0.0.1");
    CHECK(value<std::int64_t>(attempt, "server.port") == 8080);
    CHECK(value<std::int64_t>(attempt, "http.response.status_code") == 200);
    CHECK(value<bool>(attempt, "roundtrip.connection.reused") == false);
    CHECK(value<std::string>(attempt, "network.peer.address") == "127.0.0.1");
    CHECK_FALSE(attempt.find("http.request.resend_count"));
    CHECK(attempt.start >= call.start);
    CHECK(attempt.end <= call.end);

    const auto phases = children(all, attempt);
    REQUIRE(phases.size() == 1); // an IP literal: no name lookup
    CHECK(phases[0]->name == "connect");
    CHECK(value<std::int64_t>(*phases[0], "network.peer.port") == 8080);

    const auto seen = sent(*fake, "traceparent");
    REQUIRE(seen.size() == 1);
    CHECK(seen[0] == "00-" + call.context.trace.hex() + "-" + attempt.context.span.hex() + "-01");
}

TEST_CASE("a reused connection shows as attributes, never as phases")
{
    auto fake = std::make_shared<testing::fake_transport>();
    traced_client t({}, {.bottom = fake});
    REQUIRE(t.c.send(request("GET", base_url + "/")).status == 200);
    t.spans->clear();
    std::this_thread::sleep_for(5ms);
    REQUIRE(t.c.send(request("GET", base_url + "/")).status == 200);
    const auto all = t.spans->spans();
    REQUIRE(all.size() == 2);
    const span& attempt = all[0].kind == span_kind::client ? all[0] : all[1];
    CHECK(value<bool>(attempt, "roundtrip.connection.reused"));
    CHECK(value<std::int64_t>(attempt, "roundtrip.connection.idle_us") >= 1000);
    CHECK(value<std::int64_t>(attempt, "roundtrip.connection.id") == 1);
    CHECK(children(all, attempt).empty());
}

TEST_CASE("a retried call: one call span, two attempt spans, each attempt with its own traceparent")
{
    auto fake = std::make_shared<testing::fake_transport>();
    fake->push({.status = 503});
    fake->push({.status = 200});
    retry_options fast;
    fast.sleep = [](clock::duration) -> asio::awaitable<void> { co_return; };
    traced_client t({}, client_options{.middleware = {retry(fast)}, .bottom = fake});
    REQUIRE(t.c.send(request("GET", base_url + "/")).status == 200);

    const auto all = t.spans->spans();
    const span& call = call_span(all);
    auto attempts = children(all, call);
    REQUIRE(attempts.size() == 2);
    std::sort(attempts.begin(), attempts.end(), [](const span* a, const span* b) { return a->start < b->start; });
    CHECK(value<std::string>(*attempts[0], "error.type") == "503");
    CHECK(attempts[0]->status == status_code::error);
    CHECK(value<std::int64_t>(*attempts[1], "http.request.resend_count") == 1);
    CHECK(attempts[1]->status == status_code::unset);
    REQUIRE(call.events.size() == 1);
    CHECK(call.events[0].name == "retry_scheduled"); // the retry middleware's own event, known to no core code
    const auto attribute = [&](std::string_view key) {
        for (const auto& a : call.events[0].attributes)
            if (a.key == key)
                return a.value;
        return attribute_value(std::string("(missing)"));
    };
    CHECK(attribute("roundtrip.retry.failed_attempt") == attribute_value(std::int64_t(1)));
    CHECK(attribute("roundtrip.retry.cause") == attribute_value(std::string("status")));
    CHECK(std::holds_alternative<std::int64_t>(attribute("roundtrip.retry.delay_us")));

    const auto seen = sent(*fake, "traceparent");
    REQUIRE(seen.size() == 2);
    CHECK(seen[0] != seen[1]);
    CHECK(seen[0] == "00-" + call.context.trace.hex() + "-" + attempts[0]->context.span.hex() + "-01");
    CHECK(seen[1] == "00-" + call.context.trace.hex() + "-" + attempts[1]->context.span.hex() + "-01");
}

TEST_CASE("a caller's traceparent is continued, its tracestate passed on; an unsampled call records nothing")
{
    auto fake = std::make_shared<testing::fake_transport>();
    traced_client t({}, {.bottom = fake});
    request continued("GET", base_url + "/");
    continued.headers.set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    continued.headers.set("tracestate", "vendor=opaque");
    REQUIRE(t.c.send(continued).status == 200);
    const auto all = t.spans->spans();
    REQUIRE_FALSE(all.empty());
    for (const auto& s : all) {
        CHECK(s.context.trace.hex() == "4bf92f3577b34da6a3ce929d0e0e4736");
        CHECK(s.context.trace_state == "vendor=opaque");
    }
    const span& call = call_span(all);
    CHECK(call.parent.hex() == "00f067aa0ba902b7");
    const std::string continued_sent = sent(*fake, "traceparent").back();
    CHECK(continued_sent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
    CHECK(continued_sent.find("00f067aa0ba902b7") == std::string::npos); // our span, not the caller's

    t.spans->clear();
    request unsampled("GET", base_url + "/");
    unsampled.headers.set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
    REQUIRE(t.c.send(unsampled).status == 200);
    CHECK(t.spans->spans().empty());
    const std::string unsampled_sent = sent(*fake, "traceparent").back();
    CHECK(unsampled_sent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
    CHECK(unsampled_sent.ends_with("-00"));
    CHECK(parse_traceparent(unsampled_sent));

    traced_client never({.sampler = sampler::always_off()}, {.bottom = fake});
    REQUIRE(never.c.send(request("GET", base_url + "/")).status == 200);
    CHECK(never.spans->spans().empty());
    CHECK(sent(*fake, "traceparent").size() == 3);
    CHECK(parse_traceparent(sent(*fake, "traceparent").back()));
}

TEST_CASE("a call that waited for a connection has a wait_for_connection phase")
{
    traced_server server;
    server.reply = [](const testing::server_request&, testing::exchange& ex) {
        ex.sleep(100ms);
        ex.reply(200);
    };
    client_options limited;
    limited.transport.pool.max_conns_per_host = 1;
    traced_client t({}, std::move(limited));
    auto first = t.c.async_send(request("GET", server.server.url()), asio::use_future);
    std::this_thread::sleep_for(20ms);
    auto second = t.c.async_send(request("GET", server.server.url()), asio::use_future);
    REQUIRE(first.get().status == 200);
    REQUIRE(second.get().status == 200);
    const auto all = t.spans->spans();
    const auto waits = named(all, "wait_for_connection");
    REQUIRE(waits.size() == 1);
    const auto waited =
        std::find_if(all.begin(), all.end(), [&](const span& s) { return s.context.span == waits[0]->parent; });
    REQUIRE(waited != all.end());
    CHECK(waited->kind == span_kind::client);
    CHECK(value<bool>(*waited, "roundtrip.connection.reused"));
    CHECK(waits[0]->end - waits[0]->start >= 50ms);
}

TEST_CASE("a TLS connection has a tls_handshake phase; phases can be span events instead")
{
    testing::tls_options tls;
    tls.identity = testing::pki().server;
    testing::test_server server(testing::reply_ok(), tls);
    for (auto mode : {phase_detail::spans, phase_detail::events}) {
        CAPTURE(static_cast<int>(mode));
        client_options trusting;
        trusting.transport.tls.ca_pem = testing::pki().ca_cert;
        traced_client t({.phases = mode}, std::move(trusting));
        REQUIRE(t.c.send(request("GET", server.url())).status == 200);
        const auto all = t.spans->spans();
        if (mode == phase_detail::spans) {
            const auto hs = named(all, "tls_handshake");
            REQUIRE(hs.size() == 1);
            CHECK(value<std::string>(*hs[0], "tls.protocol.version") == "1.3");
            CHECK(value<bool>(*hs[0], "tls.resumed") == false);
            CHECK(value<std::string>(*hs[0], "tls.next_protocol") == "http/1.1");
            CHECK(all.size() == 4);
        } else {
            REQUIRE(all.size() == 2);
            const span& attempt = all[0].kind == span_kind::client ? all[0] : all[1];
            REQUIRE(attempt.events.size() == 2);
            CHECK(attempt.events[0].name == "connect");
            CHECK(attempt.events[1].name == "tls_handshake");
            const auto& attrs = attempt.events[1].attributes;
            CHECK(std::any_of(attrs.begin(), attrs.end(),
                              [](const attribute& a) { return a.key == "roundtrip.duration_us"; }));
        }
    }
}

TEST_CASE("a cancelled call ends its spans, with error.type canceled")
{
    asio::io_context io;
    // The fake answers on a strand of `io` too: one thread runs the whole call, stepped by run_until.
    auto fake = std::make_shared<testing::fake_transport>(io.get_executor());
    fake->push({.fault = testing::fault::stall_before_first_byte});
    auto spans = std::make_shared<in_memory_exporter>();
    client c(io.get_executor(), {.middleware = {tracing({.exporter = spans})}, .bottom = fake});
    cancellable_call call;
    call.start(c, request("GET", base_url + "/"));
    // Once the request is written the fake is in its stall, which is where the cancellation lands.
    run_until(io, [&] { return fake->requests().size() == 1; });
    call.cancel.emit(asio::cancellation_type::terminal);
    run_until(io, [&] { return call.done; });
    REQUIRE(call.done);
    CHECK(call.ec == error::canceled);
    const auto all = spans->spans();
    const auto gets = named(all, "GET");
    REQUIRE(gets.size() == 2);
    for (const span* s : gets) {
        CHECK(value<std::string>(*s, "error.type") == "canceled");
        CHECK(s->status == status_code::error);
    }
    c.close();
    io.run_for(1s);
}

TEST_CASE("a streamed response's call span ends when its body has been read")
{
    auto fake = std::make_shared<testing::fake_transport>();
    fake->respond_with([](const request&, std::uint32_t) { return testing::answer{.body = std::string(10000, 'x')}; });
    traced_client t({}, {.bottom = fake});
    request req("GET", base_url + "/");
    req.stream_response = true;
    response r = t.c.send(req);
    REQUIRE(r.body_stream.is_open());
    // The attempt (and its connect phase) ended with the head; the call waits for its body.
    CHECK(testing::eventually([&] { return t.spans->spans().size() == 2; }));
    CHECK(named(t.spans->spans(), "GET").size() == 1);
    std::string body(10000, '\0');
    auto read = asio::async_read(r.body_stream, asio::buffer(body), asio::use_future);
    CHECK(read.get() == 10000);
    CHECK(testing::eventually([&] { return named(t.spans->spans(), "GET").size() == 2; }));

    // A body dropped unread ends the call too, marked as dropped: its connection is closed
    // (conn_not_pooled{body_not_drained}).
    request dropped_req("GET", base_url + "/");
    dropped_req.stream_response = true;
    response dropped = t.c.send(dropped_req);
    t.spans->clear();
    dropped = response();
    CHECK(testing::eventually([&] { return named(t.spans->spans(), "GET").size() == 1; }));
    const auto all = t.spans->spans();
    const span& call = call_span(all);
    CHECK(value<bool>(call, "roundtrip.response.body_dropped"));
    CHECK(call.status == status_code::unset); // dropping a body is the caller's choice, not a failure
}

TEST_CASE("the README's example: tracing over retry, one call in ten sampled, spans sent to a collector")
{
    std::mutex mutex;
    std::string received;
    testing::test_server collector([&](const testing::server_request& req, testing::exchange& ex) {
        std::lock_guard lock(mutex);
        received += req.body;
        ex.reply(200);
    });
    const std::string collector_url = collector.url("/v1/traces");
    // [doc-sample tracing-readme]
    #include <roundtrip/middleware/retry.hpp>
    #include <roundtrip/middleware/tracing.hpp>
    #include <roundtrip/middleware/tracing/otlp_exporter.hpp>

    auto exporter = std::make_shared<roundtrip::otlp_exporter>(roundtrip::otlp_options{
        .endpoint = collector_url, .resource = {{"service.name", std::string("checkout")}}});
    roundtrip::client client({.middleware = {
        roundtrip::tracing({.exporter = exporter, .sampler = roundtrip::sampler::parent_based(
                                                      roundtrip::sampler::ratio(0.1))}),
        roundtrip::retry()}});
    // [end doc-sample]
    traced_server server;
    request continued("GET", server.server.url()); // a sampled parent: followed whatever the ratio
    continued.headers.set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    REQUIRE(client.send(continued).status == 200);
    exporter->shutdown(5s);
    std::lock_guard lock(mutex);
    CHECK(received.find("4bf92f3577b34da6a3ce929d0e0e4736") != std::string::npos);
    CHECK(received.find("checkout") != std::string::npos);
}

TEST_CASE("a call cancelled in a retry's backoff, beneath tracing, still ends its call span")
{
    asio::io_context io;
    auto fake = std::make_shared<testing::fake_transport>(io.get_executor());
    fake->respond_with([](const request&, std::uint32_t) { return testing::answer{.status = 503}; });
    auto spans = std::make_shared<in_memory_exporter>();
    retry_options slow;
    slow.base_delay = 10s; // the backoff is where the cancellation lands
    slow.max_delay = 10s;
    client c(io.get_executor(), {.middleware = {tracing({.exporter = spans}), retry(slow)}, .bottom = fake});
    cancellable_call canceled;
    canceled.start(c, request("GET", base_url + "/"));
    run_until(io, [&] { return !spans->spans().empty(); }); // the first attempt's span: backoff began
    canceled.cancel.emit(asio::cancellation_type::terminal);
    run_until(io, [&] { return canceled.done; });
    REQUIRE(canceled.done);
    CHECK(canceled.ec == error::canceled);
    const auto all = spans->spans();
    const span& call = call_span(all);
    CHECK(value<std::string>(call, "error.type") == "canceled");
    CHECK(call.events.size() == 1); // retry_scheduled
    CHECK(children(all, call).size() == 1);
    c.close();
    io.run_for(1s);
}

TEST_CASE("W3C details: tracestate fields joined, dropped with an invalid parent; unknown methods are _OTHER")
{
    auto fake = std::make_shared<testing::fake_transport>();
    traced_client t({}, {.bottom = fake});
    request continued("GET", base_url + "/");
    continued.headers.set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    continued.headers.insert("tracestate", "a=1");
    continued.headers.insert("tracestate", "b=2");
    REQUIRE(t.c.send(continued).status == 200);
    for (const auto& s : t.spans->spans())
        CHECK(s.context.trace_state == "a=1,b=2");

    request invalid("GET", base_url + "/");
    invalid.headers.set("traceparent", "00-not-a-trace-01");
    invalid.headers.set("tracestate", "a=1");
    REQUIRE(t.c.send(invalid).status == 200);
    const auto tracestates = sent(*fake, "tracestate");
    REQUIRE(tracestates.size() == 2);
    CHECK(tracestates.back().empty()); // it belonged to another trace

    t.spans->clear();
    REQUIRE(t.c.send(request("BREW", base_url + "/")).status == 200);
    const auto all = t.spans->spans();
    REQUIRE(all.size() == 2); // the call and its attempt, on the pooled connection
    const auto attempt =
        std::find_if(all.begin(), all.end(), [](const span& s) { return s.kind == span_kind::client; });
    REQUIRE(attempt != all.end());
    CHECK(attempt->name == "HTTP");
    CHECK(value<std::string>(*attempt, "http.request.method") == "_OTHER");
    CHECK(value<std::string>(*attempt, "http.request.method_original") == "BREW");
    CHECK(value<std::string>(*attempt, "network.protocol.version") == "1.1");
}
