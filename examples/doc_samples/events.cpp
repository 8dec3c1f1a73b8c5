// The code samples of docs/events.md, run against a local server: an observer of every event, a
// middleware's scoped observer, the per-attempt header hook, and checks that the events arrive in the
// order the page states. Returns non-zero when something does not behave as the page says.

#include <roundtrip/testing/recorder.hpp>    // records events for the checks; tests use the same one
#include "expectations.hpp"
#include <roundtrip/testing/test_server.hpp> // the local server; tests use the same one
#include <roundtrip/testing/wait.hpp>        // bounded waits for the checks

#include <roundtrip/client.hpp>
#include <roundtrip/events.hpp>

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

// [doc-sample events-print]
// Prints each event on one line. Events arrive on the client's strand one at a time, so this
// needs no lock. A production observer copies the fields it needs and returns at once.
class print_events : public roundtrip::observer {
public:
    void on_event(const roundtrip::event& e) noexcept override
    {
        const std::string line = "call " + std::to_string(e.call) + " attempt " + std::to_string(e.attempt) +
                                 " conn " + std::to_string(e.conn) + "  " + roundtrip::describe(e);
        std::puts(line.c_str());
    }
};
// [end doc-sample]

// [doc-sample events-scoped]
// Counts the attempts beneath one middleware that had to open a new connection.
struct new_conn_counter : roundtrip::observer {
    int opened = 0; // only touched on the client's strand
    void on_event(const roundtrip::event& e) noexcept override
    {
        if (auto g = std::get_if<roundtrip::got_conn>(&e.data); g && !g->reused)
            ++opened;
    }
};

roundtrip::layer report_new_conns = [](roundtrip::request req, roundtrip::next next)
    -> roundtrip::asio::awaitable<roundtrip::result> {
    auto counter = std::make_shared<new_conn_counter>();
    req.observe(counter); // this call's attempts beneath this layer, and nothing else
    roundtrip::result r = co_await next(std::move(req));
    if (r) // the whole call is over: every got_conn has been delivered
        r.response.headers.set("X-New-Connections", std::to_string(counter->opened));
    co_return r;
};
// [end doc-sample]

// [doc-sample events-attempt-headers]
// Gives each attempt its own header value: a retry beneath this layer gets "1.2", "1.3", ...
struct stamp_attempt : roundtrip::observer {
    void on_event(const roundtrip::event&) noexcept override {}
    void on_attempt_headers(roundtrip::attempt_id id, roundtrip::header_fields& headers) noexcept override
    {
        headers.set("X-Attempt", std::to_string(id.call) + "." + std::to_string(id.attempt));
    }
};

roundtrip::layer stamp_attempts = [](roundtrip::request req, roundtrip::next next)
    -> roundtrip::asio::awaitable<roundtrip::result> {
    req.observe(std::make_shared<stamp_attempt>(), roundtrip::observer_hooks::events_and_headers);
    co_return co_await next(std::move(req));
};
// [end doc-sample]

// The names of one call's events, space-separated.
std::string names_of_call(const roundtrip::testing::recorder& events, std::uint64_t call)
{
    std::string out;
    for (const auto& r : events.events())
        if (r.e.call == call)
            out += (out.empty() ? "" : " ") + r.name;
    return out;
}

} // namespace

using doc_sample::expect;

