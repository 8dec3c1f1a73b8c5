// The pool, end to end against the loopback server: reuse and its order, idle watching, expiry,
// connections that must not be pooled, limits and waiters, late binding, safe transparent retry,
// and stats under load.
#include "gated_resolver.hpp"
#include <roundtrip/testing/recorder.hpp>
#include <roundtrip/testing/test_server.hpp>
#include <roundtrip/testing/wait.hpp>

#include <roundtrip/client.hpp>
#include <roundtrip/error.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

using namespace roundtrip;
using namespace std::chrono_literals;

namespace {

// Replies with the client's port, so a test sees which connection carried a request.
testing::handler echo_port()
{
    return [](const testing::server_request&, testing::exchange& ex) { ex.reply(200, std::to_string(ex.client_port())); };
}

// The close reasons of the conn_closed events recorded so far.
std::vector<close_reason> closes(const testing::recorder& r)
{
    std::vector<close_reason> out;
    for (const auto& e : r.events())
        if (auto c = std::get_if<conn_closed>(&e.e.data))
            out.push_back(c->reason);
    return out;
}

bool closed_because(const testing::recorder& r, close_reason why)
{
    auto all = closes(r);
    return std::find(all.begin(), all.end(), why) != all.end();
}

std::vector<got_conn> got_conns(const testing::recorder& r)
{
    std::vector<got_conn> out;
    for (const auto& e : r.events())
        if (auto g = std::get_if<got_conn>(&e.e.data))
            out.push_back(*g);
    return out;
}

} // namespace

TEST_CASE("a second request reuses the idle connection: got_conn says reused, was_idle and for how long")
{
    testing::test_server server(echo_port());
    auto events = std::make_shared<testing::recorder>();
    client c(client_options{.observers = {events}});
    auto first = c.send(request("GET", server.url()));
    std::this_thread::sleep_for(20ms);
    auto second = c.send(request("GET", server.url()));
    CHECK(first.body == second.body); // same client port: same connection
    CHECK(server.connections() == 1);

    auto calls = events->events();
    std::string second_call;
    for (const auto& r : calls)
        if (r.e.call == 2)
            second_call += (second_call.empty() ? "" : " ") + r.name;
    CHECK(second_call
          == "call_start get_conn got_conn wrote_headers wrote_request got_first_response_byte response_headers "
             "response_body_done put_idle_conn attempt_done call_done");
    auto got = got_conns(*events);
    REQUIRE(got.size() == 2);
    CHECK_FALSE(got[0].reused);
    CHECK(got[1].reused);
    CHECK(got[1].was_idle);
    CHECK(got[1].idle_time >= 20ms);
    CHECK(got[1].local == got[0].local);
}

TEST_CASE("the most recently used idle connection is reused first")
{
    testing::test_server server([](const testing::server_request& req, testing::exchange& ex) {
        if (req.target == "/slow")
            ex.sleep(150ms);
        else if (req.target == "/fast") // still busy when /slow's dial ends: late binding cannot pair them
            ex.sleep(30ms);
        ex.reply(200, std::to_string(ex.client_port()));
    });
    client c;
    // Two at once need two connections; /slow's comes back last, so it is the most recently used.
    auto fast = c.async_send(request("GET", server.url("/fast")), asio::use_future);
    auto slow = c.async_send(request("GET", server.url("/slow")), asio::use_future);
    const auto fast_port = fast.get().body, slow_port = slow.get().body;
    REQUIRE(fast_port != slow_port);
    CHECK(c.send(request("GET", server.url())).body == slow_port);
    CHECK(c.send(request("GET", server.url())).body == slow_port);
    CHECK(server.connections() == 2);
}

