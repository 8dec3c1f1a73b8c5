// The transport's name lookups: one resolver call for a burst of dials to one name, answers reused
// from the cache and failures remembered for a moment, a withdrawn dial that leaves a shared lookup
// running, a fresh lookup when every cached address fails, and pinned names.
#include "scripted_resolver.hpp"

#include <roundtrip/client.hpp>
#include <roundtrip/error.hpp>
#include <roundtrip/name_pins.hpp>
#include <roundtrip/testing/recorder.hpp>
#include <roundtrip/testing/test_server.hpp>
#include <roundtrip/testing/wait.hpp>

#include <boost/asio/use_future.hpp>

#include <doctest/doctest.h>

#include <optional>
#include <thread>

using namespace roundtrip;
using namespace std::chrono_literals;

namespace {

const asio::ip::address loopback = asio::ip::make_address("127.0.0.1");

std::vector<dns_done> dns_answers(const testing::recorder& events)
{
    std::vector<dns_done> out;
    for (const auto& r : events.events())
        if (auto d = std::get_if<dns_done>(&r.e.data))
            out.push_back(*d); // its span is not kept: only the source and error are read
    return out;
}

std::size_t count(const std::vector<dns_done>& answers, dns_source source)
{
    return static_cast<std::size_t>(
        std::count_if(answers.begin(), answers.end(), [&](const dns_done& d) { return d.source == source; }));
}

std::string url(const char* host, const testing::test_server& server, const char* path = "/")
{
    return std::string("http://") + host + ":" + std::to_string(server.port()) + path;
}

} // namespace

TEST_CASE("a burst of 100 new connections to one name makes one lookup: one dial asks, 99 share it")
{
    testing::test_server server;
    auto names = std::make_shared<testing::scripted_resolver>();
    names->set("burst.test", {loopback});
    names->hold();
    auto events = std::make_shared<testing::recorder>();
    client_options options{.observers = {events}};
    options.transport.dial.resolver = names;
    client c(std::move(options));

    std::vector<std::future<response>> calls;
    for (int i = 0; i < 100; ++i)
        calls.push_back(c.async_send(request("GET", url("burst.test", server)), asio::use_future));
    REQUIRE(testing::eventually([&] {
        auto n = events->names();
        std::size_t starts = 0;
        for (auto at = n.find("dns_start"); at != std::string::npos; at = n.find("dns_start", at + 1))
            ++starts;
        return starts == 100;
    }));
    CHECK(names->lookups() == 1);
    names->release();
    for (auto& f : calls)
        CHECK(f.get().status == 200);
    CHECK(server.connections() == 100);
    CHECK(names->lookups() == 1);
    auto answers = dns_answers(*events);
    REQUIRE(answers.size() == 100);
    CHECK(count(answers, dns_source::lookup) == 1);
    CHECK(count(answers, dns_source::coalesced) == 99);
}

TEST_CASE("a later dial takes the cached answer; with a ttl of 0 it looks up again")
{
    testing::test_server server;
    auto names = std::make_shared<testing::scripted_resolver>();
    names->set("api.test", {loopback});
    auto events = std::make_shared<testing::recorder>();

    SUBCASE("cached")
    {
        client_options options{.observers = {events}};
        options.transport.dial.resolver = names;
        client c(std::move(options));
        CHECK(c.send(request("GET", url("api.test", server))).status == 200);
        request fresh("GET", url("API.test", server)); // names are compared without case
        fresh.new_connection = true;
        CHECK(c.send(std::move(fresh)).status == 200);
        CHECK(names->lookups() == 1);
        auto answers = dns_answers(*events);
        REQUIRE(answers.size() == 2);
        CHECK(answers[0].source == dns_source::lookup);
        CHECK(answers[1].source == dns_source::cache);
        CHECK(events->describe_first("dns_done").find("source=lookup") != std::string::npos);
    }
    SUBCASE("ttl 0")
    {
        client_options options{.observers = {events}};
        options.transport.dial.resolver = names;
        options.transport.dial.dns_cache.ttl = 0s;
        client c(std::move(options));
        CHECK(c.send(request("GET", url("api.test", server))).status == 200);
        request fresh("GET", url("api.test", server));
        fresh.new_connection = true;
        CHECK(c.send(std::move(fresh)).status == 200);
        CHECK(names->lookups() == 2);
        CHECK(count(dns_answers(*events), dns_source::lookup) == 2);
    }
}

TEST_CASE("a name that does not resolve is remembered for the failure ttl")
{
    auto names = std::make_shared<testing::scripted_resolver>();
    auto events = std::make_shared<testing::recorder>();
    client_options options{.observers = {events}};
    options.transport.dial.resolver = names;
    client c(std::move(options)); // failures kept for 1 s

    CHECK(c.round_trip(request("GET", "http://gone.test/")).error == error::host_not_found);
    CHECK(c.round_trip(request("GET", "http://gone.test/")).error == error::host_not_found);
    CHECK(names->lookups() == 1);
    auto answers = dns_answers(*events);
    REQUIRE(answers.size() == 2);
    CHECK(answers[1].source == dns_source::cache);
    CHECK(answers[1].error == error::host_not_found);

    std::this_thread::sleep_for(1100ms);
    CHECK(c.round_trip(request("GET", "http://gone.test/")).error == error::host_not_found);
    CHECK(names->lookups() == 2);
}

