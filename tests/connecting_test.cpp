// How a dial connects: through a Unix-domain socket (pooled apart), with
// TCP keep-alive on by default (Go's 15 s / 15 s / 9), from a chosen local address, and with a hook
// that sets socket options of the caller's own before the connect.
#include "pool_keys.hpp"
#include "unix_server.hpp"

#include <roundtrip/client.hpp>
#include <roundtrip/error.hpp>
#include <roundtrip/testing/recorder.hpp>
#include <roundtrip/testing/test_server.hpp>

#include <doctest/doctest.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

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