TEST_CASE("a connection the server closes while idle is removed at once and never handed out")
{
    testing::test_server server([](const testing::server_request&, testing::exchange& ex) {
        // A keep-alive response, then the server changes its mind (as an idle timeout would).
        ex.write_raw("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        ex.close();
    });
    auto events = std::make_shared<testing::recorder>();
    client c(client_options{.observers = {events}});
    CHECK(c.send(request("GET", server.url())).status == 200);
    REQUIRE(testing::eventually([&] { return closed_because(*events, close_reason::peer_closed_idle); }));
    CHECK(c.stats().idle == 0);
    CHECK(c.send(request("GET", server.url())).status == 200);
    auto got = got_conns(*events);
    REQUIRE(got.size() == 2);
    CHECK_FALSE(got[1].reused); // a new connection, not the dead one
    CHECK(server.connections() == 2);
}

TEST_CASE("a connection the server closed a moment ago, before any watcher: a GET is retried, a POST looks first")
{
    testing::test_server server([](const testing::server_request&, testing::exchange& ex) {
        ex.write_raw("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        ex.close(); // the keep-alive response was the last
    });
    auto events = std::make_shared<testing::recorder>();
    client c(client_options{.observers = {events}});
    REQUIRE(c.send(request("GET", server.url())).status == 200);

    // At once, before the idle watcher is armed: the GET goes out on the dead connection, fails,
    // and is sent again on a new one (a failed attempt, not an error). Should the machine be slow
    // enough for the watcher to see the FIN first, the GET gets a new connection at once instead.
    REQUIRE(c.send(request("GET", server.url())).status == 200);
    CHECK(got_conns(*events).back().reused == false);

    // A POST may not be sent twice: the pooled connection is looked at first (the FIN arrived
    // within the 10 ms; the watcher would need 50), so it is closed unused, never written to.
    REQUIRE(testing::eventually([&] { return c.stats().idle == 1; }));
    std::this_thread::sleep_for(10ms);
    const std::size_t attempts_before = got_conns(*events).size();
    request post("POST", server.url());
    post.body = "once";
    const result r = c.round_trip(post);
    REQUIRE_FALSE(r.error);
    CHECK(r.attempt.attempts == 1);
    CHECK_FALSE(r.attempt.reused);
    CHECK(got_conns(*events).size() == attempts_before + 1);
    CHECK(closed_because(*events, close_reason::peer_closed_idle));
}

TEST_CASE("a connection reused after its idle watcher was armed is watched again when it is idle again")
{
    testing::test_server server([](const testing::server_request&, testing::exchange& ex) {
        ex.reply(200, "ok");
        if (ex.request_index() == 2) { // after the second response: the server's idle timeout
            ex.sleep(300ms);
            ex.close();
        }
    });
    auto events = std::make_shared<testing::recorder>();
    client c(client_options{.observers = {events}});
    REQUIRE(c.send(request("GET", server.url())).status == 200);
    std::this_thread::sleep_for(150ms); // idle long enough for the watcher to be armed
    REQUIRE(c.send(request("GET", server.url())).status == 200);
    CHECK(got_conns(*events).back().reused);
    // Idle again, and the server closes it: the watcher sees it, long before the idle timeout.
    CHECK(testing::eventually([&] { return closed_because(*events, close_reason::peer_closed_idle); }, 3s));
    CHECK(c.stats().idle == 0);
}

TEST_CASE("bytes pushed onto a connection idle for milliseconds, before its watcher, never become a GET's response")
{
    testing::test_server server([](const testing::server_request& req, testing::exchange& ex) {
        ex.reply(200, "real " + req.target);
        if (ex.request_index() == 1) {
            ex.sleep(5ms);
            ex.write_raw("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged");
        }
    });
    client c;
    CHECK(c.send(request("GET", server.url("/1"))).body == "real /1");
    std::this_thread::sleep_for(20ms); // the pushed bytes are there; the watcher comes at 50 ms
    CHECK(c.send(request("GET", server.url("/2"))).body == "real /2");
}

TEST_CASE("bytes pushed onto an idle connection close it; they never become the next response")
{
    testing::test_server server([](const testing::server_request& req, testing::exchange& ex) {
        ex.reply(200, "real " + req.target);
        if (ex.request_index() == 1) {
            ex.sleep(30ms);
            ex.write_raw("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nforged");
        }
    });
    auto events = std::make_shared<testing::recorder>();
    client c(client_options{.observers = {events}});
    CHECK(c.send(request("GET", server.url("/1"))).body == "real /1");
    REQUIRE(testing::eventually([&] { return closed_because(*events, close_reason::stray_bytes_idle); }));
    CHECK(c.send(request("GET", server.url("/2"))).body == "real /2");
}

TEST_CASE("an idle connection is closed when the idle timeout passes")
{
    testing::test_server server;
    auto events = std::make_shared<testing::recorder>();
    client_options options{.observers = {events}};
    options.transport.pool.idle_timeout = 100ms;
    client c(std::move(options));
    c.send(request("GET", server.url()));
    CHECK(c.stats().idle == 1);
    REQUIRE(testing::eventually([&] { return closed_because(*events, close_reason::idle_timeout); }));
    CHECK(c.stats().idle == 0);
    CHECK(c.stats().open == 0);
}

TEST_CASE("a connection older than max_lifetime is not reused")
{
    testing::test_server server(echo_port());
    auto events = std::make_shared<testing::recorder>();
    client_options options{.observers = {events}};
    options.transport.pool.max_lifetime = 100ms;
    client c(std::move(options));
    auto first = c.send(request("GET", server.url()));
    std::this_thread::sleep_for(150ms);
    auto second = c.send(request("GET", server.url()));
    CHECK(first.body != second.body);
    CHECK(closed_because(*events, close_reason::max_lifetime));
}

TEST_CASE("Connection: close, HTTP/1.0 and read-until-close responses are never pooled")
{
    struct scripted {
        std::string response;
    };
    for (const auto& [response] : std::vector<scripted>{
             {"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"},
             {"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"},
             {"HTTP/1.1 200 OK\r\n\r\nok"}, // no length: the body ends when the server closes
         }) {
        CAPTURE(response);
        testing::test_server server([&](const testing::server_request&, testing::exchange& ex) {
            ex.write_raw(response);
            ex.close();
        });
        auto events = std::make_shared<testing::recorder>();
        client c(client_options{.observers = {events}});
        auto resp = c.send(request("GET", server.url()));
        CHECK(resp.body == "ok");
        const auto* why = events->first<conn_not_pooled>();
        REQUIRE(why);
        CHECK(why->reason == not_pooled_reason::connection_close);
        CHECK(events->names().ends_with("response_body_done conn_not_pooled conn_closed attempt_done call_done"));
        CHECK(c.stats().open == 0);
    }
}

TEST_CASE("a request that says Connection: close is sent so and not pooled")
{
    std::string seen;
    testing::test_server server([&](const testing::server_request& req, testing::exchange& ex) {
        seen = std::string(req.headers["Connection"]);
        ex.reply(200);
    });
    auto events = std::make_shared<testing::recorder>();
    client c(client_options{.observers = {events}});
    request req("GET", server.url());
    req.headers.set("Connection", "close");
    c.send(req);
    CHECK(seen == "close");
    CHECK(events->first<conn_not_pooled>()->reason == not_pooled_reason::connection_close);
}

TEST_CASE("close_idle() closes every idle connection")
{
    testing::test_server server;
    auto events = std::make_shared<testing::recorder>();
    client c(client_options{.observers = {events}});
    auto a = c.async_send(request("GET", server.url()), asio::use_future);
    auto b = c.async_send(request("GET", server.url()), asio::use_future);
    a.get(), b.get();
    REQUIRE(c.stats().idle >= 1);
    const auto idle = c.stats().idle;
    c.close_idle();
    REQUIRE(testing::eventually([&] { return c.stats().idle == 0; }));
    // The pool forgets a connection before its conn_closed event is delivered.
    CHECK(testing::eventually([&] { return closes(*events).size() == idle; }));
    CHECK(closed_because(*events, close_reason::close_idle));
}

TEST_CASE("new_connection skips idle connections")
{
    testing::test_server server(echo_port());
    client c;
    auto first = c.send(request("GET", server.url()));
    request fresh("GET", server.url());
    fresh.new_connection = true;
    auto second = c.send(fresh);
    CHECK(first.body != second.body);
    CHECK(c.stats().idle == 2); // and the new connection is pooled afterwards
}

TEST_CASE("new_connection at the host's limit closes an idle connection to make room, never waits forever")
{
    testing::test_server server(echo_port());
    auto events = std::make_shared<testing::recorder>();
    client_options options{.observers = {events}};
    options.transport.pool.max_conns_per_host = 1;
    options.transport.pool.idle_timeout = {}; // nothing else would ever free the place
    client c(std::move(options));
    auto first = c.send(request("GET", server.url()));
    request fresh("GET", server.url());
    fresh.new_connection = true;
    fresh.timeout = 5s;
    result r = c.round_trip(fresh);
    REQUIRE_FALSE(r.error);
    CHECK(r.response.body != first.body);
    CHECK(closed_because(*events, close_reason::evicted));
    CHECK(c.stats().open == 1);
}

TEST_CASE("one server has one pool however its URLs spell the host and port")
{
    testing::test_server server(echo_port());
    client_options options;
    options.transport.dial.resolver = std::make_shared<static_resolver>(
        std::map<std::string, std::vector<asio::ip::address>, std::less<>>{
            {"api.test", {asio::ip::make_address("127.0.0.1")}}, {"API.test", {asio::ip::make_address("127.0.0.1")}}});
    client c(std::move(options));
    const std::string port = std::to_string(server.port());
    auto a = c.send(request("GET", "http://api.test:" + port + "/"));
    auto b = c.send(request("GET", "http://API.test:" + port + "/"));
    CHECK(a.body == b.body);
    CHECK(c.stats().hosts.size() == 1);
    CHECK(c.stats().hosts[0].key == "http://api.test:" + port);
}

TEST_CASE("at max_conns_per_host, callers wait in FIFO order on the one connection")
{
    std::mutex m;
    std::vector<std::string> arrival;
    testing::test_server server([&](const testing::server_request& req, testing::exchange& ex) {
        {
            std::lock_guard lock(m);
            arrival.push_back(req.target);
        }
        ex.sleep(40ms);
        ex.reply(200, std::to_string(ex.client_port()));
    });
    auto events = std::make_shared<testing::recorder>();
    client_options options{.observers = {events}};
    options.transport.pool.max_conns_per_host = 1;
    client c(std::move(options));
    std::vector<std::future<response>> pending;
    for (auto path : {"/1", "/2", "/3", "/4"}) {
        pending.push_back(c.async_send(request("GET", server.url(path)), asio::use_future));
        std::this_thread::sleep_for(5ms); // the order they are sent in
    }
    std::set<std::string> ports;
    for (auto& p : pending)
        ports.insert(p.get().body);
    CHECK(ports.size() == 1);
    CHECK(arrival == std::vector<std::string>{"/1", "/2", "/3", "/4"});
    CHECK(server.connections() == 1);
    std::size_t waits = 0, done = 0;
    for (const auto& r : events->events()) {
        waits += std::holds_alternative<wait_for_conn_start>(r.e.data);
        if (auto d = std::get_if<wait_for_conn_done>(&r.e.data)) {
            ++done;
            CHECK_FALSE(d->error);
        }
    }
    CHECK(waits == 3);
    CHECK(done == 3);
}

TEST_CASE("a caller waiting at the host's limit gives up at its deadline, or when cancelled")
{
    testing::test_server server([](const testing::server_request&, testing::exchange& ex) {
        ex.sleep(400ms);
        ex.reply(200);
    });
    auto events = std::make_shared<testing::recorder>();
    client_options options{.observers = {events}};
    options.transport.pool.max_conns_per_host = 1;
    client c(std::move(options));
    auto holder = c.async_send(request("GET", server.url()), asio::use_future);
    REQUIRE(testing::eventually([&] { return server.requests() == 1; }));

    request impatient("GET", server.url());
    impatient.timeout = 50ms;
    result r = c.round_trip(impatient);
    CHECK(r.error == error::deadline_exceeded);
    const auto* waited = events->first<wait_for_conn_done>();
    REQUIRE(waited);
    CHECK(waited->error == error::deadline_exceeded);

    asio::cancellation_signal cancel;
    std::promise<error_code> outcome;
    c.async_send(request("GET", server.url()),
                 asio::bind_cancellation_slot(cancel.slot(), [&](error_code ec, response) { outcome.set_value(ec); }));
    std::this_thread::sleep_for(20ms);
    asio::dispatch(c.get_executor(), [&] { cancel.emit(asio::cancellation_type::terminal); });
    auto cancelled = outcome.get_future();
    REQUIRE(cancelled.wait_for(5s) == std::future_status::ready);
    CHECK(cancelled.get() == error::canceled);
    CHECK(c.stats().waiting == 0);
    CHECK(holder.get().status == 200);
    CHECK(server.requests() == 1); // neither waiter reached the server
}

TEST_CASE("a waiter cancelled as the connection is handed to it leaves that connection whole, for the next")
{
    // An observer runs on the client's strand: cancelling from it lands exactly between the hand-over
    // and the waiter's resumption. On put_idle_conn, the cancel ends the wait before the connection is
    // handed (it was dropped, its place in the pool leaked); on attempt_done, after (it was closed as
    // broken though nothing had been written on it).
    for (const std::string_view moment : {"put_idle_conn", "attempt_done"}) {
        CAPTURE(moment);
        testing::test_server server(echo_port());
        struct canceller : observer {
            std::string_view moment;
            asio::cancellation_signal* cancel = nullptr;
            void on_event(const event& e) noexcept override
            {
                if (e.call == 1 && cancel && name(e) == moment)
                    std::exchange(cancel, nullptr)->emit(asio::cancellation_type::terminal);
            }
        };
        auto trigger = std::make_shared<canceller>();
        trigger->moment = moment;
        auto events = std::make_shared<testing::recorder>();
        asio::io_context io;
        client_options options{.observers = {trigger, events}};
        options.transport.pool.max_conns_per_host = 1;
        client c(io.get_executor(), std::move(options));
        asio::cancellation_signal cancel_second;
        trigger->cancel = &cancel_second;
        std::optional<error_code> first, second;
        c.async_send(request("GET", server.url()), [&](error_code ec, response) { first = ec; });
        c.async_send(request("GET", server.url()),
                     asio::bind_cancellation_slot(cancel_second.slot(), [&](error_code ec, response) { second = ec; }));
        const auto give_up = clock::now() + 10s;
        while (!(first && second) && clock::now() < give_up)
            io.run_one_for(100ms);
        REQUIRE(first);
        REQUIRE(second);
        CHECK_FALSE(*first);
        CHECK(*second == error::canceled);
        CHECK_FALSE(closed_because(*events, close_reason::not_pooled));
        CHECK(c.stats().idle == 1);
        CHECK(c.stats().open == 1);
        std::optional<error_code> third;
        c.async_send(request("GET", server.url()), [&](error_code ec, response) { third = ec; });
        while (!third && clock::now() < give_up)
            io.run_one_for(100ms);
        CHECK(third == error_code{});
        CHECK(server.connections() == 1);
        c.close();
        io.run_for(2s);
    }
}

TEST_CASE("late binding: a waiter takes a connection returned before its own dial finishes")
{
    auto names = std::make_shared<testing::gated_resolver>();
    // /hold answers only once a later request's dial is waiting on its lookup: so that request must
    // find no idle connection, dial, and then be handed /hold's connection when it comes back.
    testing::test_server server([&](const testing::server_request& req, testing::exchange& ex) {
        if (req.target == "/hold")
            testing::eventually([&] { return names->held() == 1; });
        ex.reply(200, std::to_string(ex.client_port()));
    });
    auto events = std::make_shared<testing::recorder>();
    client_options options{.observers = {events}};
    options.transport.dial.resolver = names;
    options.transport.dial.dns_cache.ttl = 0s; // the late dial must ask the resolver, not the cache
    client c(std::move(options));
    const std::string url = "http://late.test:" + std::to_string(server.port());

    auto first = c.send(request("GET", url + "/")); // dials (the first lookup answers at once)
    auto hold = c.async_send(request("GET", url + "/hold"), asio::use_future); // takes the idle one
    REQUIRE(testing::eventually([&] { return server.requests() == 2; }));
    auto late = c.async_send(request("GET", url + "/"), asio::use_future); // none idle: dials, held
    CHECK(late.get().body == first.body); // handed /hold's connection before its own dial ended
    CHECK(hold.get().body == first.body);
    CHECK(names->held() == 1);
    names->release();
    // The late request's own dial finishes after all, and its connection goes to the pool.
    REQUIRE(testing::eventually([&] { return c.stats().idle == 2; }));
    CHECK(c.stats().dialing == 0);
    CHECK(testing::eventually([&] { return server.connections() == 2; })); // the server's accept counts it after
}

TEST_CASE("a GET that fails on a stale reused connection is retried on a new one; a POST is not resent")
{
    // The server answers the first request of each connection and closes the connection when a second
    // request arrives on it, without answering: what a client sees when a server drops an idle
    // connection just as a request goes out.
    testing::handler drop_second = [](const testing::server_request&, testing::exchange& ex) {
        if (ex.request_index() >= 2)
            return ex.reset();
        ex.reply(200, std::to_string(ex.client_port()));
    };

    SUBCASE("GET")
    {
        testing::test_server server(drop_second);
        auto events = std::make_shared<testing::recorder>();
        client c(client_options{.observers = {events}});
        c.send(request("GET", server.url()));
        result r = c.round_trip(request("GET", server.url()));
        REQUIRE_FALSE(r.error);
        CHECK(r.attempt.attempts == 2);
        CHECK_FALSE(r.attempt.reused);
        CHECK(server.requests() == 3); // the request reached the server twice: it is idempotent
        CHECK(events->names(1).find("got_conn") != std::string::npos);
        int resends = 0; // get_conn says which attempt is the transport's own resend
        for (const auto& e : events->events())
            if (auto g = std::get_if<get_conn>(&e.e.data); g && g->transparent_retry)
                resends += e.e.attempt == 2 ? 1 : 100;
        CHECK(resends == 1);
    }
    SUBCASE("POST")
    {
        testing::test_server server(drop_second);
        client c;
        request post("POST", server.url());
        post.body = "charge the card";
        c.send(post);
        result r = c.round_trip(post);
        CHECK((r.error == condition::connection_reset || r.error == condition::eof));
        CHECK(r.attempt.attempts == 1);
        CHECK(r.attempt.reused);
        CHECK(r.attempt.progress == request_progress::possibly_processed);
        CHECK(server.requests() == 2); // never sent twice
    }
    SUBCASE("POST with an Idempotency-Key")
    {
        testing::test_server server(drop_second);
        client c;
        request post("POST", server.url());
        post.headers.set("Idempotency-Key", "order-17");
        c.send(post);
        result r = c.round_trip(post);
        CHECK_FALSE(r.error);
        CHECK(r.attempt.attempts == 2);
        CHECK(server.requests() == 3);
    }
}

TEST_CASE("a failure on a freshly dialled connection is never retried transparently")
{
    testing::test_server server([](const testing::server_request&, testing::exchange& ex) { ex.reset(); });
    client c;
    result r = c.round_trip(request("GET", server.url()));
    CHECK(r.error);
    CHECK(r.attempt.attempts == 1);
    CHECK(server.requests() == 1);
}

TEST_CASE("is_replayable follows RFC 9110's idempotent methods, or an Idempotency-Key")
{
    for (auto m : {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
        CHECK(is_replayable(request(m, "http://h/")));
    for (auto m : {"POST", "PATCH", "CONNECT", "get"})
        CHECK_FALSE(is_replayable(request(m, "http://h/")));
    request keyed("POST", "http://h/");
    keyed.headers.set("Idempotency-Key", "k");
    CHECK(is_replayable(keyed));
}

TEST_CASE("stats() stays consistent while four threads send")
{
    testing::test_server server;
    client c;
    std::atomic<bool> sending{true};
    std::atomic<int> ok{0}, inconsistent{0}, samples{0};
    std::thread reader([&] {
        while (sending) {
            auto s = c.stats();
            ++samples;
            std::size_t open = 0;
            for (const auto& h : s.hosts)
                open += h.open;
            if (s.open != s.idle + s.active + s.dialing || open != s.open || s.hosts.size() > 1)
                ++inconsistent;
        }
    });
    std::vector<std::thread> senders;
    for (int t = 0; t < 4; ++t)
        senders.emplace_back([&] {
            for (int i = 0; i < 25; ++i)
                if (c.send(request("GET", server.url())).status == 200)
                    ++ok;
        });
    for (auto& s : senders)
        s.join();
    sending = false;
    reader.join();
    CHECK(ok == 100);
    CHECK(inconsistent == 0);
    CHECK(samples > 0);
    // Four senders need at most four connections at once; late binding can add one more each (a dial
    // that ends after its sender was handed another connection), and every one ends up idle.
    REQUIRE(testing::eventually([&] { return c.stats().dialing == 0; }));
    auto s = c.stats();
    CHECK(s.active == 0);
    CHECK(s.idle >= 1);
    CHECK(s.idle <= 8);
    CHECK(testing::eventually([&] { return server.connections() == c.stats().idle; }));
}
