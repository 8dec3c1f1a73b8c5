// roundtrip-bench: a load generator that sends N GET requests through a full `roundtrip::client` with
// C concurrent workers and prints one JSON line: throughput, latency percentiles, connections opened
// and heap allocations per request. Its command line is shared with the other clients we compare
// against, so keep it exactly as it is:
//
//   roundtrip-bench --url URL --concurrency C --requests N [--new-conn] [--insecure] [--middleware NAME ...]
//
// One thread does all the work: it runs the io_context the client is built on, and the workers run
// on the client's own strand, so a completion resumes its worker inline instead of hopping between
// executors. The figures are the client's cost on one core; on a two-core machine the server gets
// the other.

#include "command_line.hpp"
#include "counting_new.hpp"

#include <roundtrip/middleware/headers.hpp>
#include <roundtrip/middleware/logging.hpp>
#include <roundtrip/middleware/retry.hpp>
#include <roundtrip/middleware/tracing.hpp>

#include <roundtrip/client.hpp>

#include <spdlog/logger.h>
#include <spdlog/sinks/null_sink.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using bench::usage_error;
namespace asio = roundtrip::asio;
using roundtrip::clock;

constexpr const char* program = "roundtrip-bench";

// Bounds that keep a typo from asking for a terabyte of latency samples or a million sockets.
constexpr std::uint64_t max_concurrency = 10'000;
constexpr std::uint64_t max_requests = 100'000'000;

// The warm-up fills the client's caches (coroutine frame recycling, buffers, later the pool)
// before anything is counted; its requests are not part of the figures.
constexpr std::uint64_t max_warmup_requests = 1000;

constexpr const char* usage_text =
    "usage: roundtrip-bench --url URL --concurrency C --requests N [--new-conn] [--insecure]\n"
    "                       [--middleware NAME ...]\n"
    "Sends N GET requests to URL through a roundtrip::client with C concurrent workers and prints\n"
    "one JSON line. --new-conn: a new connection for every request. --insecure: accept any TLS\n"
    "certificate (for https URLs; without it the system trust store, or SSL_CERT_FILE, decides).\n"
    "--middleware NAME adds a layer, outermost first; repeat to add\n"
    "more: noop, observe, headers, logging-off (level above info: formats nothing),\n"
    "logging-basic and logging-debug (to a null sink), retry, tracing (every call sampled, spans\n"
    "built and handed to an exporter that drops them) and tracing-unsampled (traceparent only).\n";

struct settings {
    std::string url;
    std::uint64_t concurrency = 0;
    std::uint64_t requests = 0;
    bool new_conn = false;
    // Skips certificate verification (`tls_options::insecure_skip_verify`), as curl's -k does.
    bool insecure = false;
    std::vector<std::string> middleware; // outermost first, as given
    bool help = false;
};

constexpr std::string_view known_middleware[] = {"noop",          "observe",       "headers", "logging-off",
                                                  "logging-basic", "logging-debug", "retry",   "tracing",
                                                  "tracing-unsampled"};

bool is_known_middleware(std::string_view name)
{
    return std::find(std::begin(known_middleware), std::end(known_middleware), name) != std::end(known_middleware);
}

std::uint64_t parse_count(std::string_view flag, std::string_view text, std::uint64_t max)
{
    return bench::parse_number(flag, text, 1, max);
}

settings parse_command_line(int argc, char** argv)
{
    settings s;
    for (bench::arguments args(argc, argv); args.next();) {
        const std::string_view flag = args.flag();
        const auto value = [&] { return args.value(); };
        if (flag == "--url")
            s.url = value();
        else if (flag == "--concurrency")
            s.concurrency = parse_count(flag, value(), max_concurrency);
        else if (flag == "--requests")
            s.requests = parse_count(flag, value(), max_requests);
        else if (flag == "--new-conn")
            s.new_conn = true;
        else if (flag == "--insecure")
            s.insecure = true;
        else if (flag == "--middleware") {
            const std::string_view name = value();
            if (!is_known_middleware(name))
                throw usage_error{"unknown middleware '" + std::string(name) + "' (see --help)"};
            s.middleware.emplace_back(name);
        } else if (flag == "--help" || flag == "-h") {
            s.help = true;
            return s;
        } else
            throw usage_error{"unknown option '" + std::string(flag) + "' (see --help)"};
    }
    if (s.url.empty())
        throw usage_error{"--url is required"};
    if (s.concurrency == 0)
        throw usage_error{"--concurrency is required"};
    if (s.requests == 0)
        throw usage_error{"--requests is required"};
    return s;
}

