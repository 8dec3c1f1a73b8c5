// What every C++ load generator of the bench shares, so that the clients we compare measure the same
// things the same way: the command line, the warm-up, the measured phase and the one JSON line.
//
//   CLIENT --url URL --concurrency C --requests N [--new-conn] [--insecure]
//
// A phase is N requests shared by C workers; each worker sends its next request when the previous one
// completed. `min(N/10, 1000)` warm-up requests run first and are left out of every figure.
#pragma once

#include "command_line.hpp"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

using bench_clock = std::chrono::steady_clock;

// Bounds that keep a typo from asking for a terabyte of latency samples or a million sockets.
constexpr std::uint64_t max_concurrency = 10'000;
constexpr std::uint64_t max_requests = 100'000'000;

// The flags every client takes.
struct load_settings {
    std::string url;
    std::uint64_t concurrency = 0;
    std::uint64_t requests = 0;
    bool new_conn = false; // a new connection for every request
    bool insecure = false; // accept any TLS certificate, as curl's -k
    bool help = false;
};

// Consumes the current flag if it is one of load_settings'; false leaves it to the caller.
inline bool parse_load_flag(arguments& args, load_settings& s)
{
    const std::string_view flag = args.flag();
    if (flag == "--url")
        s.url = args.value();
    else if (flag == "--concurrency")
        s.concurrency = parse_number(flag, args.value(), 1, max_concurrency);
    else if (flag == "--requests")
        s.requests = parse_number(flag, args.value(), 1, max_requests);
    else if (flag == "--new-conn")
        s.new_conn = true;
    else if (flag == "--insecure")
        s.insecure = true;
    else if (flag == "--help" || flag == "-h")
        s.help = true;
    else
        return false;
    return true;
}

// Parses a command line of load flags only.
inline load_settings parse_load_command_line(int argc, char** argv)
{
    load_settings s;
    for (arguments args(argc, argv); args.next() && !s.help;)
        if (!parse_load_flag(args, s))
            throw usage_error{"unknown option '" + std::string(args.flag()) + "' (see --help)"};
    return s;
}

// The flags no run can do without; a --help run needs none.
inline void require_load_settings(const load_settings& s)
{
    if (s.help)
        return;
    if (s.url.empty())
        throw usage_error{"--url is required"};
    if (s.concurrency == 0)
        throw usage_error{"--concurrency is required"};
    if (s.requests == 0)
        throw usage_error{"--requests is required"};
}

// The main() of a client that takes only the load flags: parses them, prints `usage` for --help,
// else calls `run(settings)`, with run_program's exit statuses.
template <class Run>
int run_load_program(const char* program, const char* usage, int argc, char** argv, Run run)
{
    return run_program(
        program,
        [&] {
            load_settings s = parse_load_command_line(argc, argv);
            require_load_settings(s);
            return s;
        },
        [&](const load_settings& s) {
            if (!s.help)
                return run(s);
            std::fputs(usage, stdout);
            return 0;
        });
}

inline std::uint64_t warmup_requests(std::uint64_t n) { return std::min<std::uint64_t>(n / 10, 1000); }

