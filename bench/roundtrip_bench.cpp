// roundtrip-bench: a load generator that sends N GET requests through a full `roundtrip::client` with
// C concurrent workers and prints one JSON line: throughput, latency percentiles, connections opened
// and heap allocations per request. Its command line is shared with the other clients we compare
// against, so keep it exactly as it is:
//
//   roundtrip-bench --url URL --concurrency C --requests N [--new-conn] [--insecure] [--middleware NAME ...]
//                   [--client-observer] [--metrics] [--proxy URL]
//   roundtrip-bench --url URL --idle-probe N [--insecure]
//
// One thread does all the work: it runs the io_context the client is built on, and the workers run
// on the client's own strand, so a completion resumes its worker inline instead of hopping between
// executors. The figures are the client's cost on one core; on a two-core machine the server gets
// the other.

#include "counting_new.hpp"
#include "load.hpp"

#include <roundtrip/middleware/headers.hpp>
#include <roundtrip/middleware/logging.hpp>
#include <roundtrip/middleware/metrics.hpp>
#include <roundtrip/middleware/cookies.hpp>
#include <roundtrip/middleware/decompress.hpp>
#include <roundtrip/middleware/redirect.hpp>
#include <roundtrip/middleware/retry.hpp>
#include <roundtrip/middleware/tracing.hpp>

#include <roundtrip/client.hpp>
#include <roundtrip/error.hpp>

#include <spdlog/logger.h>
#include <spdlog/sinks/null_sink.h>

#include <malloc.h>
#include <sys/resource.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

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

constexpr const char* usage_text =
    "usage: roundtrip-bench --url URL --concurrency C --requests N [--new-conn] [--insecure]\n"
    "                       [--middleware NAME ...] [--client-observer] [--metrics] [--proxy URL]\n"
    "Sends N GET requests to URL through a roundtrip::client with C concurrent workers and prints\n"
    "one JSON line. --new-conn: a new connection for every request. --insecure: accept any TLS\n"
    "certificate (for https URLs; without it the system trust store, or SSL_CERT_FILE, decides).\n"
    "--middleware NAME adds a layer, outermost first; repeat to add\n"
    "more: noop, observe, headers, logging-off (level above info: formats nothing),\n"
    "logging-basic and logging-debug (to a null sink), retry, redirect, decompress, cookies (a jar the\n"
    "bench server never fills), tracing (every call sampled, spans\n"
    "built and handed to an exporter that drops them) and tracing-unsampled (traceparent only).\n"
    "--client-observer adds one client-wide observer that counts events (without it, none).\n"
    "--metrics adds the metrics middleware's observer (its instruments are never exported).\n"
    "--proxy URL sends every request through the HTTP proxy at URL (https: a CONNECT tunnel).\n"
    "--idle-probe N: open N connections at once (N concurrent requests), hold them idle, and print\n"
    "the resident memory they add, per connection, as one JSON line.\n";

struct settings {
    bench::load_settings load;
    std::uint64_t idle_probe = 0; // connections to hold idle; 0: a load run
    std::vector<std::string> middleware; // outermost first, as given
    bool client_observer = false;
    bool metrics = false;
    std::string proxy; // --proxy URL: every request through this HTTP proxy
};

constexpr std::string_view known_middleware[] = {"noop",          "observe",       "headers", "logging-off",
                                                  "logging-basic", "logging-debug", "retry",   "redirect",
                                                  "decompress",    "cookies",       "tracing", "tracing-unsampled"};

bool is_known_middleware(std::string_view name)
{
    return std::find(std::begin(known_middleware), std::end(known_middleware), name) != std::end(known_middleware);
}

settings parse_command_line(int argc, char** argv)
{
    settings s;
    for (bench::arguments args(argc, argv); args.next() && !s.load.help;) {
        const std::string_view flag = args.flag();
        if (bench::parse_load_flag(args, s.load))
            continue;
        if (flag == "--middleware") {
            const std::string_view name = args.value();
            if (!is_known_middleware(name))
                throw usage_error{"unknown middleware '" + std::string(name) + "' (see --help)"};
            s.middleware.emplace_back(name);
        } else if (flag == "--client-observer")
            s.client_observer = true;
        else if (flag == "--metrics")
            s.metrics = true;
        else if (flag == "--proxy") {
            s.proxy = std::string(args.value());
            roundtrip::proxy p;
            if (roundtrip::proxy::parse(s.proxy, p))
                throw usage_error{"--proxy takes a proxy URL, e.g. http://127.0.0.1:3128"};
        } else if (flag == "--idle-probe")
            s.idle_probe = bench::parse_number(flag, args.value(), 1, bench::max_concurrency);
        else
            throw usage_error{"unknown option '" + std::string(flag) + "' (see --help)"};
    }
    if (s.idle_probe > 0) // N connections at once: N requests, all in flight together
        s.load.concurrency = s.load.requests = s.idle_probe;
    bench::require_load_settings(s.load);
    return s;
}