int main()
{
    // A local server that echoes the X-Attempt header it received.
    roundtrip::testing::test_server server([](const roundtrip::testing::server_request& req, roundtrip::testing::exchange& ex) {
        ex.reply(200, std::string(req.headers["X-Attempt"]));
    });
    const std::string url = server.url("/");

    {
        // [doc-sample events-client-observer]
        roundtrip::client client(roundtrip::client_options{.observers = {std::make_shared<print_events>()}});
        client.send({"GET", url}); // a new connection: get_conn, connect_start, connect_done, got_conn, ...
        client.send({"GET", url}); // the pooled one: get_conn, got_conn reused=true, ...
        // [end doc-sample]
    }

    // The order the page states, on a new and on a reused connection to an IP literal (no dns_*).
    {
        auto events = std::make_shared<roundtrip::testing::recorder>();
        roundtrip::client client(roundtrip::client_options{.observers = {events}});
        client.send({"GET", url});
        client.send({"GET", url});
        expect(names_of_call(*events, 1) == "call_start get_conn connect_start connect_done got_conn wrote_headers wrote_request "
                        "got_first_response_byte response_headers response_body_done put_idle_conn attempt_done call_done",
               "the events of a call on a new connection");
        expect(names_of_call(*events, 2) == "call_start get_conn got_conn wrote_headers wrote_request got_first_response_byte "
                         "response_headers response_body_done put_idle_conn attempt_done call_done",
               "the events of a call on a reused connection");
        for (const auto& r : events->events()) {
            const bool per_call = r.name == "call_start" || r.name == "call_done";
            expect(r.e.attempt == (per_call ? 0u : 1u), "call events have attempt 0, attempt events attempt 1");
            expect((r.e.conn == 0) == (per_call || r.name == "get_conn"), "conn is 0 only for call events and get_conn");
        }
        // The pooled connection's close, after the calls, belongs to no call.
        client.close_idle();
        expect(roundtrip::testing::eventually([&] { return events->first<roundtrip::conn_closed>() != nullptr; }),
               "close_idle() closes the idle connection");
        expect(events->events().back().e.call == 0 && events->events().back().e.attempt == 0,
               "an idle connection's conn_closed has call 0 and attempt 0");
    }

    // A refused connect stops where it failed; an invalid URL makes no attempt at all.
    {
        auto events = std::make_shared<roundtrip::testing::recorder>();
        roundtrip::client client(roundtrip::client_options{.observers = {events}});
        client.round_trip({"GET", "http://127.0.0.1:" + std::to_string(roundtrip::testing::refused_port()) + "/"});
        client.round_trip({"GET", "http://bad host/"});
        expect(names_of_call(*events, 1) == "call_start get_conn connect_start connect_done attempt_done call_done",
               "the events of a refused connect");
        expect(names_of_call(*events, 2) == "call_start call_done", "an invalid URL has no attempt events");
    }

    // A host name adds dns_start and dns_done before the connect.
    {
        auto events = std::make_shared<roundtrip::testing::recorder>();
        roundtrip::client_options options{.observers = {events}};
        options.transport.dial.resolver = std::make_shared<roundtrip::static_resolver>(
            std::map<std::string, std::vector<roundtrip::asio::ip::address>, std::less<>>{
                {"docs.test", {roundtrip::asio::ip::make_address("127.0.0.1")}}});
        roundtrip::client client(std::move(options));
        client.send({"GET", "http://docs.test:" + std::to_string(server.port()) + "/"});
        expect(events->names(1).starts_with("get_conn dns_start dns_done connect_start connect_done got_conn"),
               "a host name is looked up before the connect");
    }

    // The scoped observer: a new connection for the first call, none for the second.
    {
        roundtrip::client client(roundtrip::client_options{.middleware = {report_new_conns}});
        const auto first = client.send({"GET", url});
        const auto second = client.send({"GET", url});
        expect(first.headers["X-New-Connections"] == "1", "the first call opened a connection");
        expect(second.headers["X-New-Connections"] == "0", "the second call reused it");
    }

    // The header hook stamps each attempt; here a middleware above it makes two.
    {
        roundtrip::layer twice = [](roundtrip::request req, roundtrip::next next)
            -> roundtrip::asio::awaitable<roundtrip::result> {
            roundtrip::request copy = req;
            co_await next(std::move(req));
            co_return co_await next(std::move(copy));
        };
        roundtrip::client client(roundtrip::client_options{.middleware = {twice, stamp_attempts}});
        expect(client.send({"GET", url}).body == "1.2", "the second attempt of call 1 is stamped 1.2");
    }

    return doc_sample::verdict("docs/events.md");
}
