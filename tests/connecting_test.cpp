// How a dial connects: through a Unix-domain socket (pooled apart), with
// TCP keep-alive on by default (Go's 15 s / 15 s / 9), from a chosen local address, with a hook
// that sets socket options of the caller's own before the connect, and through a connect step of the
// caller's own.
#include "pool_keys.hpp"
#include "socks5_server.hpp"
#include "unix_server.hpp"

#include <roundtrip/client.hpp>
#include <roundtrip/error.hpp>
#include <roundtrip/testing/recorder.hpp>
#include <roundtrip/testing/test_server.hpp>
#include <roundtrip/testing/wait.hpp>

#include <boost/asio/local/stream_protocol.hpp>

#include <doctest/doctest.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <optional>
#include <thread>

using namespace roundtrip;
using namespace std::chrono_literals;

namespace {

struct keep_alive_seen {
    int enabled = -1, idle = -1, interval = -1, count = -1;
};

// Reads the keep-alive options back from the socket, as the kernel holds them.
keep_alive_seen read_keep_alive(stream_socket& s)
{
    keep_alive_seen seen;
    auto get = [&](int level, int name, int& out) {
        socklen_t size = sizeof out;
        ::getsockopt(s.native_handle(), level, name, &out, &size);
    };
    get(SOL_SOCKET, SO_KEEPALIVE, seen.enabled);
    get(IPPROTO_TCP, TCP_KEEPIDLE, seen.idle);
    get(IPPROTO_TCP, TCP_KEEPINTVL, seen.interval);
    get(IPPROTO_TCP, TCP_KEEPCNT, seen.count);
    return seen;
}

} // namespace

TEST_CASE("a client with a Unix socket sends every request through it, Host from the URL, pooled apart")
{
    testing::unix_server server("client");
    auto events = std::make_shared<testing::recorder>();
    client_options options{.observers = {events}};
    options.transport.dial.unix_socket = server.path();
    client c(std::move(options));

    response first = c.send(request("GET", "http://sidecar.local/health"));
    CHECK(first.status == 200);
    CHECK(first.body == server.path() + " sidecar.local");
    CHECK(c.send(request("GET", "http://sidecar.local/again")).status == 200);
    CHECK(server.connections() == 1); // kept alive and reused
    CHECK(testing::has_key_containing(c.stats(), "http://sidecar.local:80#unix:" + server.path()));
    // No lookup for a Unix socket; the connect events name its path instead of an address.
    CHECK(events->names().starts_with("call_start get_conn connect_start connect_done got_conn"));
    CHECK(events->describe_first("connect_start") == "connect_start unix_socket=" + server.path());
    CHECK(events->describe_first("connect_done").starts_with("connect_done unix_socket=" + server.path() + " error=none"));
}

TEST_CASE("a Unix socket path nobody listens on fails with connection_refused, the system's code on the event; "
          "one too long to address is invalid_config")
{
    auto events = std::make_shared<testing::recorder>();
    client_options options{.observers = {events}};
    options.transport.dial.unix_socket = "/nonexistent/roundtrip-test.sock";
    client c(std::move(options));
    result r = c.round_trip(request("GET", "http://sidecar.local/"));
    CHECK(r.error == error::connection_refused);
    const connect_done* done = events->first<connect_done>();
    REQUIRE(done);
    CHECK(done->error == boost::system::errc::no_such_file_or_directory);

    client_options long_path;
    long_path.transport.dial.unix_socket = "/tmp/" + std::string(200, 'x');
    client too_long(std::move(long_path));
    CHECK(too_long.round_trip(request("GET", "http://sidecar.local/")).error == error::invalid_config);
}