// Counts the connections the client opens: got_conn on a connection that served no request before.
// A client-wide observer, so it sees every attempt, a middleware's and the transport's retries too.
class conn_counter : public roundtrip::observer {
public:
    void on_event(const roundtrip::event& e) noexcept override
    {
        if (const auto* got = std::get_if<roundtrip::got_conn>(&e.data); got && !got->reused)
            ++opened_;
    }
    std::uint64_t opened() const noexcept { return opened_; }

private:
    std::uint64_t opened_ = 0; // only touched on the client's strand
};

// Counts every event it is given. The count itself is not reported: what `--middleware observe`
// measures is what a scoped observer costs each request.
class event_counter : public roundtrip::observer {
public:
    void on_event(const roundtrip::event&) noexcept override { ++events_; }

private:
    std::uint64_t events_ = 0; // only touched on the client's strand
};

// Takes every span and keeps none: what `--middleware tracing` measures is building the spans.
class discarding_exporter : public roundtrip::span_exporter {
public:
    void export_span(roundtrip::span) noexcept override { ++spans_; }

private:
    std::uint64_t spans_ = 0; // only touched on the client's strand
};

roundtrip::layer make_layer(std::string_view name)
{
    using roundtrip::next;
    using roundtrip::request;
    using roundtrip::result;
    if (name == "noop")
        return [](request req, next next) -> asio::awaitable<result> { co_return co_await next(std::move(req)); };
    if (name == "headers")
        return roundtrip::headers(roundtrip::header_rules{}.set("X-Bench", "1").add("Accept", "*/*"));
    if (name == "retry")
        return roundtrip::retry(); // the bench server never fails: what a retry layer costs when idle
    if (name == "tracing")
        return roundtrip::tracing({.exporter = std::make_shared<discarding_exporter>()});
    if (name == "tracing-unsampled")
        return roundtrip::tracing({.exporter = std::make_shared<discarding_exporter>(),
                                   .sampler = roundtrip::sampler::always_off()});
    if (name.starts_with("logging-")) {
        // A null sink: the figure is the middleware's cost, not a terminal's.
        auto log = std::make_shared<spdlog::logger>("bench", std::make_shared<spdlog::sinks::null_sink_mt>());
        log->set_level(name == "logging-off"     ? spdlog::level::warn
                       : name == "logging-basic" ? spdlog::level::info
                                                 : spdlog::level::debug);
        return roundtrip::logging({.logger = log, .detail = roundtrip::log_detail::basic});
    }
    // "observe": one observer shared by every request, added to each as a tracing middleware adds
    // its own. The coroutine refers to the lambda's capture; the chain keeps the lambda for as long
    // as the client lives, so the capture outlives every call.
    return [counter = std::make_shared<event_counter>()](request req, next next) -> asio::awaitable<result> {
        req.observe(counter);
        co_return co_await next(std::move(req));
    };
}

// What every worker needs to send a request.
struct target {
    roundtrip::client* client;
    std::string url;
    bool new_conn;
};

// One batch of requests that the workers share: each worker takes the next index until none is
// left. Only touched on the client's strand.
struct phase {
    phase(asio::any_io_executor ex, std::uint64_t n) : count(n), latencies(n), done(ex, clock::time_point::max()) {}

    std::uint64_t count;
    std::uint64_t next_index = 0;
    std::uint64_t errors = 0;
    std::vector<clock::duration> latencies; // by request index; sized up front so no sample allocates
    std::uint64_t workers_running = 0;
    clock::time_point started;
    clock::time_point finished;
    std::uint64_t allocations_at_start = 0;
    std::uint64_t allocations_at_finish = 0;
    clock::duration cpu_at_start{};
    clock::duration cpu_at_finish{};
    asio::steady_timer done; // never expires: the last worker to finish cancels it
};

