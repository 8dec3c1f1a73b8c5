// The soak: 32 callers for SOAK_SECONDS (default 120) through one client with the retry middleware,
// against a plain and a TLS server that misbehave at random (close after the response, reset in the
// middle of the body, stall, stray bytes while idle, 503, a slow drip, an early close_notify).
// Every call must end in a response or a typed error by its deadline; a request that may not be
// sent twice never reaches the server twice; the pool is empty after close_idle(); memory at the end
// is within 10 % of memory after the first 10 s. Run by `./dev soak`, not by `./dev test`.
#include <roundtrip/testing/test_server.hpp>
#include <roundtrip/testing/wait.hpp>

#include <roundtrip/client.hpp>
#include <roundtrip/error.hpp>
#include <roundtrip/middleware/retry.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace roundtrip;
using namespace std::chrono_literals;

namespace {

constexpr int callers = 32;
constexpr auto call_timeout = 1s;
constexpr auto hang_allowance = 1s; // past its deadline, a call that has not ended hangs

std::chrono::seconds soak_time()
{
    const char* s = std::getenv("SOAK_SECONDS");
    return std::chrono::seconds(s ? std::atoi(s) : 120);
}

// Resident memory of this process, in KiB.
long rss_kib()
{
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind("VmRSS:", 0) == 0)
            return std::atol(line.c_str() + 6);
    return -1;
}

enum class fault { none, close_after, reset_mid_body, stall, stray_bytes_idle, unavailable, slow_drip, early_close, count };

// The server side: picks a fault per request and counts what arrived of each request that may not
// be sent twice (each carries a unique X-Request-Id).
struct misbehaving {
    std::mutex mutex;
    std::map<std::string, int> non_replayable_seen;
    std::array<std::atomic<long>, static_cast<int>(fault::count)> picked{};

    testing::handler handler(bool tls)
    {
        return [this, tls](const testing::server_request& req, testing::exchange& ex) {
            if (req.method == "POST") {
                std::lock_guard lock(mutex);
                ++non_replayable_seen[std::string(req.headers["X-Request-Id"])];
            }
            thread_local std::mt19937 random(std::random_device{}());
            auto f = static_cast<fault>(std::uniform_int_distribution<int>(0, 15)(random));
            if (f >= fault::count || (f == fault::early_close && !tls))
                f = fault::none; // most requests are answered well
            ++picked[static_cast<int>(f)];
            const std::string body(256, 'b');
            switch (f) {
            case fault::none: return ex.reply(200, body);
            case fault::close_after: ex.reply(200, body); return ex.close();
            case fault::reset_mid_body:
                ex.write_raw("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + std::string(100, 'p'));
                return ex.reset();
            case fault::stall: ex.sleep(1500ms); return ex.close(); // past the caller's deadline
            case fault::stray_bytes_idle:
                ex.reply(200, body);
                ex.sleep(20ms);
                return ex.write_raw("stray"); // arrives while the connection is idle in the pool
            case fault::unavailable: return ex.reply(503, "busy");
            case fault::slow_drip:
                ex.write_raw("HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n");
                for (int i = 0; i < 20; ++i) {
                    ex.sleep(5ms);
                    ex.write_raw("d");
                }
                return;
            case fault::early_close: // close_notify in the middle of the body
                ex.write_raw("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + std::string(10, 'e'));
                return ex.close();
            case fault::count: break;
            }
        };
    }
};

// What one caller saw.
struct tally {
    long responses = 0, errors = 0, untyped = 0, hangs = 0;
    std::map<std::string, long> by_class;
};

} // namespace

TEST_CASE("32 callers against misbehaving servers: typed outcomes, no hang, no resend, an empty pool, flat memory")
{
    misbehaving behaviour;
    testing::tls_options tls;
    tls.identity = testing::pki().server;
    testing::test_server plain(behaviour.handler(false));
    testing::test_server secure(behaviour.handler(true), tls);

    retry_options retries;
    retries.base_delay = 5ms;
    retries.max_delay = 50ms;
    retries.budget_min_retries = 1'000'000; // the soak is about the retry rules, not the budget
    client_options options;
    options.middleware = {retry(retries)};
    options.transport.tls.ca_pem = testing::pki().ca_cert;
    options.transport.pool.max_conns_per_host = 16; // some callers queue for a connection
    client c(std::move(options));

    const auto start = clock::now();
    const auto stop_at = start + soak_time();
    std::atomic<long> rss_at_10s = -1;
    std::atomic<std::uint64_t> next_id = 0;
    std::vector<tally> tallies(callers);
    std::vector<std::thread> threads;
    for (int i = 0; i < callers; ++i)
        threads.emplace_back([&, i] {
            tally& t = tallies[i];
            std::mt19937 random(static_cast<unsigned>(i));
            while (clock::now() < stop_at) {
                if (i == 0 && rss_at_10s < 0 && clock::now() - start >= 10s)
                    rss_at_10s = rss_kib();
                const bool post = random() % 3 == 0;
                request req(post ? "POST" : "GET", (random() % 2 ? plain : secure).url("/soak"));
                if (post) {
                    req.body = "order";
                    req.headers.set("X-Request-Id", std::to_string(++next_id));
                }
                req.timeout = call_timeout;
                const auto began = clock::now();
                result r = c.round_trip(std::move(req));
                if (clock::now() - began > call_timeout + hang_allowance)
                    ++t.hangs;
                if (!r.error) {
                    ++t.responses;
                    continue;
                }
                ++t.errors;
                const bool typed = std::string_view(r.error.category().name()) == "roundtrip"
                                   && classify(r.error) != condition::other;
                if (!typed)
                    ++t.untyped;
                ++t.by_class[std::string(to_string(classify(r.error)))];
            }
        });
    for (auto& t : threads)
        t.join();
    const long rss_end = rss_kib();

    tally all;
    for (const auto& t : tallies) {
        all.responses += t.responses, all.errors += t.errors, all.untyped += t.untyped, all.hangs += t.hangs;
        for (const auto& [k, v] : t.by_class)
            all.by_class[k] += v;
    }
    std::string classes;
    for (const auto& [k, v] : all.by_class)
        classes += " " + k + "=" + std::to_string(v);
    MESSAGE("calls: " << all.responses + all.errors << " responses: " << all.responses << " errors:" << classes);
    MESSAGE("RSS at 10 s: " << rss_at_10s.load() << " KiB, at the end: " << rss_end << " KiB");

    CHECK(all.responses > 0);
    CHECK(all.untyped == 0);
    CHECK(all.hangs == 0);
    for (int f = 0; f < static_cast<int>(fault::count); ++f)
        CHECK(behaviour.picked[f] > 0); // every misbehaviour was staged
    {
        std::lock_guard lock(behaviour.mutex);
        long resent = 0;
        for (const auto& [id, seen] : behaviour.non_replayable_seen)
            resent += seen > 1;
        CHECK(resent == 0);
    }
    c.close_idle();
    CHECK(testing::eventually([&] {
        const pool_stats s = c.stats();
        return s.open == 0 && s.idle == 0 && s.active == 0 && s.dialing == 0 && s.waiting == 0;
    }));
    if (soak_time() >= 20s) { // a shorter run is a smoke test: memory has not settled by 10 s
        REQUIRE(rss_at_10s > 0);
        CHECK(rss_end <= rss_at_10s * 11 / 10);
    }
}
