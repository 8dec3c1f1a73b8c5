// The resolvers: the system resolver looks up concurrently and abandons on cancellation; the static
// resolver answers from its table. And the transport's use of them: DNS events, IP literals, and
// RFC 8305 fallback from an address that refuses to one that answers.
#include <roundtrip/testing/recorder.hpp>
#include "silent_peer.hpp"
#include <roundtrip/testing/test_server.hpp>

#include <roundtrip/client.hpp>
#include <roundtrip/error.hpp>
#include <roundtrip/resolver.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>

#include <doctest/doctest.h>

using namespace roundtrip;
using namespace std::chrono_literals;

TEST_CASE("the system resolver finds localhost")
{
    asio::io_context io;
    system_resolver names(2);
    error_code ec = error::canceled;
    std::vector<endpoint> found;
    names.async_resolve("localhost", 8080, asio::bind_executor(io, [&](error_code e, std::vector<endpoint> f) {
                            ec = e;
                            found = std::move(f);
                        }));
    io.run_for(10s); // the pending lookup keeps run() going until it completes
    REQUIRE_FALSE(ec);
    REQUIRE_FALSE(found.empty());
    for (const auto& e : found) {
        CHECK(e.address().is_loopback());
        CHECK(e.port() == 8080);
    }
}

TEST_CASE("the system resolver reports a name that cannot exist as a dns failure")
{
    asio::io_context io;
    system_resolver names(1);
    error_code ec;
    names.async_resolve("no-such-host.invalid", 80,
                        asio::bind_executor(io, [&](error_code e, std::vector<endpoint>) { ec = e; }));
    io.run_for(20s);
    CHECK(ec == condition::dns_failure);
}

TEST_CASE("a cancelled lookup completes at once with canceled, and its late answer is dropped")
{
    // The lookup runs on the resolver's own thread and may finish before the cancel arrives (a slow
    // machine, ThreadSanitizer): then it completes with its answer. Either way it completes once.
    int canceled = 0;
    for (int round = 0; round < 20 && canceled < 3; ++round) {
        asio::io_context io;
        system_resolver names(1);
        asio::cancellation_signal cancel;
        int completions = 0;
        error_code ec;
        names.async_resolve("localhost", 80,
                            asio::bind_cancellation_slot(cancel.slot(), asio::bind_executor(io, [&](error_code e, std::vector<endpoint>) {
                                                             ++completions;
                                                             ec = e;
                                                         })));
        cancel.emit(asio::cancellation_type::terminal);
        io.run_for(5s);
        CHECK(completions == 1);
        CHECK((ec == error::canceled || !ec));
        canceled += ec == error::canceled;
    }
    CHECK(canceled > 0);
}

TEST_CASE("the static resolver answers from its table and fails other names with host_not_found")
{
    asio::io_context io;
    static_resolver names({{"api.test", {asio::ip::make_address("127.0.0.1"), asio::ip::make_address("::1")}}});
    std::vector<endpoint> found;
    error_code missing;
    bool handler_ran_inline = true;
    names.async_resolve("api.test", 443,
                        asio::bind_executor(io, [&](error_code, std::vector<endpoint> f) { found = std::move(f); }));
    names.async_resolve("other.test", 443,
                        asio::bind_executor(io, [&](error_code e, std::vector<endpoint>) { missing = e; }));
    handler_ran_inline = !found.empty() || missing;
    io.run();
    CHECK_FALSE(handler_ran_inline);
    REQUIRE(found.size() == 2);
    CHECK(found[0] == endpoint(asio::ip::make_address("127.0.0.1"), 443));
    CHECK(found[1] == endpoint(asio::ip::make_address("::1"), 443));
    CHECK(missing == error::host_not_found);
}

TEST_CASE("a host name gets dns events; an IP literal gets none")
{
    testing::test_server server;
    auto events = std::make_shared<testing::recorder>();
    client_options options{.observers = {events}};
    options.transport.dial.resolver =
        std::make_shared<static_resolver>(std::map<std::string, std::vector<asio::ip::address>, std::less<>>{
            {"service.test", {asio::ip::make_address("127.0.0.1")}}});
    client c(std::move(options));

    CHECK(c.send(request("GET", "http://service.test:" + std::to_string(server.port()) + "/")).status == 200);
    CHECK(events->names().starts_with("call_start get_conn dns_start dns_done connect_start connect_done got_conn"));
    const auto* dns = events->first<dns_done>();
    REQUIRE(dns);
    CHECK_FALSE(dns->error);

    auto literal = std::make_shared<testing::recorder>();
    client plain(client_options{.observers = {literal}});
    CHECK(plain.send(request("GET", server.url())).status == 200);
    CHECK(literal->names().starts_with("call_start get_conn connect_start connect_done got_conn"));
}