TEST_CASE("TCP keep-alive is on by default with Go's 15 s idle, 15 s interval and 9 probes; it can be tuned or turned off")
{
    testing::test_server server;
    keep_alive_seen seen;
    client_options options;
    options.transport.dial.prepare_socket = [&](stream_socket& s, error_code&) { seen = read_keep_alive(s); };

    SUBCASE("default")
    {
        client c(options);
        CHECK(c.send(request("GET", server.url())).status == 200);
        CHECK(seen.enabled == 1);
        CHECK(seen.idle == 15);
        CHECK(seen.interval == 15);
        CHECK(seen.count == 9);
    }
    SUBCASE("tuned, in whole seconds rounded up")
    {
        options.transport.dial.keep_alive = {.enabled = true, .idle = 30s, .interval = 1500ms, .count = 3};
        client c(options);
        CHECK(c.send(request("GET", server.url())).status == 200);
        CHECK(seen.idle == 30);
        CHECK(seen.interval == 2);
        CHECK(seen.count == 3);
    }
    SUBCASE("off")
    {
        options.transport.dial.keep_alive.enabled = false;
        client c(options);
        CHECK(c.send(request("GET", server.url())).status == 200);
        CHECK(seen.enabled == 0);
    }
}

TEST_CASE("connections are made from the local address asked for")
{
    testing::test_server server;
    auto events = std::make_shared<testing::recorder>();
    client_options options{.observers = {events}};
    options.transport.dial.local_address = asio::ip::make_address("127.0.0.2");
    client c(std::move(options));
    CHECK(c.send(request("GET", server.url())).status == 200);
    const got_conn* got = events->first<got_conn>();
    REQUIRE(got);
    CHECK(got->local.address() == asio::ip::make_address("127.0.0.2"));
}

TEST_CASE("an error from prepare_socket fails that connect with it; so does an exception")
{
    testing::test_server server;
    auto events = std::make_shared<testing::recorder>();
    client_options options{.observers = {events}};
    int calls = 0;
    bool throws = false;
    options.transport.dial.prepare_socket = [&](stream_socket&, error_code& ec) {
        ++calls;
        if (throws)
            throw std::runtime_error("a hook that throws");
        ec = make_error_code(boost::system::errc::permission_denied);
    };
    client c(std::move(options));
    result r = c.round_trip(request("GET", server.url()));
    CHECK(r.error);
    CHECK(calls == 1);
    CHECK(server.connections() == 0);
    const connect_done* done = events->first<connect_done>();
    REQUIRE(done);
    CHECK(done->error == boost::system::errc::permission_denied);

    throws = true; // does not escape into the client's event loop: the connect fails
    CHECK(c.round_trip(request("GET", server.url())).error);
    CHECK(calls == 2);
}

namespace {

// A connect step that reaches every host through one Unix-domain socket, remembering what it was
// asked. It completes from the socket's own async_connect, on the transport's executor.
struct unix_step {
    std::string path;
    std::shared_ptr<std::vector<std::string>> asked = std::make_shared<std::vector<std::string>>();

    void operator()(const connect_target& t, connect_handler done) const
    {
        asked->push_back(std::string(t.key) + " " + std::string(t.host) + ":" + std::to_string(t.port)
                         + (t.via ? " via " + t.via->where() : "") + " for " + std::string(t.server_host));
        auto s = std::make_shared<asio::local::stream_protocol::socket>(t.ex);
        s->async_connect(asio::local::stream_protocol::endpoint(path), [s, done = std::move(done)](error_code ec) mutable {
            std::move(done)(ec, stream_socket(std::move(*s)));
        });
    }
};

} // namespace

TEST_CASE("a connect step of one's own reaches the next hop; its socket is pooled under the request's key")
{
    testing::unix_server server("step");
    auto events = std::make_shared<testing::recorder>();
    client_options options{.observers = {events}};
    unix_step step{server.path()};
    options.transport.dial.connect = step;
    client c(std::move(options));
    response r = c.send(request("GET", "http://sidecar.local/health"));
    CHECK(r.status == 200);
    CHECK(r.body == server.path() + " sidecar.local");
    CHECK(c.send(request("GET", "http://sidecar.local/again")).status == 200);
    CHECK(server.connections() == 1); // reused
    REQUIRE(step.asked->size() == 1);
    CHECK(step.asked->front() == "http://sidecar.local:80 sidecar.local:80 for sidecar.local");
    // No lookup: the step does its own. Its connect_done names where the socket is connected.
    CHECK(events->names().starts_with("call_start get_conn connect_start connect_done got_conn"));
    CHECK(events->describe_first("connect_done").starts_with("connect_done unix_socket=" + server.path() + " error=none"));
}

