// The tracing demo: a client with the tracing middleware over a retry middleware sends three calls to
// a local server — one on a new connection, one on the pooled connection, one the server fails once
// so that it is retried — and prints each call's span tree with its timings and main attributes.

#include <roundtrip/testing/test_server.hpp> // the local server; tests use the same one

#include <roundtrip/middleware/retry.hpp>
#include <roundtrip/middleware/tracing.hpp>

#include <roundtrip/client.hpp>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

namespace {

std::string show(const roundtrip::attribute_value& v)
{
    return std::visit(
        [](const auto& x) -> std::string {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, std::string>)
                return x;
            else if constexpr (std::is_same_v<T, bool>)
                return x ? "true" : "false";
            else
                return std::to_string(x);
        },
        v);
}

// Prints `s`, its events, and, indented below it, its children in start order.
void print_tree(const std::vector<roundtrip::span>& all, const roundtrip::span& s, int depth,
                std::chrono::system_clock::time_point origin)
{
    using std::chrono::duration;
    const double at = duration<double, std::milli>(s.start - origin).count();
    const double took = duration<double, std::milli>(s.end - s.start).count();
    std::string line(2 * depth, ' ');
    line += s.name + (s.kind == roundtrip::span_kind::client ? " (attempt)" : "");
    std::printf("  %-28s +%6.2f ms %7.2f ms ", line.c_str(), at, took);
    for (const char* key : {"http.response.status_code", "error.type", "http.request.resend_count",
                            "roundtrip.connection.reused", "roundtrip.connection.idle_us", "network.peer.address"})
        if (const auto* v = s.find(key))
            std::printf(" %s=%s", key, show(*v).c_str());
    std::printf("\n");
    for (const auto& e : s.events)
        std::printf("  %s  event %s at +%.2f ms\n", std::string(2 * depth, ' ').c_str(), e.name.c_str(),
                    duration<double, std::milli>(e.time - origin).count());
    std::vector<const roundtrip::span*> children;
    for (const auto& c : all)
        if (c.parent == s.context.span && c.context.trace == s.context.trace)
            children.push_back(&c);
    std::sort(children.begin(), children.end(), [](auto* a, auto* b) { return a->start < b->start; });
    for (const auto* c : children)
        print_tree(all, *c, depth + 1, origin);
}

} // namespace

int main()
{
    // 1. A local server: "/flaky" fails with 503 the first time, as a server under load might.
    int flaky_calls = 0;
    roundtrip::testing::test_server server([&](const roundtrip::testing::server_request& req, roundtrip::testing::exchange& ex) {
        if (req.target == "/flaky" && flaky_calls++ == 0)
            return ex.reply(503);
        ex.reply(200, "hello");
    });

    // 2. Tracing outermost, so a call's span covers the retry middleware's attempts; spans are kept
    //    in memory here (an otlp_exporter would send them to a collector).
    auto spans = std::make_shared<roundtrip::in_memory_exporter>();
    roundtrip::retry_options quick;
    quick.base_delay = std::chrono::milliseconds(5);
    roundtrip::client client({.middleware = {roundtrip::tracing({.exporter = spans}), roundtrip::retry(quick)}});

    // 3. Three calls: a new connection, the same connection again, and a retried call.
    const std::pair<const char*, const char*> calls[] = {
        {"1. A new connection: connect, then the exchange", "/"},
        {"2. The pooled connection: no phases, reuse shown as attributes", "/"},
        {"3. A 503, retried: two attempts under one call", "/flaky"},
    };
    bool ok = true;
    for (const auto& [title, path] : calls) {
        spans->clear();
        roundtrip::error_code ec;
        const auto r = client.send({"GET", server.url(path)}, ec);
        ok &= !ec && r.status == 200;
        const auto all = spans->spans();
        std::printf("\n%s\n", title);
        for (const auto& s : all)
            if (!s.parent.valid()) {
                std::printf("  trace %s\n", s.context.trace.hex().c_str());
                print_tree(all, s, 0, s.start);
            }
    }
    return ok ? 0 : 1;
}