// The CPU time, user and system, that this process has used: the one thread that runs the client,
// plus any the system resolver starts for host names (none for an IP literal).
clock::duration process_cpu_time()
{
    timespec t{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return std::chrono::duration_cast<clock::duration>(std::chrono::seconds(t.tv_sec) + std::chrono::nanoseconds(t.tv_nsec));
}

// Sends requests one after another, each when the previous one completed, until the phase has
// none left.
asio::awaitable<void> worker(const target& t, phase& p)
{
    while (p.next_index < p.count) {
        const std::uint64_t i = p.next_index++;
        roundtrip::request req("GET", t.url);
        req.new_connection = t.new_conn;
        const auto sent = clock::now();
        [[maybe_unused]] auto [ec, response] =
            co_await t.client->async_send(std::move(req), asio::as_tuple(asio::use_awaitable));
        p.latencies[i] = clock::now() - sent;
        if (ec)
            ++p.errors;
    }
    if (--p.workers_running == 0) {
        p.finished = clock::now();
        p.allocations_at_finish = bench::allocation_count();
        p.cpu_at_finish = process_cpu_time();
        p.done.cancel();
    }
}

// Runs the phase's requests with up to `concurrency` workers and returns when all have completed.
asio::awaitable<void> run_phase(const target& t, std::uint64_t concurrency, phase& p)
{
    auto ex = co_await asio::this_coro::executor;
    p.workers_running = std::min(concurrency, p.count);
    // Taken before the workers are spawned, since co_spawn may run one up to its first send inline.
    // So the count includes the workers' own frames: a handful per worker, not per request.
    p.allocations_at_start = bench::allocation_count();
    p.cpu_at_start = process_cpu_time();
    p.started = clock::now();
    p.finished = p.started;
    p.allocations_at_finish = p.allocations_at_start;
    p.cpu_at_finish = p.cpu_at_start;
    for (std::uint64_t w = 0; w < p.workers_running; ++w)
        asio::co_spawn(ex, worker(t, p), [](std::exception_ptr e) {
            if (e)
                std::rethrow_exception(e); // out of io_context::run, to main
        });
    if (p.workers_running > 0)
        co_await p.done.async_wait(asio::as_tuple(asio::use_awaitable));
}

struct figures {
    std::uint64_t requests = 0;
    std::uint64_t errors = 0;
    double wall_s = 0;
    double rps = 0;
    double p50_us = 0;
    double p99_us = 0;
    std::uint64_t conns_opened = 0;
    double allocs_per_req = 0;
    double cpu_us_per_req = 0;
};

// The nearest-rank percentile: the smallest sample with at least `percent`% of the samples at or
// below it. `sorted` is not empty.
double percentile_us(const std::vector<clock::duration>& sorted, std::uint64_t percent)
{
    const std::uint64_t n = sorted.size();
    const std::uint64_t rank = (percent * n + 99) / 100; // ceil(percent/100 * n), from 1
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(sorted[std::max<std::uint64_t>(rank, 1) - 1]);
    return static_cast<double>(ns.count()) / 1000.0;
}

asio::awaitable<figures> measure(const target& t, const settings& s, const conn_counter& conns)
{
    auto ex = co_await asio::this_coro::executor;

    phase warmup(ex, std::min(s.requests / 10, max_warmup_requests));
    co_await run_phase(t, s.concurrency, warmup);

    phase measured(ex, s.requests);
    const std::uint64_t conns_before = conns.opened();
    co_await run_phase(t, s.concurrency, measured);

    figures f;
    f.requests = measured.count;
    f.errors = measured.errors;
    f.conns_opened = conns.opened() - conns_before;
    const auto wall = std::max(measured.finished - measured.started, clock::duration(1));
    f.wall_s = std::chrono::duration<double>(wall).count();
    f.rps = static_cast<double>(f.requests) / f.wall_s;
    std::sort(measured.latencies.begin(), measured.latencies.end());
    f.p50_us = percentile_us(measured.latencies, 50);
    f.p99_us = percentile_us(measured.latencies, 99);
    f.allocs_per_req = static_cast<double>(measured.allocations_at_finish - measured.allocations_at_start) /
                       static_cast<double>(f.requests);
    f.cpu_us_per_req = std::chrono::duration<double, std::micro>(measured.cpu_at_finish - measured.cpu_at_start).count() /
                       static_cast<double>(f.requests);
    co_return f;
}

int run(const settings& s)
{
    asio::io_context io{1}; // run by this thread alone
    auto conns = std::make_shared<conn_counter>();
    roundtrip::client_options options{.observers = {conns}};
    options.transport.tls.insecure_skip_verify = s.insecure;
    for (const auto& name : s.middleware)
        options.middleware.push_back(make_layer(name));
    roundtrip::client client(io.get_executor(), std::move(options));

    const target t{&client, s.url, s.new_conn};
    std::optional<figures> out;
    asio::co_spawn(client.get_executor(), measure(t, s, *conns), [&](std::exception_ptr e, figures f) {
        if (e)
            std::rethrow_exception(e);
        out = f;
        // Closing ends whatever the client still holds (idle connections, once there is a pool),
        // so that run() below returns.
        client.close();
    });
    io.run();

    std::printf("{\"client\":\"roundtrip\",\"requests\":%llu,\"errors\":%llu,\"wall_s\":%.6f,\"rps\":%.1f,"
                "\"p50_us\":%.1f,\"p99_us\":%.1f,\"conns_opened\":%llu,\"allocs_per_req\":%.2f,"
                "\"cpu_us_per_req\":%.1f}\n",
                static_cast<unsigned long long>(out->requests), static_cast<unsigned long long>(out->errors),
                out->wall_s, out->rps, out->p50_us, out->p99_us,
                static_cast<unsigned long long>(out->conns_opened), out->allocs_per_req, out->cpu_us_per_req);
    std::fflush(stdout);
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    return bench::run_program(program, [&] { return parse_command_line(argc, argv); }, [](const settings& s) {
        if (s.help) {
            std::fputs(usage_text, stdout);
            return 0;
        }
        return run(s);
    });
}