TEST_CASE("a host with no address fails with dns_failure after a paired dns_start/dns_done")
{
    auto events = std::make_shared<testing::recorder>();
    client_options options{.observers = {events}};
    options.transport.dial.resolver = std::make_shared<static_resolver>(
        std::map<std::string, std::vector<asio::ip::address>, std::less<>>{});
    client c(std::move(options));
    result r = c.round_trip(request("GET", "http://nowhere.test/"));
    CHECK(r.error == error::host_not_found);
    CHECK(r.error == condition::dns_failure);
    CHECK(events->names() == "call_start get_conn dns_start dns_done attempt_done call_done");
}

TEST_CASE("an address that refuses hands over to the next one at once (RFC 8305)")
{
    testing::test_server server; // listens on 127.0.0.1 only: 127.0.0.2 on the same port refuses

    auto events = std::make_shared<testing::recorder>();
    client_options options{.observers = {events}};
    options.transport.dial.resolver =
        std::make_shared<static_resolver>(std::map<std::string, std::vector<asio::ip::address>, std::less<>>{
            {"two.test", {asio::ip::make_address("127.0.0.2"), asio::ip::make_address("127.0.0.1")}}});
    client c(std::move(options));
    result r = c.round_trip(request("GET", "http://two.test:" + std::to_string(server.port()) + "/"));
    REQUIRE_FALSE(r.error);
    CHECK(events->names()
          == "call_start get_conn dns_start dns_done connect_start connect_done connect_start connect_done got_conn "
             "wrote_headers wrote_request got_first_response_byte response_headers response_body_done "
             "put_idle_conn attempt_done call_done");
    std::vector<error_code> connects;
    for (const auto& rec : events->events())
        if (auto d = std::get_if<connect_done>(&rec.e.data))
            connects.push_back(d->error);
    REQUIRE(connects.size() == 2);
    CHECK(connects[0] == condition::connection_refused);
    CHECK_FALSE(connects[1]);
}

TEST_CASE("addresses are tried alternating families, whichever resolver gave them (RFC 8305, section 4)")
{
    testing::test_server server(testing::reply_ok(), "::1"); // 127.0.0.1 and 127.0.0.2 on its port refuse
    auto events = std::make_shared<testing::recorder>();
    client_options options{.observers = {events}};
    options.transport.dial.resolver =
        std::make_shared<static_resolver>(std::map<std::string, std::vector<asio::ip::address>, std::less<>>{
            {"mixed.test", {asio::ip::make_address("127.0.0.1"), asio::ip::make_address("127.0.0.2"),
                            asio::ip::make_address("::1")}}});
    client c(std::move(options));
    result r = c.round_trip(request("GET", "http://mixed.test:" + std::to_string(server.port()) + "/"));
    REQUIRE_FALSE(r.error);
    std::vector<std::string> tried;
    for (const auto& rec : events->events())
        if (rec.name == "connect_start")
            tried.push_back(rec.described.substr(rec.described.find("remote=") + 7));
    // The IPv6 address goes second, not after every IPv4 one; it answers, and nothing else is tried.
    CHECK(tried == std::vector<std::string>{"127.0.0.1:" + std::to_string(server.port()),
                                            "[::1]:" + std::to_string(server.port())});
}

TEST_CASE("an address that does not answer hands over to the next one after the fallback delay")
{
    testing::full_listener silent; // 127.0.0.1: SYNs are dropped, the connect just waits
    testing::test_server server(testing::reply_ok(), "127.0.0.2", silent.port());
    auto events = std::make_shared<testing::recorder>();
    client_options options{.observers = {events}};
    options.transport.dial.fallback_delay = std::chrono::milliseconds(50);
    options.transport.dial.resolver =
        std::make_shared<static_resolver>(std::map<std::string, std::vector<asio::ip::address>, std::less<>>{
            {"race.test", {asio::ip::make_address("127.0.0.1"), asio::ip::make_address("127.0.0.2")}}});
    client c(std::move(options));
    result r = c.round_trip(request("GET", "http://race.test:" + std::to_string(silent.port()) + "/"));
    REQUIRE_FALSE(r.error);
    CHECK(r.response.status == 200);
    // Both connects started; the silent one lost and reports canceled before got_conn.
    CHECK(events->names().starts_with(
        "call_start get_conn dns_start dns_done connect_start connect_start connect_done connect_done got_conn"));
    std::vector<std::pair<std::string, error_code>> connects;
    for (const auto& rec : events->events())
        if (auto d = std::get_if<connect_done>(&rec.e.data))
            connects.emplace_back(d->remote.address().to_string(), d->error);
    REQUIRE(connects.size() == 2);
    CHECK(connects[0].first == "127.0.0.2");
    CHECK_FALSE(connects[0].second);
    CHECK(connects[1].first == "127.0.0.1");
    CHECK(connects[1].second == error::canceled);
    CHECK(events->first<got_conn>()->remote.address().to_string() == "127.0.0.2");
}
