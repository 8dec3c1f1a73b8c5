// Parsing the command line; numbers are checked, nothing else is (the library validates requests).
#include "options.hpp"

#include <charconv>
#include <cmath>
#include <string_view>

namespace roundtrip::cli {
namespace {

std::uint64_t whole(std::string_view flag, std::string_view v, std::uint64_t max)
{
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc{} || end != v.data() + v.size() || n > max)
        throw usage_error{std::string(flag) + " takes a whole number up to " + std::to_string(max)};
    return n;
}

clock::duration seconds(std::string_view flag, std::string_view v)
{
    double s = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), s);
    if (ec != std::errc{} || end != v.data() + v.size() || !(s >= 0) || s > 1e7)
        throw usage_error{std::string(flag) + " takes seconds, e.g. 2 or 0.25"};
    return std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(s));
}

// HOST:PORT:ADDR[,ADDR]..., each address an IPv4 or IPv6 literal, the latter bracketed or not.
pinned pin(std::string_view v)
{
    const auto wrong = [] { return usage_error{"--resolve takes HOST:PORT:ADDRESS[,ADDRESS]..."}; };
    const auto first = v.find(':');
    const auto second = first == std::string_view::npos ? first : v.find(':', first + 1);
    if (first == 0 || second == std::string_view::npos)
        throw wrong();
    pinned p;
    p.host = std::string(v.substr(0, first));
    p.port = static_cast<std::uint16_t>(whole("--resolve's port", v.substr(first + 1, second - first - 1), 65535));
    for (std::string_view rest = v.substr(second + 1);;) {
        const auto comma = rest.find(',');
        std::string_view a = rest.substr(0, comma);
        if (a.size() >= 2 && a.front() == '[' && a.back() == ']')
            a = a.substr(1, a.size() - 2);
        boost::system::error_code ec;
        p.addresses.push_back(asio::ip::make_address(std::string(a), ec));
        if (ec)
            throw usage_error{"--resolve: '" + std::string(a) + "' is not an IP address"};
        if (comma == std::string_view::npos)
            break;
        rest.remove_prefix(comma + 1);
    }
    return p;
}

} // namespace