// Counts every event it is given. The count itself is not reported: what `--middleware observe` and
// `--client-observer` measure is what an observer costs each request.
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
    if (name == "redirect")
        return roundtrip::redirect(); // the bench server never redirects: what the layer costs when idle
    if (name == "decompress")
        return roundtrip::decompress(); // asks for compression; the bench server never compresses
    if (name == "cookies")
        return roundtrip::cookies(std::make_shared<roundtrip::cookie_jar>()); // looked up, never filled
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
    std::string* first_error; // what the first failed request of the run said
};

// One batch of requests that the workers share: each worker takes the next index until none is
// left. Only touched on the client's strand.
struct phase {
    phase(asio::any_io_executor ex, std::uint64_t n) : record(n), done(ex, clock::time_point::max()) {}

    bench::phase_record record;
    std::uint64_t next_index = 0;
    std::uint64_t workers_running = 0;
    asio::steady_timer done; // never expires: the last worker to finish cancels it
};

// Sends requests one after another, each when the previous one completed, until the phase has
// none left.
asio::awaitable<void> worker(const target& t, phase& p)
{
    while (p.next_index < p.record.count) {
        const std::uint64_t i = p.next_index++;
        roundtrip::request req("GET", t.url);
        if (t.new_conn) {
            // As the other clients do it (Go's DisableKeepAlives, cpp-httplib, libcurl's
            // FORBID_REUSE closes after): the connection is not kept after its response.
            req.new_connection = true;
            req.headers.set("Connection", "close");
        }
        const auto sent = clock::now();
        [[maybe_unused]] auto [ec, response] =
            co_await t.client->async_send(std::move(req), asio::as_tuple(asio::use_awaitable));
        p.record.latencies[i] = clock::now() - sent;
        if (ec || response.status != 200) {
            if (p.record.errors++ == 0 && t.first_error->empty()) {
                std::string said = ec ? roundtrip::call_failed(ec).what() : "status " + std::to_string(response.status);
                std::replace(said.begin(), said.end(), '"', '\''); // it goes into a JSON string
                std::replace(said.begin(), said.end(), '\\', '/');
                *t.first_error = said;
            }
        }
    }
    if (--p.workers_running == 0) {
        p.record.finish(bench::allocation_count());
        p.done.cancel();
    }
}

// Runs the phase's requests with up to `concurrency` workers and returns when all have completed.
asio::awaitable<void> run_phase(const target& t, std::uint64_t concurrency, phase& p)
{
    auto ex = co_await asio::this_coro::executor;
    p.workers_running = std::min(concurrency, p.record.count);
    // Taken before the workers are spawned, since co_spawn may run one up to its first send inline.
    // So the count includes the workers' own frames: a handful per worker, not per request.
    p.record.start(bench::allocation_count());
    for (std::uint64_t w = 0; w < p.workers_running; ++w)
        asio::co_spawn(ex, worker(t, p), [](std::exception_ptr e) {
            if (e)
                std::rethrow_exception(e); // out of io_context::run, to main
        });
    if (p.workers_running > 0)
        co_await p.done.async_wait(asio::as_tuple(asio::use_awaitable));
}

// The warm-up, then the measured phase. Connections opened are read from the pool's cumulative
// count, so a bare run attaches no observer.
asio::awaitable<bench::figures> measure(const target& t, const bench::load_settings& s)
{
    auto ex = co_await asio::this_coro::executor;
    phase warmup(ex, bench::warmup_requests(s.requests));
    co_await run_phase(t, s.concurrency, warmup);
    const std::uint64_t opened_in_warmup = t.client->stats().opened;
    t.first_error->clear(); // only the measured phase's

    phase measured(ex, s.requests);
    co_await run_phase(t, s.concurrency, measured);
    bench::figures f = bench::summarize(measured.record, true);
    f.conns_opened = t.client->stats().opened - opened_in_warmup;
    f.conns_opened_warmup = opened_in_warmup;
    co_return f;
}