TEST_CASE("a dial that gives up leaves the lookup it shares running for the other; the last one cancels it")
{
    testing::test_server server;
    auto names = std::make_shared<testing::scripted_resolver>();
    names->set("shared.test", {loopback});
    names->hold();
    auto events = std::make_shared<testing::recorder>();
    client_options options{.observers = {events}};
    options.transport.dial.resolver = names;
    client c(std::move(options));

    auto waiting = c.async_send(request("GET", url("shared.test", server)), asio::use_future);
    REQUIRE(testing::eventually([&] { return names->held() == 1; })); // it started the lookup
    request impatient("GET", url("shared.test", server));
    impatient.timeout = 100ms;
    auto gives_up = c.async_round_trip(std::move(impatient), asio::use_future);
    CHECK(gives_up.get().error == error::deadline_exceeded);
    // The impatient dial has withdrawn (its dns_done is out), and the lookup is still held.
    REQUIRE(testing::eventually([&] { return dns_answers(*events).size() == 1; }));
    CHECK(dns_answers(*events)[0].source == dns_source::coalesced);
    CHECK(names->held() == 1);
    CHECK(names->cancelled() == 0);
    names->release();
    CHECK(waiting.get().status == 200);
    CHECK(names->lookups() == 1);

    // Alone on a lookup, a dial that gives up ends it: nobody else wants the answer.
    names->hold();
    request alone("GET", url("other.test", server));
    alone.timeout = 100ms;
    CHECK(c.round_trip(std::move(alone)).error == error::deadline_exceeded);
    CHECK(testing::eventually([&] { return names->cancelled() == 1; }));
    names->release();
}

TEST_CASE("a dial that fails on every cached address looks the name up again, once")
{
    std::optional<testing::test_server> first(std::in_place);
    const std::uint16_t port = first->port();
    auto names = std::make_shared<testing::scripted_resolver>();
    names->set("moving.test", {loopback});
    auto events = std::make_shared<testing::recorder>();
    client_options options{.observers = {events}};
    options.transport.dial.resolver = names;
    client c(std::move(options));
    const std::string where = "http://moving.test:" + std::to_string(port) + "/";
    CHECK(c.send(request("GET", where)).status == 200);
    first.reset(); // stop() alone would leave its socket listening
    c.close_idle();

    // The service moves to 127.0.0.2 on the same port; the cache still says 127.0.0.1, which refuses.
    std::optional<testing::test_server> moved(std::in_place, testing::reply_ok(), "127.0.0.2", port);
    names->set("moving.test", {asio::ip::make_address("127.0.0.2")});
    result r = c.round_trip(request("GET", where));
    REQUIRE_FALSE(r.error);
    CHECK(names->lookups() == 2);
    CHECK(events->names().find("call_start get_conn dns_start dns_done connect_start connect_done dns_start dns_done "
                               "connect_start connect_done got_conn")
          != std::string::npos);
    auto answers = dns_answers(*events);
    REQUIRE(answers.size() == 3);
    CHECK(answers[1].source == dns_source::cache);
    CHECK(answers[2].source == dns_source::lookup);

    // Once only: when the fresh answer fails too, the dial fails.
    moved.reset(); // stop() alone would leave its socket listening
    c.close_idle();
    r = c.round_trip(request("GET", where));
    CHECK(r.error == error::connection_refused);
    CHECK(names->lookups() == 3);
}

TEST_CASE("a pinned name connects to its pinned addresses without a lookup; a pin can change")
{
    testing::test_server blue;
    testing::test_server green(testing::reply_ok(), "127.0.0.2");
    auto names = std::make_shared<testing::scripted_resolver>();
    auto pins = std::make_shared<name_pins>();
    pins->pin("svc.test", blue.port(), {loopback});
    pins->pin("svc.test", 0, {asio::ip::make_address("127.0.0.2")}); // every other port
    auto events = std::make_shared<testing::recorder>();
    client_options options{.observers = {events}};
    options.transport.dial.resolver = names;
    options.transport.dial.pins = pins;
    client c(std::move(options));

    CHECK(c.send(request("GET", url("svc.test", blue))).status == 200);
    CHECK(blue.requests() == 1);
    CHECK(c.send(request("GET", url("SVC.test", green))).status == 200);
    CHECK(green.requests() == 1);
    auto answers = dns_answers(*events);
    REQUIRE(answers.size() == 2);
    CHECK(answers[0].source == dns_source::pinned);
    CHECK(answers[1].source == dns_source::pinned);
    CHECK(names->lookups() == 0);

    // Switch blue's port to 127.0.0.2 (where nothing listens on it): new dials follow the pin.
    pins->pin("svc.test", blue.port(), {});
    CHECK(pins->find("svc.test", blue.port()) == std::vector{asio::ip::make_address("127.0.0.2")});
    c.close_idle();
    CHECK(c.round_trip(request("GET", url("svc.test", blue))).error == error::connection_refused);
    CHECK(names->lookups() == 0);
}