options parse(int argc, char** argv)
{
    options o;
    unsigned header_args = 0;
    std::optional<std::string> proxy_user; // applied to -x's proxy once both are known
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        auto value = [&]() -> std::string_view {
            if (i + 1 >= argc)
                throw usage_error{std::string(a) + " needs a value"};
            return argv[++i];
        };
        if (a == "-X") o.method = std::string(value());
        else if (a == "-H") {
            const std::string_view h = value();
            const auto colon = h.find(':');
            ++header_args;
            if (colon == std::string_view::npos) {
                // Invalid input rather than a usage error, reported like any bad header field. The
                // argument is not echoed: it may be a credential that lost its colon.
                if (o.header_problem.empty())
                    o.header_problem = "-H number " + std::to_string(header_args) + " has no colon (-H takes 'Name: value')";
                continue;
            }
            auto v = h.substr(colon + 1);
            while (!v.empty() && (v.front() == ' ' || v.front() == '\t'))
                v.remove_prefix(1);
            o.headers.emplace_back(std::string(h.substr(0, colon)), std::string(v));
        }
        else if (a == "-d") o.body = std::string(value());
        else if (a == "-n") o.requests = static_cast<unsigned>(whole(a, value(), 10'000'000));
        else if (a == "-c") o.concurrency = static_cast<unsigned>(whole(a, value(), 10'000));
        else if (a == "--retry") o.retries = static_cast<unsigned>(whole(a, value(), 100));
        else if (a == "-L" || a == "--location") o.follow = true;
        else if (a == "--max-redirs") {
            const std::string_view v = value();
            o.max_redirects = v == "-1" ? -1 : static_cast<int>(whole(a, v, 1000));
        }
        else if (a == "--compressed") o.compressed = true;
        else if (a == "-b" || a == "--cookie") o.cookie = std::string(value());
        else if (a == "--cookie-jar") o.cookie_jar = std::string(value());
        else if (a == "--timeout") o.timeout = seconds(a, value());
        else if (a == "--connect-timeout") o.connect_timeout = seconds(a, value());
        else if (a == "--max-conns-per-host") o.max_conns_per_host = whole(a, value(), 100'000);
        else if (a == "--idle-timeout") o.idle_timeout = seconds(a, value());
        else if (a == "--sleep-between") o.sleep_between = std::chrono::milliseconds(whole(a, value(), 3'600'000));
        else if (a == "--insecure") o.insecure = true;
        else if (a == "--cacert") o.cacert = std::string(value());
        else if (a == "--resolve") o.resolve.push_back(pin(value()));
        else if (a == "--unix-socket") o.unix_socket = std::string(value());
        else if (a == "-x" || a == "--proxy") {
            const std::string_view url = value();
            proxy p;
            if (proxy::parse(url, p))
                throw usage_error{std::string(a) + " takes a proxy URL: [http|https|socks5|socks5h://][user:password@]host[:port]"};
            o.proxy = std::move(p);
        }
        else if (a == "--proxy-user") proxy_user = std::string(value());
        else if (a == "--noproxy") o.noproxy = std::string(value());
        else if (a == "--max-body") o.max_body = whole(a, value(), 1ull << 40);
        else if (a == "--max-header") o.max_header = whole(a, value(), 1ull << 30);
        else if (a == "-o") o.output_file = std::string(value());
        else if (a == "-i") o.include_headers = true;
        else if (a == "-s") o.silent = true;
        else if (a == "-v") o.verbose = true;
        else if (a == "--json") o.json = true;
        else if (a == "--trace") o.trace = true;
        else if (a == "--timeline") o.timeline = true;
        else if (a == "--metrics") o.metrics = true;
        else if (a == "--demo") o.demo = true;
        else if (a == "--help" || a == "-h") o.help = true;
        else if (a.size() > 1 && a.front() == '-') throw usage_error{"unknown option " + std::string(a)};
        else if (!o.url_given) o.url = std::string(a), o.url_given = true;
        else throw usage_error{"one URL at a time"};
    }
    if (o.requests == 0 || o.concurrency == 0)
        throw usage_error{"-n and -c take at least 1"};
    if (proxy_user) { // wins over credentials in -x's URL, whichever came first
        if (!o.proxy)
            throw usage_error{"--proxy-user needs -x"};
        const auto colon = proxy_user->find(':');
        o.proxy->username = proxy_user->substr(0, colon);
        o.proxy->password = colon == std::string::npos ? std::string() : proxy_user->substr(colon + 1);
    }
    return o;
}

const char* const help_text = R"(Usage: roundtrip [options] URL
Sends HTTP requests through roundtrip's client and shows what happened to each connection.

Request:
  -X METHOD                 method (default GET, or POST with -d)
  -H 'Name: value'          add a header field (repeatable)
  -d BODY                   send BODY; -d @file sends the file's contents
Load:
  -n COUNT                  total requests, shared by the workers (default 1)
  -c CONCURRENCY            workers sending at once (default 1)
  --sleep-between MS        pause between one worker's requests
  --retry N                 retry failed requests up to N times when safe (default 0)
  -L, --location            follow redirects (301, 302, 303, 307, 308)
  --max-redirs N            with -L, at most N redirects a request (default 10; -1: no limit)
  --compressed              ask for gzip, deflate, br or zstd and decode the body
  -b, --cookie FILE|DATA    send cookies: from a Netscape cookie file (as curl writes), or
                            DATA ('NAME=VALUE; ...') as it is; keeps cookies across the run
  --cookie-jar FILE         write the run's cookies to FILE at the end (Netscape format)
Limits and timeouts:
  --timeout SECONDS         whole call, across retries (decimals allowed: 0.25)
  --connect-timeout SECONDS name lookup and connect
  --max-conns-per-host K    connections per host; more requests wait
  --idle-timeout SECONDS    close pooled connections idle this long
  --max-body BYTES          largest response body accepted (default 64 MiB with -c above 1;
                            with -c 1 bodies are streamed, with no limit)
  --max-header BYTES        largest response head accepted
Connecting:
  --resolve HOST:PORT:ADDR[,ADDR]
                            connect to ADDR for HOST on PORT, without a lookup (repeatable;
                            PORT 0: every port)
  --unix-socket PATH        connect through the Unix-domain socket at PATH instead of TCP
  -x, --proxy URL           use the proxy at URL ([SCHEME://][user:password@]host[:port]; SCHEME
                            http, https (TLS to the proxy), socks5 (names resolved here) or
                            socks5h (by the proxy)); without it, http_proxy, HTTPS_PROXY,
                            ALL_PROXY and NO_PROXY apply
  --proxy-user USER:PASS    the proxy's credentials (Basic for HTTP(S), RFC 1929 for SOCKS5)
  --noproxy LIST            hosts to reach directly, as NO_PROXY ('*': all)
TLS:
  --insecure                do not verify certificates (the server's, an https:// proxy's)
  --cacert FILE             trust the CA certificates in FILE (must be readable), for the server
                            and an https:// proxy
Output:
  -o FILE                   write the response body to FILE
  -i                        include the response status line and headers
  -s                        silent: no error lines on stderr
  -v                        log requests and responses with headers to stderr
  --json                    one JSON line per request on stdout, then a summary line
  --trace                   every lifecycle event as a JSON line on stderr
  --timeline                a waterfall of each request's phases
  --metrics                 the run's metrics (Prometheus text) on stdout at the end;
                            bodies go only to -o FILE
  --demo                    run the connection-pooling demo
  --help                    this text

Examples:
  roundtrip http://localhost:8080/
  roundtrip -n 50 -c 4 --json http://localhost:8080/health
  roundtrip -X PUT -H 'Content-Type: application/json' -d @order.json http://localhost:8080/orders/7
  roundtrip --timeline -n 2 http://localhost:8080/
  roundtrip -n 100 -c 8 --metrics http://localhost:8080/

Exit status: 0 when every request got a response (any status), 1 when one failed,
2 for a usage error or invalid input.
)";

} // namespace roundtrip::cli
