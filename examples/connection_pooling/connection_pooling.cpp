// The connection-pooling demo: what it costs to get a connection, seen through roundtrip's lifecycle
// events, the way Go's net/http/httptrace shows it with GotConn.
//
// It starts a local HTTP server, then sends three requests to it by name ("localhost"), printing every
// event of every request. Each event is a moment in the request's life: the name lookup, the TCP
// connect, getting the connection (`got_conn`, with `reused` and `idle_us`), writing the request,
// the first response byte, and what became of the connection afterwards.
//
// Today each request resolves the name, connects, and closes its connection after one exchange
// (`conn_not_pooled reason=keep_alive_disabled`). Keep-alive pooling arrives with the pool, and this
// demo will then show the second and third requests reusing the first one's connection.

#include "test_server.hpp" // the local server; tests use the same one

#include <roundtrip/client.hpp>
#include <roundtrip/events.hpp>

#include <cstdio>
#include <memory>
#include <string>

namespace {

// An observer that prints each event on one line, with its time since the demo started. The client
// delivers events on its own thread, one at a time, so printing needs no lock here.
class printer : public roundtrip::observer {
public:
    void on_event(const roundtrip::event& e) noexcept override
    {
        if (std::holds_alternative<roundtrip::got_conn>(e.data) && !std::get<roundtrip::got_conn>(e.data).reused)
            ++connections_opened_;
        const auto since_start =
            std::chrono::duration_cast<std::chrono::microseconds>(e.at - started_).count() / 1000.0;
        std::printf("  %8.3f ms  call %llu  %s\n", since_start, static_cast<unsigned long long>(e.call),
                    roundtrip::describe(e).c_str());
    }

    int connections_opened() const { return connections_opened_; }

private:
    roundtrip::clock::time_point started_ = roundtrip::clock::now();
    int connections_opened_ = 0;
};

} // namespace

int main()
{
    // 1. A local server on 127.0.0.1 and a free port; it answers every request with "hello".
    roundtrip::test::test_server server(
        [](const roundtrip::test::server_request&, roundtrip::test::exchange& ex) { ex.reply(200, "hello"); });
    const std::string url = "http://localhost:" + std::to_string(server.port()) + "/hello";

    // 2. A client that runs on a thread of its own, with the printer observing every event.
    auto events = std::make_shared<printer>();
    roundtrip::client client(roundtrip::client_options{.observers = {events}});

    // 3. Three requests, one after the other. `send` blocks until the response is read.
    for (int i = 1; i <= 3; ++i) {
        std::printf("request %d: GET %s\n", i, url.c_str());
        roundtrip::error_code ec;
        roundtrip::response resp = client.send(roundtrip::request("GET", url), ec);
        if (ec) {
            std::printf("request %d failed: %s\n", i, ec.message().c_str());
            return 1;
        }
        std::printf("request %d: %u %s\n\n", i, resp.status, resp.body.c_str());
    }

    std::printf("3 requests, %d connections opened: each request paid for the lookup and the connect.\n",
                events->connections_opened());
    return 0;
}