int run(const settings& s)
{
    asio::io_context io{1}; // run by this thread alone
    roundtrip::client_options options;
    if (s.client_observer)
        options.observers.push_back(std::make_shared<event_counter>());
    const auto metrics = std::make_shared<roundtrip::http_metrics>();
    if (s.metrics)
        options.observers.push_back(metrics->new_observer());
    options.transport.tls.insecure_skip_verify = s.load.insecure;
    if (!s.proxy.empty()) {
        roundtrip::proxy p;
        roundtrip::proxy::parse(s.proxy, p); // checked by parse_command_line
        options.transport.dial.proxy = roundtrip::proxy_for_all(std::move(p));
    }
    for (const auto& name : s.middleware)
        options.middleware.push_back(make_layer(name));
    roundtrip::client client(io.get_executor(), std::move(options));

    std::string first_error;
    const target t{&client, s.load.url, s.load.new_conn, &first_error};
    std::optional<bench::figures> out;
    asio::co_spawn(client.get_executor(), measure(t, s.load), [&](std::exception_ptr e, bench::figures f) {
        if (e)
            std::rethrow_exception(e);
        out = f;
        // Closing ends what the client still holds (its idle connections), so that run() returns.
        client.close();
    });
    io.run();
    out->first_error = first_error;
    bench::print_figures("roundtrip", *out);
    return 0;
}

// Heap bytes in use (malloc's own count, so memory freed but kept by malloc does not count).
std::uint64_t heap_in_use() noexcept
{
    const struct mallinfo2 m = ::mallinfo2();
    return m.uordblks + m.hblkhd;
}

// Opens N connections at once and holds them idle: what one idle kept-alive connection costs in
// heap (the connection, its stream, its pool entry; not the kernel's socket buffers), beside the
// process's resident memory.
int run_idle_probe(const settings& s)
{
    const std::uint64_t n = s.idle_probe;
    rlimit files{};
    ::getrlimit(RLIMIT_NOFILE, &files);
    files.rlim_cur = files.rlim_max; // N sockets, the resolver's and the process's own
    ::setrlimit(RLIMIT_NOFILE, &files);

    asio::io_context io{1};
    roundtrip::client_options options;
    options.transport.tls.insecure_skip_verify = s.load.insecure;
    options.transport.pool.max_idle = n;
    options.transport.pool.max_idle_per_host = n;
    roundtrip::client client(io.get_executor(), std::move(options));

    std::uint64_t before = 0, after = 0, rss_before = 0, rss_after = 0, errors = 0;
    roundtrip::pool_stats held;
    const auto probe = [&]() -> asio::awaitable<void> {
        // One request first: what every connection shares (the TLS context, the pool's tables).
        co_await client.async_send(roundtrip::request("GET", s.load.url), asio::as_tuple(asio::use_awaitable));
        client.close_idle();
        before = heap_in_use();
        rss_before = bench::proc_status_kib("VmRSS");
        auto ex = co_await asio::this_coro::executor;
        phase all(ex, n);
        std::string first_error;
        const target t{&client, s.load.url, false, &first_error};
        co_await run_phase(t, n, all);
        errors = all.record.errors;
        held = client.stats();
        after = heap_in_use();
        rss_after = bench::proc_status_kib("VmRSS");
        client.close();
    };
    asio::co_spawn(client.get_executor(), probe(), [](std::exception_ptr e) {
        if (e)
            std::rethrow_exception(e);
    });
    io.run();
    const auto per_conn = [n](std::uint64_t a, std::uint64_t b) {
        return a > b ? static_cast<double>(a - b) / static_cast<double>(n) : 0.0;
    };
    std::printf("{\"client\":\"roundtrip\",\"connections\":%llu,\"idle\":%zu,\"errors\":%llu,"
                "\"heap_kib_per_idle_conn\":%.2f,\"rss_kib_per_idle_conn\":%.2f}\n",
                static_cast<unsigned long long>(n), held.idle, static_cast<unsigned long long>(errors),
                per_conn(after, before) / 1024.0, per_conn(rss_after, rss_before));
    return held.idle == n && errors == 0 ? 0 : 1;
}

} // namespace

int main(int argc, char** argv)
{
    return bench::run_program(program, [&] { return parse_command_line(argc, argv); }, [](const settings& s) {
        if (s.load.help) {
            std::fputs(usage_text, stdout);
            return 0;
        }
        return s.idle_probe > 0 ? run_idle_probe(s) : run(s);
    });
}
