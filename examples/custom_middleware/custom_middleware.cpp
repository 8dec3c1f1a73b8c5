// A custom middleware, complete: a circuit breaker. After `threshold` calls in a row to a host fail
// to connect, it stops sending to that host for `cool_down` and answers at once with an error of its
// own. It learns why calls fail from the lifecycle events of its attempts (connect_done with an
// error, and no got_conn), not from the results alone: a 500 or a timeout after connecting does not
// open the circuit, since the host is reachable. docs/plugins.md walks through this file.

#include <roundtrip/testing/test_server.hpp> // the local server; tests use the same one

#include <roundtrip/client.hpp>
#include <roundtrip/error.hpp>


#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace breaker {

// 1. Errors are values in a category of the plugin's own; roundtrip::classify() calls them `other`.
enum class error { circuit_open = 1 };

const boost::system::error_category& category()
{
    struct impl : boost::system::error_category {
        const char* name() const noexcept override { return "circuit_breaker"; }
        std::string message(int) const override { return "circuit open: the host was unreachable"; }
    };
    static const impl instance;
    return instance;
}

roundtrip::error_code make_error_code(error e) { return {static_cast<int>(e), category()}; }

// 2. What the breaker knows about one host. Guarded by `state::mutex`: one breaker may serve clients
//    on several threads.
struct host_state {
    int failures_in_a_row = 0;
    roundtrip::clock::time_point open_until{};
};

struct state {
    state(int t, roundtrip::clock::duration c) : threshold(t), cool_down(c) {}
    int threshold;
    roundtrip::clock::duration cool_down;
    std::mutex mutex;
    std::map<std::string, host_state, std::less<>> hosts;
};

// 3. An observer of one call's attempts: did any attempt get a connection, did a connect fail?
//    Observers are fast and never block or throw: it only sets two flags.
struct connect_watch : roundtrip::observer {
    bool connected = false;
    bool connect_failed = false;
    void on_event(const roundtrip::event& e) noexcept override
    {
        if (std::holds_alternative<roundtrip::got_conn>(e.data))
            connected = true;
        if (auto done = std::get_if<roundtrip::connect_done>(&e.data); done && done->error)
            connect_failed = true;
    }
};

// 4. The middleware: a coroutine that takes the request and the rest of the chain.
roundtrip::layer circuit_breaker(int threshold, roundtrip::clock::duration cool_down)
{
    auto shared = std::make_shared<state>(threshold, cool_down);
    return [shared](roundtrip::request req, roundtrip::next next) -> roundtrip::asio::awaitable<roundtrip::result> {
        const std::optional<roundtrip::origin> where = roundtrip::origin_of(req);
        if (!where) // not ours to judge: the transport reports invalid URLs
            co_return co_await next(std::move(req));
        const std::string host = roundtrip::to_string(*where); // http and https of one host are apart

        {
            std::lock_guard lock(shared->mutex);
            if (roundtrip::clock::now() < shared->hosts[host].open_until) {
                roundtrip::result fail_fast; // never calls next: nothing is sent
                fail_fast.error = make_error_code(error::circuit_open);
                co_return fail_fast;
            }
        }

        auto watch = std::make_shared<connect_watch>();
        req.observe(watch); // sees every attempt beneath this middleware, retries included
        roundtrip::result r = co_await next(std::move(req));

        std::lock_guard lock(shared->mutex);
        host_state& h = shared->hosts[host];
        if (watch->connect_failed && !watch->connected) {
            if (++h.failures_in_a_row >= shared->threshold)
                h.open_until = roundtrip::clock::now() + shared->cool_down;
        } else {
            h.failures_in_a_row = 0;
        }
        co_return r;
    };
}

} // namespace breaker

template <>
struct boost::system::is_error_code_enum<breaker::error> : std::true_type {};

// 5. A demo that is also a test: it exits non-zero when the breaker misbehaves.
int main()
{
    const std::uint16_t dead_port = roundtrip::testing::refused_port();
    roundtrip::testing::test_server alive([](const roundtrip::testing::server_request&, roundtrip::testing::exchange& ex) {
        ex.reply(500, "reachable, but failing");
    });

    roundtrip::client client(roundtrip::client_options{
        .middleware = {breaker::circuit_breaker(/*threshold*/ 2, /*cool_down*/ std::chrono::seconds(30))}});
    const std::string dead = "http://127.0.0.1:" + std::to_string(dead_port) + "/";

    bool ok = true;
    auto expect = [&](bool condition, const char* what) {
        std::printf("%s %s\n", condition ? "ok  " : "FAIL", what);
        ok = ok && condition;
    };

    roundtrip::error_code ec;
    client.send(roundtrip::request("GET", dead), ec);
    expect(ec == roundtrip::condition::connection_refused, "1st call to a dead host: connection refused");
    client.send(roundtrip::request("GET", dead), ec);
    expect(ec == roundtrip::condition::connection_refused, "2nd call: refused again, the circuit opens");
    client.send(roundtrip::request("GET", dead), ec);
    expect(ec == breaker::error::circuit_open, "3rd call: answered by the breaker, nothing sent");
    expect(ec == roundtrip::condition::other, "   and its error is of class `other` to roundtrip");
    std::printf("     (%s)\n", ec.message().c_str());

    for (int i = 0; i < 3; ++i)
        expect(client.send(roundtrip::request("GET", alive.url()), ec).status == 500 && !ec,
               "a host that answers 500 is reachable: its circuit stays closed");
    expect(alive.requests() == 3, "all three reached it");
    return ok ? 0 : 1;
}
