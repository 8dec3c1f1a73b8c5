#include "timeline.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace roundtrip::cli {
namespace {

std::string human(clock::duration d)
{
    const double us = std::chrono::duration<double, std::micro>(d).count();
    char buf[32];
    if (us < 1000)
        std::snprintf(buf, sizeof buf, "%6.0f us", us);
    else if (us < 1e6)
        std::snprintf(buf, sizeof buf, "%6.2f ms", us / 1000);
    else
        std::snprintf(buf, sizeof buf, "%6.2f s ", us / 1e6);
    return buf;
}

} // namespace

std::string timeline(std::string_view title, const call_stats& s, clock::time_point start, clock::time_point end,
                     std::string_view came_from, bool colour)
{
    constexpr int width = 46; // 16 for the label, 2 bars' edges, 46 for the bar, 10 for the figure
    const auto total = end - start;
    // Before the final attempt: the middleware's work, earlier attempts and their backoff.
    const auto before = s.attempt_start == clock::time_point{} ? clock::duration{} : s.attempt_start - start;
    const auto waited = s.connection_wait();
    const auto setup = before + waited + s.dns + s.connect + s.proxy + s.tls;
    const auto first_byte = s.first_byte == clock::time_point{} ? setup : s.first_byte - start;
    struct phase {
        const char* label;
        clock::duration start, length;
        bool only_when_taken = false; // a row for requests through a proxy's tunnel only
    };
    const phase phases[] = {
        {"Before try", {}, before},
        {"Conn wait", before, waited},
        {"DNS lookup", before + waited, s.dns},
        {"TCP connect", before + waited + s.dns, s.connect},
        {"Proxy tunnel", before + waited + s.dns + s.connect, s.proxy, true},
        {"TLS handshake", before + waited + s.dns + s.connect + s.proxy, s.tls},
        {"Server wait", setup, std::max(clock::duration{}, first_byte - setup)},
        {"Transfer", first_byte, std::max(clock::duration{}, total - first_byte)},
    };
    std::string out(title);
    if (s.handed_over()) {
        out += "  (reused connection, handed over by another request)";
    } else if (s.reused) {
        std::string idle = human(s.idle);
        idle.erase(0, idle.find_first_not_of(' '));
        out += "  (reused connection, idle " + idle + ")";
    }
    else if (s.got_connection)
        out += "  (new connection)";
    out += "\n";
    const double scale = total.count() > 0 ? static_cast<double>(width) / static_cast<double>(total.count()) : 0;
    for (const auto& p : phases) {
        if (p.only_when_taken && p.length.count() == 0)
            continue;
        const int from = std::min(width, static_cast<int>(static_cast<double>(p.start.count()) * scale));
        int len = static_cast<int>(static_cast<double>(p.length.count()) * scale + 0.5);
        if (p.length.count() > 0)
            len = std::max(len, 1);
        len = std::min(len, width - from);
        char label[20];
        std::snprintf(label, sizeof label, "  %-14s", p.label);
        out += label;
        out += "|" + std::string(static_cast<std::size_t>(from), ' ');
        if (colour && len > 0)
            out += "\x1b[36m";
        for (int i = 0; i < len; ++i)
            out += "\xe2\x96\x88"; // a full block
        if (colour && len > 0)
            out += "\x1b[0m";
        out += std::string(static_cast<std::size_t>(width - from - len), ' ') + "|" + human(p.length) + "\n";
    }
    out += std::string(2 + 14 + 1 + width + 1 - 6, ' ') + "total " + human(total) + "\n";
    // What the middleware did besides: the phases above are the final hop's.
    if (s.redirects > 0)
        out += "  " + std::to_string(s.redirects) + (s.redirects == 1 ? " redirect" : " redirects")
               + " followed before it; the response came from " + std::string(came_from) + "\n";
    if (!s.decoded_from.empty())
        out += "  body decoded from " + s.decoded_from + "\n";
    return out;
}

} // namespace roundtrip::cli
