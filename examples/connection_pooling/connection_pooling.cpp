// The connection-pooling demo: what a connection costs and how the pool saves it, seen through
// roundtrip's lifecycle events, the way Go's net/http/httptrace shows it with GotConn.
//
// It starts a local HTTP server and sends requests to it by name ("localhost"), printing the events
// that tell the story: the name lookup and the connect of a new connection; `got_conn` with `reused`,
// `was_idle` and how long the connection sat idle; what became of the connection afterwards
// (`put_idle_conn`, or `conn_not_pooled` with the reason); and `conn_closed` with its reason. Then
// the same over HTTPS, where a pooled connection saves a TLS handshake too, and a new one resumes
// the last one's TLS session.

#include "connection_pooling.hpp"
#include <roundtrip/testing/test_certs.hpp>  // a throwaway CA and server certificate, made at startup
#include <roundtrip/testing/test_server.hpp> // the local server; tests use the same one

#include <roundtrip/client.hpp>
#include <roundtrip/events.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

namespace {

using namespace std::chrono_literals;

// An observer that prints the events of the story on one line each. The client delivers events on
// its own thread, one at a time, so printing needs no lock here.
class printer : public roundtrip::observer {
public:
    void on_event(const roundtrip::event& e) noexcept override
    {
        const auto n = roundtrip::name(e);
        // Every event is there; these are the ones this story is about.
        static constexpr std::string_view shown[] = {"dns_done",      "connect_done",    "tls_handshake_done",
                                                     "got_conn",      "put_idle_conn",   "conn_not_pooled",
                                                     "conn_closed"};
        if (std::find(std::begin(shown), std::end(shown), n) == std::end(shown))
            return;
        const auto ms = std::chrono::duration_cast<std::chrono::microseconds>(e.at - started_).count() / 1000.0;
        std::printf("  %8.1f ms  conn %llu  %s\n", ms, static_cast<unsigned long long>(e.conn),
                    roundtrip::describe(e).c_str());
    }

private:
    roundtrip::clock::time_point started_ = roundtrip::clock::now();
};

} // namespace

int connection_pooling_demo()
{
    // 1. A local server on 127.0.0.1 and a free port. It answers "hello", except on /bye, where it
    //    answers and then closes the connection, as a server going away does.
    roundtrip::testing::test_server server([](const roundtrip::testing::server_request& req, roundtrip::testing::exchange& ex) {
        if (req.target == "/bye")
            ex.close();
        ex.reply(200, "hello");
    });
    const std::string base = "http://localhost:" + std::to_string(server.port());

    // 2. A client on a thread of its own, with the printer observing every event. Idle connections
    //    are closed after 300 ms here, so the demo can show it (the default is 90 s).
    auto events = std::make_shared<printer>();
    roundtrip::client_options options{.observers = {events}};
    options.transport.pool.idle_timeout = 300ms;
    //    For the HTTPS part it trusts the demo's own CA instead of the system's.
    options.transport.tls.ca_pem = roundtrip::testing::pki().ca_cert;
    roundtrip::client client(std::move(options));

    auto send = [&](const char* title, roundtrip::request req) {
        std::printf("%s\n  GET %s\n", title, req.url.c_str());
        roundtrip::error_code ec;
        roundtrip::response resp = client.send(std::move(req), ec);
        if (ec)
            std::printf("  failed: %s\n", ec.message().c_str());
        return !ec;
    };
    auto get = [&](const char* title, const std::string& path) {
        return send(title, roundtrip::request("GET", base + path));
    };

    bool ok = true;
    // 3. The first request pays for everything: name lookup, connect. Then the connection is pooled.
    ok &= get("1. A first request: look up the name, connect, then pool the connection", "/");
    // 4. The next ones take it from the pool: reused, idle for as long as we paused.
    std::this_thread::sleep_for(50ms);
    ok &= get("\n2. After a 50 ms pause: the same connection, idle for 50 ms", "/");
    ok &= get("\n3. At once: the same connection again", "/");
    // 5. The server says it will close: the connection is not pooled, and the next request dials.
    ok &= get("\n4. The server answers with Connection: close: not pooled, closed", "/bye");
    ok &= get("\n5. So the next request dials a new connection", "/");
    // 6. Nobody uses the connection for longer than the idle timeout: the pool closes it.
    std::printf("\n6. Idle for longer than the idle timeout (300 ms): the pool closes it\n");
    std::this_thread::sleep_for(400ms);
    ok &= get("\n7. And the next request dials again", "/");
    // 7. A response body streamed to the caller and dropped unread cannot be skipped cheaply: the
    //    connection is closed rather than pooled (and debug builds say so on stderr).
    roundtrip::request streamed("GET", base + "/");
    streamed.stream_response = true;
    ok &= send("\n8. A streamed response dropped without reading its body: not pooled, closed", std::move(streamed));
    std::this_thread::sleep_for(20ms); // the client decides the connection's fate on its own thread
    std::printf("\n%zu requests reached the HTTP server over %zu connections.\n", server.requests(),
                server.connections());

    // 8. HTTPS: a server with a certificate from a CA made at startup, which this client trusts.
    //    A new connection costs a TLS handshake on top of the connect; a pooled one costs neither;
    //    and a connection made while the server's session ticket is at hand resumes it (cheaper).
    roundtrip::testing::tls_options tls;
    tls.identity = roundtrip::testing::pki().server;
    roundtrip::testing::test_server secure(roundtrip::testing::reply_ok(), tls);
    const std::string secure_url = "https://localhost:" + std::to_string(secure.port()) + "/";
    ok &= send("\n9. HTTPS: connect, then a full TLS handshake", roundtrip::request("GET", secure_url));
    ok &= send("\n10. HTTPS again: the pooled connection, no handshake", roundtrip::request("GET", secure_url));
    roundtrip::request fresh("GET", secure_url);
    fresh.new_connection = true;
    ok &= send("\n11. A new HTTPS connection: the handshake resumes the first one's session", std::move(fresh));
    std::printf("\n%zu HTTPS requests over %zu connections: %zu TLS handshakes, %zu of them resumed.\n",
                secure.requests(), secure.connections(), secure.handshakes(), secure.resumed_handshakes());
    return ok ? 0 : 1;
}