TEST_CASE("a connect step's error fails the dial, and so does an exception; a socket it never opened is invalid_config")
{
    auto events = std::make_shared<testing::recorder>();
    client_options options{.observers = {events}};
    int mode = 0;
    options.transport.dial.connect = [&](const connect_target& t, connect_handler done) {
        if (mode == 1)
            throw std::runtime_error("a step that throws");
        if (mode == 2)
            return std::move(done)(error_code(), stream_socket(t.ex));
        std::move(done)(make_error_code(boost::system::errc::permission_denied), stream_socket(t.ex));
    };
    client c(std::move(options));
    CHECK(c.round_trip(request("GET", "http://svc.test/")).error); // in roundtrip's category, as any system error
    REQUIRE(events->first<connect_done>());
    CHECK(events->first<connect_done>()->error == boost::system::errc::permission_denied);
    mode = 1;
    CHECK(c.round_trip(request("GET", "http://svc.test/")).error);
    mode = 2;
    CHECK(c.round_trip(request("GET", "http://svc.test/")).error == error::invalid_config);
}

TEST_CASE("a connect step that does not answer in time is told to stop, the dial fails at once, and a late socket is closed")
{
    // The late socket's own context: it outlives the client, whose thread closes that socket.
    asio::io_context io;
    client_options options;
    options.transport.timeouts.connect = 100ms;
    auto told = std::make_shared<std::atomic<bool>>(false);
    auto late = std::make_shared<std::optional<connect_handler>>();
    options.transport.dial.connect = [told, late](const connect_target&, connect_handler done) {
        auto slot = asio::get_associated_cancellation_slot(done);
        REQUIRE(slot.is_connected());
        slot.assign([told](asio::cancellation_type) { *told = true; }); // and it keeps going regardless
        late->emplace(std::move(done));
    };
    client c(std::move(options));
    CHECK(c.round_trip(request("GET", "http://svc.test/")).error == error::connect_timeout);
    CHECK(*told);

    // Handed over after the dial gave up, from another thread: closed (its peer sees the end), never pooled.
    int pair[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0);
    stream_socket handed(io, asio::generic::stream_protocol(AF_UNIX, 0), pair[0]);
    std::thread([&] { std::move(**late)(error_code(), std::move(handed)); }).join();
    CHECK(testing::eventually([&] {
        char byte;
        return ::recv(pair[1], &byte, 1, MSG_DONTWAIT) == 0;
    }));
    ::close(pair[1]);
    CHECK(c.stats().opened == 0);
}

TEST_CASE("through a proxy, a connect step is asked for the proxy, and roundtrip opens the tunnel over its socket")
{
    testing::socks5_server socks;
    testing::test_server server;
    std::vector<std::string> asked;
    client_options options;
    proxy p;
    REQUIRE_FALSE(proxy::parse(socks.url("socks5h"), p));
    options.transport.dial.proxy = proxy_for_all(p);
    options.transport.dial.connect = [&](const connect_target& t, connect_handler done) {
        asked.push_back(std::string(t.host) + ":" + std::to_string(t.port) + (t.via ? " via " + t.via->where() : "")
                        + " for " + std::string(t.server_host) + ":" + std::to_string(t.server_port));
        auto s = std::make_shared<asio::ip::tcp::socket>(t.ex);
        s->async_connect({asio::ip::make_address(std::string(t.host)), t.port}, [s, done = std::move(done)](error_code ec) mutable {
            std::move(done)(ec, stream_socket(std::move(*s)));
        });
    };
    client c(std::move(options));
    const std::string url = "http://localhost:" + std::to_string(server.port()) + "/";
    CHECK(c.send(request("GET", url)).status == 200);
    REQUIRE(asked.size() == 1);
    CHECK(asked.front() == "127.0.0.1:" + std::to_string(socks.port()) + " via " + socks.url("socks5h") + " for localhost:"
                               + std::to_string(server.port()));
    CHECK(socks.tunnels() == 1);
}
