// The event model: the order and pairing of one request's events, their fields, and that nobody
// listening costs no observer calls.
#include <roundtrip/testing/recorder.hpp>
#include <roundtrip/testing/test_server.hpp>

#include <roundtrip/client.hpp>
#include <roundtrip/error.hpp>

#include <doctest/doctest.h>

#include <set>
#include <thread>

using namespace roundtrip;

TEST_CASE("one request on a new connection emits every event, in order, each start paired")
{
    testing::test_server server([](const testing::server_request&, testing::exchange& ex) { ex.reply(200, "hello"); });
    auto events = std::make_shared<testing::recorder>();
    client c(client_options{.observers = {events}});
    request req("POST", server.url("/submit"));
    req.body = "12345";
    CHECK(c.send(req).status == 200);

    CHECK(events->names()
          == "call_start get_conn connect_start connect_done got_conn wrote_headers wrote_request "
             "got_first_response_byte response_headers response_body_done put_idle_conn attempt_done call_done");

    auto all = events->events();
    const auto call = all.front().e.call;
    CHECK(call >= 1);
    clock::time_point last{};
    for (const auto& r : all) {
        CAPTURE(r.name);
        CHECK(r.e.call == call);
        CHECK(r.e.at >= last);
        last = r.e.at;
        bool per_call = r.name == "call_start" || r.name == "call_done";
        CHECK(r.e.attempt == (per_call ? 0u : 1u));
        bool before_conn = per_call || r.name == "get_conn";
        if (before_conn)
            CHECK(r.e.conn == 0);
        else
            CHECK(r.e.conn >= 1);
    }

    const auto* got = events->first<got_conn>();
    REQUIRE(got);
    CHECK_FALSE(got->reused);
    CHECK_FALSE(got->was_idle);
    CHECK(got->idle_time == clock::duration::zero());
    CHECK(got->remote.port() == server.port());
    CHECK(got->local.address().is_loopback());
    CHECK(got->local.port() != 0);

    const auto* wrote = events->first<wrote_request>();
    REQUIRE(wrote);
    CHECK_FALSE(wrote->error);
    CHECK(wrote->bytes > 5);

    CHECK(events->first<response_headers>()->status == 200);
    CHECK(events->first<response_body_done>()->bytes == 5);
    CHECK(events->first<call_done>()->status == 200);
    CHECK_FALSE(events->first<call_done>()->error);

    // The pooled connection's close, when the client closes, is a connection event no call owns.
    c.close();
    for (int i = 0; i < 200 && !events->first<conn_closed>(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    REQUIRE(events->first<conn_closed>());
    CHECK(events->events().back().e.call == 0);
    CHECK(events->events().back().e.conn == all[4].e.conn);
    const auto* closed = events->first<conn_closed>();
    CHECK(closed->reason == close_reason::client_closed);
    CHECK(closed->requests_served == 1);
    CHECK(closed->lifetime > clock::duration::zero());
}

TEST_CASE("*_done events carry their phase's duration; get_conn says where the attempt goes")
{
    testing::test_server server;
    auto events = std::make_shared<testing::recorder>();
    client c(client_options{.observers = {events}});
    c.send(request("GET", server.url("/a")));
    const auto all = events->events();
    // Each duration is at most the time between its start event and itself.
    const auto at = [&](std::string_view name) {
        for (const auto& r : all)
            if (r.name == name)
                return r.e.at;
        FAIL("no ", name);
        return clock::time_point{};
    };
    const auto* connected = events->first<connect_done>();
    REQUIRE(connected);
    CHECK(connected->took > clock::duration::zero());
    CHECK(connected->took <= at("connect_done") - at("connect_start"));
    const auto* attempt = events->first<attempt_done>();
    REQUIRE(attempt);
    CHECK(attempt->took > connected->took);
    CHECK(attempt->took <= at("attempt_done") - at("get_conn"));
    const auto* call = events->first<call_done>();
    REQUIRE(call);
    CHECK(call->took >= attempt->took);
    CHECK(call->took <= at("call_done") - at("call_start"));

    // get_conn's strings are views into the attempt's request, gone after the call: read them
    // through the line written when the event was delivered.
    CHECK(events->describe_first("get_conn") == "get_conn scheme=http host=127.0.0.1 port="
                                                    + std::to_string(server.port()) + " method=GET transparent_retry=false");
}

TEST_CASE("got_conn says why the idle pool did not serve the attempt")
{
    testing::test_server server;
    auto events = std::make_shared<testing::recorder>();
    client c(client_options{.observers = {events}, .transport = {.pool = {.idle_timeout = std::chrono::milliseconds(30)}}});
    const auto last_got_conn = [&] {
        const auto all = events->events();
        for (auto it = all.rbegin(); it != all.rend(); ++it)
            if (auto g = std::get_if<got_conn>(&it->e.data))
                return *g;
        FAIL("no got_conn");
        return got_conn{};
    };
    c.send(request("GET", server.url()));
    CHECK(last_got_conn().not_reused == not_reused_reason::no_idle);
    CHECK_FALSE(last_got_conn().late_bound);

    c.send(request("GET", server.url()));
    CHECK(last_got_conn().was_idle);
    CHECK(last_got_conn().not_reused == not_reused_reason::none);

    request fresh("GET", server.url());
    fresh.new_connection = true;
    c.send(fresh);
    CHECK(last_got_conn().not_reused == not_reused_reason::new_connection_requested);

    std::this_thread::sleep_for(std::chrono::milliseconds(60)); // past the idle timeout
    c.send(request("GET", server.url()));
    const got_conn after_expiry = last_got_conn();
    CHECK_FALSE(after_expiry.was_idle);
    // The sweep may have closed the idle connections before the request came (no_idle), or the
    // request found them expired itself (idle_expired).
    CHECK((after_expiry.not_reused == not_reused_reason::idle_expired
           || after_expiry.not_reused == not_reused_reason::no_idle));
}

TEST_CASE("a pooled connection the server closed is idle_stale")
{
    testing::test_server server([](const testing::server_request&, testing::exchange& ex) {
        ex.reply(200, "ok");
        ex.close(); // without Connection: close, so the client pools it
    });
    auto events = std::make_shared<testing::recorder>();
    client c(client_options{.observers = {events}});
    request post("POST", server.url()); // not replayable: the transport looks before reusing
    c.send(post);
    std::this_thread::sleep_for(std::chrono::milliseconds(50)); // the FIN arrives
    c.send(post);
    const auto all = events->events();
    std::vector<not_reused_reason> reasons;
    for (const auto& r : all)
        if (auto g = std::get_if<got_conn>(&r.e.data))
            reasons.push_back(g->not_reused);
    REQUIRE(reasons.size() == 2);
    // Found closed when taken (idle_stale), unless the idle watcher saw the FIN first (no_idle).
    CHECK((reasons[1] == not_reused_reason::idle_stale || reasons[1] == not_reused_reason::no_idle));
}

TEST_CASE("interim 1xx responses are reported by got_1xx and skipped")
{
    testing::test_server server([](const testing::server_request&, testing::exchange& ex) {
        ex.write_raw("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n");
        ex.reply(204);
    });
    auto events = std::make_shared<testing::recorder>();
    client c(client_options{.observers = {events}});
    CHECK(c.send(request("GET", server.url())).status == 204);
    CHECK(events->names().find("got_first_response_byte got_1xx got_1xx response_headers") != std::string::npos);
    std::vector<unsigned> interim;
    for (const auto& r : events->events())
        if (auto p = std::get_if<got_1xx>(&r.e.data))
            interim.push_back(p->status);
    CHECK(interim == std::vector<unsigned>{100, 103});
}

TEST_CASE("a failed attempt stops where it failed and still closes its connection")
{
    testing::test_server server([](const testing::server_request&, testing::exchange& ex) {
        ex.write_raw("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort");
        ex.close();
    });
    auto events = std::make_shared<testing::recorder>();
    client c(client_options{.observers = {events}});
    result r = c.round_trip(request("GET", server.url()));
    CHECK(r.error == error::unexpected_eof);
    CHECK(r.error == condition::eof);
    CHECK(r.attempt.progress == request_progress::response_started);
    CHECK(events->names().ends_with("response_headers response_body_done conn_not_pooled conn_closed attempt_done call_done"));
    CHECK(events->first<response_body_done>()->error == error::unexpected_eof);
    CHECK(events->first<conn_not_pooled>()->reason == not_pooled_reason::broken);
    CHECK(events->first<call_done>()->error == error::unexpected_eof);
}

TEST_CASE("a malformed response is a protocol error and its connection is not pooled")
{
    testing::test_server server([](const testing::server_request&, testing::exchange& ex) {
        ex.write_raw("HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n");
        ex.close();
    });
    auto events = std::make_shared<testing::recorder>();
    client c(client_options{.observers = {events}});
    result r = c.round_trip(request("GET", server.url()));
    CHECK(r.error == error::protocol_error);
    CHECK(events->first<conn_not_pooled>()->reason == not_pooled_reason::protocol_error);
}

TEST_CASE("a refused connection reports connect_done with the error, and no connection events")
{
    const std::uint16_t port = testing::refused_port();
    auto events = std::make_shared<testing::recorder>();
    client c(client_options{.observers = {events}});
    result r = c.round_trip(request("GET", "http://127.0.0.1:" + std::to_string(port) + "/"));
    CHECK(r.error == condition::connection_refused);
    CHECK(r.attempt.progress == request_progress::not_sent);
    CHECK(r.attempt.conn == 0);
    CHECK(events->names() == "call_start get_conn connect_start connect_done attempt_done call_done");
    CHECK(events->first<connect_done>()->error == condition::connection_refused);
}

TEST_CASE("calls get distinct ids, and event names are the documented ones")
{
    testing::test_server server;
    auto events = std::make_shared<testing::recorder>();
    client c(client_options{.observers = {events}});
    c.send(request("GET", server.url()));
    c.send(request("GET", server.url()));
    std::set<std::uint64_t> calls, conns;
    for (const auto& r : events->events()) {
        calls.insert(r.e.call);
        if (r.e.conn)
            conns.insert(r.e.conn);
    }
    CHECK(calls.size() == 2);
    CHECK(conns.size() == 1); // the second call reused the first one's connection
    CHECK(to_string(not_pooled_reason::body_not_drained) == "body_not_drained");
    CHECK(to_string(close_reason::peer_closed_idle) == "peer_closed_idle");
}

TEST_CASE("a client with no observers makes no observer calls, and an observer added later only sees its own")
{
    testing::test_server server;
    auto counted = std::make_shared<testing::recorder>();
    client quiet;
    CHECK(quiet.send(request("GET", server.url())).status == 200);
    layer observe_second = [counted, n = 0](request req, next next) mutable -> asio::awaitable<result> {
        if (++n == 2)
            req.observe(counted);
        co_return co_await next(std::move(req));
    };
    client c(client_options{.middleware = {observe_second}});
    c.send(request("GET", server.url()));
    CHECK(counted->names().empty());
    c.send(request("GET", server.url()));
    CHECK_FALSE(counted->names().empty());
}

TEST_CASE("describe() writes an event as one line of key=value fields, errors as their class")
{
    event e{7, 1, 3, clock::now(),
            got_conn{true, true, std::chrono::milliseconds(12),
                     endpoint(asio::ip::make_address("127.0.0.1"), 50000),
                     endpoint(asio::ip::make_address("::1"), 8080)}};
    CHECK(describe(e) == "got_conn reused=true was_idle=true idle_us=12000 local=127.0.0.1:50000 remote=[::1]:8080 "
                         "not_reused=none late_bound=false");
    const endpoint found[] = {endpoint(asio::ip::make_address("::1"), 80),
                              endpoint(asio::ip::make_address("127.0.0.1"), 80)};
    e.data = dns_done{found, {}, std::chrono::microseconds(1500), dns_source::coalesced};
    CHECK(describe(e) == "dns_done addresses=[[::1]:80,127.0.0.1:80] error=none took_us=1500 source=coalesced");
    e.data = get_conn{"https", "example.com", 443, "PUT", "https://user:secret@example.com/"};
    CHECK(describe(e) == "get_conn scheme=https host=example.com port=443 method=PUT transparent_retry=false"); // never the URL
    e.data = wrote_request{10, make_error_code(error::write_timeout)};
    CHECK(describe(e) == "wrote_request bytes=10 error=timeout");
    e.data = conn_not_pooled{not_pooled_reason::keep_alive_disabled};
    CHECK(describe(e) == "conn_not_pooled reason=keep_alive_disabled");
    e.data = wrote_headers{};
    CHECK(describe(e) == "wrote_headers");
}

namespace {

// A middleware's own event, defined outside the core.
struct token_refreshed {
    static constexpr std::string_view event_name = "token_refreshed";
    static constexpr std::string_view attribute_prefix = "acme.auth";
    std::string_view realm;
    std::uint32_t tries = 0;
    std::int64_t skew = 0;
    bool cached = false;
    clock::duration took{};
    error_code error;
    double load = 0.75;
    void write_fields(field_writer& out) const
    {
        out("realm", realm), out("tries", tries), out("skew", skew), out("cached", cached), out("took", took);
        out("error", error), out("load", load);
    }
};

struct other_event {
    static constexpr std::string_view event_name = "other_event";
    void write_fields(field_writer&) const {}
};

} // namespace

TEST_CASE("a middleware's own event: named, described, cast back and kept, though the core does not know it")
{
    const token_refreshed refreshed{"corp", 2, -5, true, std::chrono::milliseconds(3), error::read_timeout};
    const event e{4, 2, 0, clock::now(), middleware_event(refreshed)};
    CHECK(name(e) == "token_refreshed");
    CHECK(describe(e) == "token_refreshed realm=corp tries=2 skew=-5 cached=true took_us=3000 error=timeout load=0.75");
    REQUIRE(event_cast<token_refreshed>(e) == &refreshed); // the value itself, not a copy
    CHECK(event_cast<other_event>(e) == nullptr);
    CHECK(event_cast<got_conn>(e) == nullptr);
    CHECK(std::get<middleware_event>(e.data).attribute_prefix() == "acme.auth");

    event kept;
    {
        token_refreshed scratch = refreshed;
        kept = keep(event{4, 2, 0, clock::now(), middleware_event(scratch)});
        scratch.tries = 99; // the kept event owns a copy made before this
    }
    REQUIRE(event_cast<token_refreshed>(kept) != nullptr);
    CHECK(event_cast<token_refreshed>(kept)->tries == 2);
    CHECK(describe(kept) == describe(e));

    const event core{1, 1, 0, clock::now(), got_1xx{103}};
    CHECK(event_cast<got_1xx>(core)->status == 103);
    CHECK(event_cast<token_refreshed>(core) == nullptr);
}

TEST_CASE("emit() delivers a middleware's own event to client observers and to the observers above it")
{
    testing::test_server server;
    auto client_events = std::make_shared<testing::recorder>();
    auto above = std::make_shared<testing::recorder>();
    auto below = std::make_shared<testing::recorder>();
    const layer observe_above = [above](request req, next next) -> asio::awaitable<result> {
        req.observe(above);
        co_return co_await next(std::move(req));
    };
    const layer reporting = [below](request req, next next) -> asio::awaitable<result> {
        emit(req, token_refreshed{"corp", 1, 0, false, {}, {}});
        req.observe(below); // added after the event: does not see it
        co_return co_await next(std::move(req));
    };
    client c(client_options{.middleware = {observe_above, reporting}, .observers = {client_events}});
    REQUIRE(c.send(request("GET", server.url())).status == 200);
    CHECK(client_events->names().starts_with("call_start token_refreshed get_conn"));
    CHECK(above->names().starts_with("token_refreshed get_conn")); // scoped: no call_start
    for (const auto* r : {client_events.get(), above.get()}) {
        const token_refreshed* seen = r->first<token_refreshed>(); // kept by the recorder
        REQUIRE(seen != nullptr);
        CHECK(seen->tries == 1);
        CHECK(r->describe_first("token_refreshed")
              == "token_refreshed realm=corp tries=1 skew=0 cached=false took_us=0 error=none load=0.75");
    }
    CHECK(below->first<token_refreshed>() == nullptr);
}