// The CPU time, user and system, of every thread of this process.
inline bench_clock::duration process_cpu_time()
{
    timespec t{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return std::chrono::duration_cast<bench_clock::duration>(std::chrono::seconds(t.tv_sec) +
                                                             std::chrono::nanoseconds(t.tv_nsec));
}

// One batch of requests: what was measured while it ran.
struct phase_record {
    explicit phase_record(std::uint64_t n) : count(n), latencies(n) {}

    std::uint64_t count;
    std::vector<bench_clock::duration> latencies; // by request index; sized up front so no sample allocates
    std::uint64_t errors = 0;
    bench_clock::time_point started, finished;
    bench_clock::duration cpu_at_start{}, cpu_at_finish{};
    std::uint64_t allocations_at_start = 0, allocations_at_finish = 0;

    // `allocations` is the count of heap allocations so far, for a client that counts them.
    void start(std::uint64_t allocations = 0)
    {
        allocations_at_start = allocations_at_finish = allocations;
        cpu_at_start = cpu_at_finish = process_cpu_time();
        started = finished = bench_clock::now();
    }
    void finish(std::uint64_t allocations = 0)
    {
        finished = bench_clock::now();
        cpu_at_finish = process_cpu_time();
        allocations_at_finish = allocations;
    }
};

// The nearest-rank percentile: the smallest sample with at least `percent`% of the samples at or
// below it. `sorted` is not empty.
inline double percentile_us(const std::vector<bench_clock::duration>& sorted, std::uint64_t percent)
{
    const std::uint64_t rank = std::max<std::uint64_t>((percent * sorted.size() + 99) / 100, 1);
    return std::chrono::duration<double, std::micro>(sorted[rank - 1]).count();
}

// What a client prints. An optional figure the client cannot know is printed as null.
struct figures {
    std::uint64_t requests = 0;
    std::uint64_t errors = 0;
    double wall_s = 0;
    double rps = 0;
    double p50_us = 0;
    double p99_us = 0;
    double cpu_us_per_req = 0;
    std::optional<std::uint64_t> conns_opened;
    std::optional<std::uint64_t> conns_opened_warmup;
    std::optional<double> allocs_per_req;
    std::string first_error; // what the first failed request said, for a client that knows; no quotes
};

// `allocations_counted`: the client counts heap allocations (counting_new.hpp), so allocs_per_req is
// a figure, not null.
inline figures summarize(phase_record& p, bool allocations_counted = false)
{
    figures f;
    f.requests = p.count;
    f.errors = p.errors;
    const auto wall = std::max(p.finished - p.started, bench_clock::duration(1));
    f.wall_s = std::chrono::duration<double>(wall).count();
    f.rps = static_cast<double>(f.requests) / f.wall_s;
    std::sort(p.latencies.begin(), p.latencies.end());
    f.p50_us = percentile_us(p.latencies, 50);
    f.p99_us = percentile_us(p.latencies, 99);
    f.cpu_us_per_req =
        std::chrono::duration<double, std::micro>(p.cpu_at_finish - p.cpu_at_start).count() / static_cast<double>(p.count);
    if (allocations_counted)
        f.allocs_per_req = static_cast<double>(p.allocations_at_finish - p.allocations_at_start) /
                           static_cast<double>(p.count);
    return f;
}

// A memory figure of this process from /proc/self/status in KiB ("VmRSS", "VmHWM"), or 0 when
// /proc does not say.
inline std::uint64_t proc_status_kib(std::string_view field)
{
    std::FILE* status = std::fopen("/proc/self/status", "r");
    if (!status)
        return 0;
    char line[256];
    unsigned long long kib = 0;
    while (std::fgets(line, sizeof line, status)) {
        const std::string_view l = line;
        if (l.starts_with(field) && l.size() > field.size() && l[field.size()] == ':') {
            std::sscanf(line + field.size() + 1, "%llu", &kib);
            break;
        }
    }
    std::fclose(status);
    return kib;
}

// The process's peak resident memory in KiB. Not getrusage: its ru_maxrss keeps the high-water mark
// of the process that forked this one across exec.
inline std::uint64_t peak_rss_kib() { return proc_status_kib("VmHWM"); }

// The one JSON line.
inline void print_figures(std::string_view client, const figures& f)
{
    const auto count = [](const std::optional<std::uint64_t>& v) {
        return v ? std::to_string(*v) : std::string("null");
    };
    char allocs[32] = "null";
    if (f.allocs_per_req)
        std::snprintf(allocs, sizeof allocs, "%.2f", *f.allocs_per_req);
    std::printf("{\"client\":\"%.*s\",\"requests\":%llu,\"errors\":%llu,\"wall_s\":%.6f,\"rps\":%.1f,"
                "\"p50_us\":%.1f,\"p99_us\":%.1f,\"cpu_us_per_req\":%.2f,\"conns_opened\":%s,"
                "\"conns_opened_warmup\":%s,\"allocs_per_req\":%s,\"max_rss_kb\":%llu%s}\n",
                static_cast<int>(client.size()), client.data(), static_cast<unsigned long long>(f.requests),
                static_cast<unsigned long long>(f.errors), f.wall_s, f.rps, f.p50_us, f.p99_us, f.cpu_us_per_req,
                count(f.conns_opened).c_str(), count(f.conns_opened_warmup).c_str(), allocs,
                static_cast<unsigned long long>(peak_rss_kib()),
                f.first_error.empty() ? "" : (",\"first_error\":\"" + f.first_error + "\"").c_str());
    std::fflush(stdout);
}

// The parts of an `http://` or `https://` URL a raw client needs: no user info, no fragment.
struct url_parts {
    bool tls = false;
    std::string host;
    std::uint16_t port = 0;
    std::string target; // path and query, "/" when empty
};

inline url_parts split_url(std::string_view url)
{
    url_parts u;
    if (url.starts_with("https://"))
        u.tls = true, url.remove_prefix(8);
    else if (url.starts_with("http://"))
        url.remove_prefix(7);
    else
        throw usage_error{"--url must start with http:// or https://"};
    const auto slash = url.find('/');
    std::string_view authority = url.substr(0, slash);
    u.target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
    std::string_view port;
    if (authority.starts_with('[')) { // [v6]:port
        const auto close = authority.find(']');
        if (close == std::string_view::npos)
            throw usage_error{"--url has an unclosed '['"};
        u.host = authority.substr(1, close - 1);
        if (authority.size() > close + 1 && authority[close + 1] == ':')
            port = authority.substr(close + 2);
    } else {
        const auto colon = authority.rfind(':');
        u.host = authority.substr(0, colon);
        if (colon != std::string_view::npos)
            port = authority.substr(colon + 1);
    }
    if (u.host.empty())
        throw usage_error{"--url has no host"};
    u.port = port.empty() ? (u.tls ? 443 : 80) : static_cast<std::uint16_t>(parse_number("--url port", port, 1, 65535));
    return u;
}

} // namespace bench
