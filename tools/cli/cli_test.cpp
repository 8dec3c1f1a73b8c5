// The `roundtrip` program from the outside: each flag, the JSON and trace formats, exit statuses and
// error classes, run against the loopback server. The program's path comes from ROUNDTRIP_CLI.
#include "forward_proxy.hpp"
#include "socks5_server.hpp"
#include "tls_front.hpp"
#include "unix_server.hpp"

#include <roundtrip/testing/test_certs.hpp>
#include <roundtrip/testing/test_server.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace roundtrip;

namespace {

struct outcome {
    int status = -1;
    std::string out, err;
    std::vector<std::string> lines() const
    {
        std::vector<std::string> v;
        std::istringstream in(out);
        for (std::string l; std::getline(in, l);)
            v.push_back(l);
        return v;
    }
};

std::string slurp(const std::string& path)
{
    std::ifstream f(path, std::ios::binary);
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

// Runs the program with `args` (shell words), bounded by 30 s.
outcome cli(const std::string& args)
{
    const char* exe = std::getenv("ROUNDTRIP_CLI");
    REQUIRE(exe);
    const std::string dir = "cli_test_out";
    std::system(("mkdir -p " + dir).c_str());
    const int raw = std::system(("timeout 30 " + std::string(exe) + " " + args + " >" + dir + "/out 2>" + dir + "/err").c_str());
    outcome o;
    o.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    o.out = slurp(dir + "/out");
    o.err = slurp(dir + "/err");
    return o;
}

// A run whose stdout the test drained without keeping it.
struct piped_outcome {
    int status = -1;
    std::uint64_t bytes = 0;         // written to stdout
    bool bytes_while_running = false; // the first of them came before the program ended
    long peak_rss_kib = 0;           // the program's peak resident set (ru_maxrss)
    std::string err;
};

// Runs the program as cli() does, with stdout on a pipe: a body of any size costs the test nothing,
// and wait4 reports the program's peak memory. (`timeout` waits for the program, so its own peak
// includes the program's.)
piped_outcome cli_piped(const std::string& args)
{
    const char* exe = std::getenv("ROUNDTRIP_CLI");
    REQUIRE(exe);
    std::system("mkdir -p cli_test_out");
    const std::string command = "exec timeout 30 " + std::string(exe) + " " + args + " 2>cli_test_out/err";
    int out[2];
    REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    const char* argv[] = {"sh", "-c", command.c_str(), nullptr};
    pid_t pid = 0;
    const int spawned = ::posix_spawnp(&pid, "sh", &actions, nullptr, const_cast<char* const*>(argv), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    piped_outcome o;
    if (spawned == 0) {
        static char piece[64 * 1024];
        for (ssize_t n; (n = ::read(out[0], piece, sizeof piece)) != 0;) {
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                break;
            if (o.bytes == 0) { // still running: not yet waitable (WNOWAIT leaves it for wait4)
                siginfo_t info{};
                o.bytes_while_running = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0
                                        && info.si_pid == 0;
            }
            o.bytes += static_cast<std::uint64_t>(n);
        }
        int raw = 0;
        rusage usage{};
        ::wait4(pid, &raw, 0, &usage);
        o.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
        o.peak_rss_kib = usage.ru_maxrss;
    }
    ::close(out[0]);
    REQUIRE(spawned == 0);
    o.err = slurp("cli_test_out/err");
    return o;
}

bool has(const std::string& text, std::string_view what) { return text.find(what) != std::string::npos; }

// The peak memory of a program that streamed far more than this stays under it. Not checked under
// AddressSanitizer, whose allocator keeps freed memory for a while (the regular build checks it).
bool flat_memory(long peak_rss_kib)
{
#if defined(__SANITIZE_ADDRESS__)
    MESSAGE("peak RSS under ASan, not checked: " << peak_rss_kib << " KiB");
    return true;
#else
    return peak_rss_kib < 32 * 1024;
#endif
}

// Counts the lines of `text`.
std::size_t line_count(const std::string& text) { return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')); }

// A server whose every response has a chunked body, in 64 KiB chunks, that ends only when the
// server goes.
struct endless_server {
    std::atomic<bool> stop{false};
    testing::test_server server{[this](const testing::server_request&, testing::exchange& ex) {
        ex.write_raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        const std::string chunk = "10000\r\n" + std::string(0x10000, 'x') + "\r\n";
        while (!stop)
            ex.write_raw(chunk); // errors are ignored: once the client has gone, these fail at once
        ex.close();
    }};
    ~endless_server() { stop = true; } // before the server joins its handlers
};

} // namespace

TEST_CASE("no URL prints a usage hint and exits 2; --help reads like curl's")
{
    auto none = cli("");
    CHECK(none.status == 2);
    CHECK(has(none.err, "usage: roundtrip [options] URL"));
    auto help = cli("--help");
    CHECK(help.status == 0);
    CHECK(has(help.out, "Examples:"));
    CHECK(has(help.out, "  --json "));
    CHECK(cli("--no-such-flag http://x/").status == 2);
}

TEST_CASE("--json: one line per request, then the summary; the second request reuses the connection")
{
    testing::test_server server;
    auto r = cli("-n 2 --json " + server.url("/a"));
    CHECK(r.status == 0);
    auto lines = r.lines();
    REQUIRE(lines.size() == 3);
    CHECK(has(lines[0], "\"method\":\"GET\",\"url\":\"" + server.url("/a") + "\",\"status\":200,\"attempts\":1,\"error\":null"));
    CHECK(has(lines[0], "\"conn\":{\"reused\":false,\"was_idle\":false,\"handed_over\":false,\"idle_us\":0}"));
    CHECK(has(lines[1], "\"conn\":{\"reused\":true,\"was_idle\":true,\"handed_over\":false,"));
    CHECK(has(lines[1], "\"timings_us\":{\"conn_wait\":0,\"dns\":0,\"connect\":0,\"proxy\":0,\"tls\":0,"));
    CHECK(lines[2] == "{\"summary\":true,\"requests\":2,\"errors\":0,\"conns_opened\":1}");
    CHECK(r.err.empty());
}

TEST_CASE("-n 50 -c 1 opens one connection; --max-conns-per-host K -c 16 opens at most K")
{
    testing::test_server server;
    auto one = cli("-n 50 -c 1 --json " + server.url());
    CHECK(one.lines().back() == "{\"summary\":true,\"requests\":50,\"errors\":0,\"conns_opened\":1}");
    testing::test_server limited([](const testing::server_request&, testing::exchange& ex) {
        ex.sleep(std::chrono::milliseconds(5));
        ex.reply(200);
    });
    auto capped = cli("--max-conns-per-host 2 -c 16 -n 32 --json " + limited.url());
    CHECK(capped.status == 0);
    CHECK(limited.connections() <= 2);
    CHECK(has(capped.lines().back(), "\"requests\":32,\"errors\":0"));
}

TEST_CASE("--metrics: the run's Prometheus exposition last, after the JSON lines, and no body on stdout")
{
    testing::test_server server([](const testing::server_request&, testing::exchange& ex) {
        ex.sleep(std::chrono::milliseconds(5));
        ex.reply(200, "the body");
    });
    const std::string port = "server_port=\"" + std::to_string(server.port()) + "\"";
    auto r = cli("-n 12 -c 4 --max-conns-per-host 2 --metrics " + server.url());
    CHECK(r.status == 0);
    CHECK_FALSE(has(r.out, "the body"));
    CHECK(r.out.starts_with("# HELP http_client_request_duration_seconds "));
    CHECK(has(r.out, "http_client_request_duration_seconds_count{http_request_method=\"GET\",server_address=\"127.0.0.1\","
                         + port + ",url_scheme=\"http\",http_response_status_code=\"200\",network_protocol_version=\"1.1\"} 12\n"));
    CHECK(has(r.out, "roundtrip_client_connection_acquired_total{server_address=\"127.0.0.1\"," + port
                         + ",url_scheme=\"http\",roundtrip_connection_reused=\"false\",roundtrip_not_reused_reason=\"no_idle\"} 2\n"));
    CHECK(has(r.out, "http_client_request_time_in_queue_seconds_count{"));
    // The run ends by closing the client: both connections closed, none left open.
    CHECK(has(r.out, "roundtrip_close_reason=\"client_closed\"} 2\n"));
    CHECK(has(r.out, "http_connection_state=\"idle\"} 0\n"));

    auto json = cli("-n 2 --json --metrics -o body.out " + server.url());
    const auto lines = json.lines();
    REQUIRE(lines.size() > 3);
    CHECK(lines[2] == "{\"summary\":true,\"requests\":2,\"errors\":0,\"conns_opened\":1}");
    CHECK(lines[3].starts_with("# HELP "));
}

TEST_CASE("-L follows redirects, --max-redirs bounds them; --json says how many and where it ended")
{
    testing::test_server server([](const testing::server_request& req, testing::exchange& ex) {
        if (req.target == "/a")
            return ex.reply(302, "moved", {{"Location", "/b"}});
        if (req.target == "/loop")
            return ex.reply(307, "", {{"Location", "/loop"}});
        ex.reply(200, "at b");
    });
    auto plain = cli("-i " + server.url("/a"));
    CHECK(plain.status == 0);
    CHECK(plain.out.starts_with("HTTP/1.1 302"));
    auto followed = cli("-L " + server.url("/a"));
    CHECK(followed.status == 0);
    CHECK(followed.out == "at b");
    auto json = cli("-L --json " + server.url("/a"));
    CHECK(has(json.out, "\"status\":200,\"attempts\":2,\"error\":null,\"redirects\":1,\"final_url\":\""
                            + server.url("/b") + "\","));
    auto loop = cli("-L --max-redirs 3 --json " + server.url("/loop"));
    CHECK(loop.status == 1);
    CHECK(loop.err == "roundtrip: too_many_redirects: too many redirects\n");
    CHECK(has(loop.out, "\"attempts\":4,\"error\":\"too_many_redirects\",\"redirects\":3,\"final_url\":null,"));
    CHECK(cli("-L --max-redirs x " + server.url("/a")).status == 2);
    auto timeline = cli("-L --timeline " + server.url("/a"));
    CHECK(has(timeline.out, "\n  1 redirect followed before it; the response came from " + server.url("/b") + "\n"));
}

TEST_CASE("--compressed asks for a coded body and writes it decoded; one that does not decode is decoding_failed")
{
    // "hello, compressed world\n", gzipped.
    static const std::string gzipped("\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03\xcb\x48\xcd\xc9\xc9\xd7\x51\x48\xce\xcf"
                                     "\x2d\x28\x4a\x2d\x2e\x4e\x4d\x51\x28\xcf\x2f\xca\x49\xe1\x02\x00\x3f\xba\x39\x3c"
                                     "\x18\x00\x00\x00", 44);
    testing::test_server server([](const testing::server_request& req, testing::exchange& ex) {
        const auto asked = req.headers.find("Accept-Encoding");
        if (asked == req.headers.end())
            return ex.reply(200, "plain\n");
        if (req.target == "/corrupt")
            return ex.reply(200, gzipped.substr(0, 30), {{"Content-Encoding", "gzip"}});
        ex.reply(200, gzipped, {{"Content-Encoding", "gzip"}, {"X-Asked", std::string(asked->value())}});
    });
    CHECK(cli(server.url()).out == "plain\n");
    for (const std::string c : {"", "-c 2 "}) { // streamed, then buffered
        CAPTURE(c);
        auto decoded = cli("--compressed -i " + c + server.url());
        CHECK(decoded.status == 0);
        CHECK(has(decoded.out, "X-Asked: gzip, deflate, br, zstd\r\n"));
        CHECK_FALSE(has(decoded.out, "Content-Encoding"));
        CHECK(decoded.out.ends_with("\r\n\r\nhello, compressed world\n"));
        auto corrupt = cli("--compressed " + c + server.url("/corrupt"));
        CHECK(corrupt.status == 1);
        CHECK(corrupt.err == "roundtrip: decoding_failed: response body does not decode\n");
    }
    auto timeline = cli("--compressed --timeline " + server.url());
    CHECK(has(timeline.out, "  body decoded from gzip\n"));
}

TEST_CASE("-b and --cookie-jar keep cookies across hops, requests and runs, in curl's file format")
{
    testing::test_server server([](const testing::server_request& req, testing::exchange& ex) {
        const auto cookie = req.headers.find("Cookie");
        const std::string sent = cookie == req.headers.end() ? "" : std::string(cookie->value());
        if (req.target == "/login")
            return ex.reply(302, "", {{"Location", "/home"}, {"Set-Cookie", "session=abc; Path=/; HttpOnly"}});
        if (req.target == "/set")
            return ex.reply(200, "[" + sent + "]", {{"Set-Cookie", "seen=1"}});
        ex.reply(200, "[" + sent + "]");
    });
    const std::string jar = "cli_test_out/jar.txt";
    std::remove(jar.c_str());
    std::remove("cli_test_out/jar2.txt");
    // A -b file not there yet is an empty jar; the 302's cookie goes with the next hop.
    auto login = cli("-L -b " + jar + " --cookie-jar " + jar + " " + server.url("/login"));
    CHECK(login.status == 0);
    CHECK(login.out == "[session=abc]");
    const std::string saved = slurp(jar);
    CHECK(saved.starts_with("# Netscape HTTP Cookie File\n"));
    CHECK(has(saved, "#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\tsession\tabc\n"));
    // The next run sends what the last one saved.
    CHECK(cli("-b " + jar + " " + server.url("/home")).out == "[session=abc]");
    // Cookie data, after an -H Cookie of the user's.
    CHECK(cli("-H 'Cookie: mine=0' -b 'a=1; b=2' " + server.url("/home")).out == "[mine=0; a=1; b=2]");
    // The -n requests of one run share the jar; without one, nothing is kept.
    CHECK(cli("-n 2 --cookie-jar cli_test_out/jar2.txt " + server.url("/set")).out == "[][seen=1]");
    CHECK(cli("-n 2 " + server.url("/set")).out == "[][]");
    // A jar file keeps its mode (a new one is 0600: it holds sessions); /dev/null stays a device.
    REQUIRE(::chmod(jar.c_str(), 0640) == 0);
    CHECK(cli("-b " + jar + " --cookie-jar " + jar + " " + server.url("/set")).status == 0);
    struct stat mode {};
    REQUIRE(::stat(jar.c_str(), &mode) == 0);
    CHECK((mode.st_mode & 0777) == 0640);
    REQUIRE(::stat("cli_test_out/jar2.txt", &mode) == 0);
    CHECK((mode.st_mode & 0777) == 0600);
    CHECK(cli("--cookie-jar /dev/null " + server.url("/set")).status == 0);
    REQUIRE(::stat("/dev/null", &mode) == 0);
    CHECK(S_ISCHR(mode.st_mode));
    // A -b that names a directory is invalid configuration.
    auto directory = cli("-b cli_test_out " + server.url("/home"));
    CHECK(directory.status == 2);
    CHECK(directory.err == "roundtrip: invalid_config: cannot read -b cli_test_out: Is a directory\n");
    // A jar that cannot be written is the run's failure, named on one line.
    auto unwritable = cli("--cookie-jar cli_test_out/no/such/dir/jar " + server.url("/set"));
    CHECK(unwritable.status == 1);
    CHECK(unwritable.err == "roundtrip: other: cannot write --cookie-jar cli_test_out/no/such/dir/jar: No such file or directory\n");
}

TEST_CASE("--sleep-between shows in idle_us")
{
    testing::test_server server;
    auto r = cli("-n 2 --sleep-between 100 --json " + server.url());
    auto lines = r.lines();
    REQUIRE(lines.size() == 3);
    const auto at = lines[1].find("\"idle_us\":");
    REQUIRE(at != std::string::npos);
    CHECK(std::stoull(lines[1].substr(at + 10)) >= 90'000);
}

TEST_CASE("--trace writes every event as JSON on stderr, in order, for a new and a reused connection")
{
    testing::test_server server;
    auto r = cli("-n 2 --trace " + server.url());
    CHECK(r.status == 0);
    std::vector<std::string> names;
    std::istringstream in(r.err);
    for (std::string l; std::getline(in, l);) {
        REQUIRE(l.starts_with("{\"event\":\""));
        names.push_back(l.substr(10, l.find('"', 10) - 10));
    }
    // The body is streamed (-c 1): the call is done with the head, and the body's events follow.
    const std::vector<std::string> first{"call_start", "get_conn", "connect_start", "connect_done", "got_conn",
                                         "wrote_headers", "wrote_request", "got_first_response_byte",
                                         "response_headers", "attempt_done", "call_done", "response_body_done",
                                         "put_idle_conn"};
    const std::vector<std::string> second{"call_start", "get_conn", "got_conn", "wrote_headers", "wrote_request",
                                          "got_first_response_byte", "response_headers", "attempt_done", "call_done",
                                          "response_body_done", "put_idle_conn"};
    REQUIRE(names.size() >= first.size() + second.size());
    CHECK(std::vector<std::string>(names.begin(), names.begin() + 13) == first);
    CHECK(std::vector<std::string>(names.begin() + 13, names.begin() + 24) == second);
    CHECK(has(r.err, "\"reused\":true,\"was_idle\":true"));
    CHECK(has(r.err, "\"conn\":null"));
}

TEST_CASE("each error class has its line and exit status; invalid input reaches nothing")
{
    testing::test_server server([](const testing::server_request& req, testing::exchange& ex) {
        if (req.target == "/slow")
            ex.sleep(std::chrono::seconds(2));
        ex.reply(200);
    });
    const auto refused = testing::refused_port();
    auto r1 = cli("http://127.0.0.1:" + std::to_string(refused) + "/");
    CHECK(r1.status == 1);
    CHECK(has(r1.err, "roundtrip: connection_refused: "));
    auto r2 = cli("--timeout 0.2 " + server.url("/slow"));
    CHECK(r2.status == 1);
    CHECK(has(r2.err, "roundtrip: timeout: "));
    auto r3 = cli("'http://bad host/'");
    CHECK(r3.status == 2);
    CHECK(has(r3.err, "roundtrip: invalid_url: "));
    auto r4 = cli("-X 'GE T' " + server.url());
    CHECK(r4.status == 2);
    CHECK(has(r4.err, "roundtrip: invalid_method: "));
    auto r5 = cli("-H \"$(printf 'X-Evil: a\\rb')\" " + server.url());
    CHECK(r5.status == 2);
    CHECK(has(r5.err, "roundtrip: invalid_header: "));
    auto r6 = cli("-d @/no/such/file " + server.url());
    CHECK(r6.status == 2);
    CHECK(has(r6.err, "roundtrip: invalid_config: cannot read --data @/no/such/file: No such file or directory"));
    auto r7 = cli("--cacert /no/such/ca.pem " + server.url());
    CHECK(r7.status == 2);
    CHECK(has(r7.err, "roundtrip: invalid_config: cannot read --cacert /no/such/ca.pem: No such file or directory"));
    auto r8 = cli("--json ''");
    CHECK(r8.status == 2);
    CHECK(has(r8.out, "\"status\":null,\"attempts\":0,\"error\":\"invalid_url\""));
    CHECK(has(r8.out, "{\"summary\":true,\"requests\":1,\"errors\":1,\"conns_opened\":0}"));
    CHECK(server.requests() == 1); // only the /slow request reached the server
}

TEST_CASE("the response-side error classes: header_too_large, body_too_large, protocol_error, eof, connection_reset, dns_failure")
{
    testing::test_server server([](const testing::server_request& req, testing::exchange& ex) {
        if (req.target == "/garbage")
            ex.write_raw("HTTP/1.1 OK NOPE\r\n\r\n");
        else if (req.target == "/short")
            ex.write_raw("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
        else if (req.target == "/reset")
            return ex.reset();
        else
            return ex.reply(200, std::string(1000, 'x'), {{"X-Long", std::string(2000, 'h')}});
        ex.close();
    });
    struct expectation {
        std::string args;
        std::string line;
    };
    for (const auto& [args, line] : std::vector<expectation>{
             {"--max-header 1024 " + server.url("/big"), "roundtrip: header_too_large: "},
             {"--max-body 100 " + server.url("/big"), "roundtrip: body_too_large: "},
             {server.url("/garbage"), "roundtrip: protocol_error: "},
             {server.url("/short"), "roundtrip: eof: "},
             {server.url("/reset"), "roundtrip: "},
             {"http://no-such-host.invalid/", "roundtrip: dns_failure: "},
         }) {
        CAPTURE(args);
        auto r = cli(args);
        CHECK(r.status == 1);
        CHECK(has(r.err, line));
    }
    auto reset = cli(server.url("/reset"));
    CHECK((has(reset.err, "roundtrip: connection_reset: ") || has(reset.err, "roundtrip: eof: ")));
    auto quiet = cli("-s " + server.url("/short"));
    CHECK(quiet.status == 1);
    CHECK(quiet.err.empty());
}

TEST_CASE("-H, -X, -d @file, -i and -o shape the request and the output")
{
    testing::server_request seen;
    testing::test_server server([&](const testing::server_request& req, testing::exchange& ex) {
        seen = req;
        ex.reply(201, "made", {{"X-Reply", "yes"}});
    });
    std::ofstream("cli_test_body.json") << "{\"qty\":2}";
    auto r = cli("-H 'X-One: 1' -H 'Content-Type: application/json' -d @cli_test_body.json -i " + server.url("/o"));
    CHECK(r.status == 0);
    CHECK(seen.method == "POST");
    CHECK(seen.body == "{\"qty\":2}");
    CHECK(seen.headers["X-One"] == "1");
    CHECK(has(r.out, "HTTP/1.1 201 Scripted\r\n"));
    CHECK(has(r.out, "X-Reply: yes\r\n"));
    CHECK(r.out.ends_with("\r\n\r\nmade"));

    auto put = cli("-X PUT -d x -o cli_test_saved.txt -s " + server.url());
    CHECK(put.status == 0);
    CHECK(seen.method == "PUT");
    CHECK(put.out.empty());
    CHECK(slurp("cli_test_saved.txt") == "made");
}

TEST_CASE("--retry retries a 503 when safe; -v logs to stderr; --timeline draws the phases")
{
    std::atomic<int> n{0};
    testing::test_server server([&](const testing::server_request&, testing::exchange& ex) { ex.reply(n++ == 0 ? 503 : 200); });
    auto r = cli("--retry 2 --json " + server.url());
    CHECK(r.status == 0);
    CHECK(has(r.out, "\"status\":200,\"attempts\":2"));
    // The retry middleware's own event in --trace, with its fields; the 503's streamed body was read
    // away, so the retry reused its connection.
    n = 0;
    auto traced = cli("--retry 2 --trace " + server.url());
    CHECK(traced.status == 0);
    CHECK(has(traced.err, "{\"event\":\"retry_scheduled\""));
    CHECK(has(traced.err, "\"failed_attempt\":1,\"cause\":\"status\",\"delay_us\":"));
    CHECK(has(traced.err, "\"attempt\":2,\"conn\":1,\"reused\":true"));
    auto v = cli("-v " + server.url());
    CHECK(has(v.err, "--> GET " + server.url()));
    auto t = cli("-n 2 --timeline " + server.url());
    CHECK(has(t.out, "(new connection)"));
    CHECK(has(t.out, "(reused connection, idle "));
    CHECK(has(t.out, "  Server wait   |"));
    CHECK(has(t.out, "total"));
}

TEST_CASE("-v and the JSON redact credentials, pre-signed URL parameters included, as tracing does")
{
    testing::test_server server;
    const std::string url = "http://u:p@127.0.0.1:" + std::to_string(server.port()) + "/x?X-Goog-Signature=SECRET&X-Amz-Signature=SECRET2";
    auto v = cli("-v -H 'Authorization: Bearer SECRET3' '" + url + "'");
    CHECK(v.status == 0);
    CHECK_FALSE(has(v.err, "SECRET"));
    CHECK(has(v.err, "X-Goog-Signature=REDACTED"));
    auto j = cli("--json '" + url + "'");
    CHECK_FALSE(has(j.out, "SECRET"));
}

TEST_CASE("waiting for a connection is a phase of its own, not server time; a handed-over connection says so")
{
    // Three requests, one connection allowed: the second and third queue while the first is served.
    testing::test_server server([](const testing::server_request&, testing::exchange& ex) {
        ex.sleep(std::chrono::milliseconds(50));
        ex.reply(200, "ok");
    });
    auto j = cli("-n 3 -c 3 --max-conns-per-host 1 --json " + server.url());
    CHECK(j.status == 0);
    int queued = 0;
    for (std::size_t at = 0; (at = j.out.find("\"conn_wait\":", at)) != std::string::npos; ++at) {
        const long wait_us = std::atol(j.out.c_str() + at + 12);
        const std::size_t sw = j.out.find("\"server_wait\":", at);
        REQUIRE(sw != std::string::npos);
        const long server_us = std::atol(j.out.c_str() + sw + 14);
        CHECK(server_us < 90'000); // the server's own 50 ms, not the 100 ms the third request queued
        queued += wait_us >= 40'000;
    }
    CHECK(queued >= 1);
    CHECK(has(j.out, "\"handed_over\":true"));
    auto t = cli("-n 3 -c 3 --max-conns-per-host 1 --timeline " + server.url());
    CHECK(has(t.out, "  Conn wait     |"));
    CHECK(has(t.out, "(reused connection, handed over by another request)"));
    CHECK_FALSE(has(t.out, "idle      0 us"));
}

TEST_CASE("--json stays valid UTF-8 whatever the input, and -o still writes the body")
{
    testing::test_server server([](const testing::server_request&, testing::exchange& ex) { ex.reply(200, "saved"); });
    auto bad = cli("--json -X \"$(printf 'G\\377T')\" " + server.url());
    CHECK(bad.status == 2);
    CHECK(has(bad.out, "\"method\":\"G\xef\xbf\xbdT\""));
    auto saved = cli("--json -o cli_test_json_body.txt " + server.url());
    CHECK(saved.status == 0);
    CHECK(slurp("cli_test_json_body.txt") == "saved");
    auto full = cli("-o /dev/full " + server.url());
    CHECK(full.status == 1);
    CHECK(has(full.err, "could not write the output"));
}

TEST_CASE("--demo runs the connection-pooling demo and finishes by itself")
{
    auto r = cli("--demo");
    CHECK(r.status == 0);
    CHECK(has(r.out, "got_conn reused=true was_idle=true"));
    CHECK(has(r.out, "conn_closed reason=idle_timeout"));
}

TEST_CASE("https: --cacert trusts a CA, --insecure trusts anyone, and each TLS failure has its class")
{
    const auto& pki = testing::pki();
    testing::tls_options tls;
    tls.identity = pki.server;
    testing::test_server server(testing::reply_ok(), tls);
    const std::string ca = testing::write_temp_file("ca.pem", pki.ca_cert);

    auto trusted = cli("-s --cacert " + ca + " " + server.url());
    CHECK(trusted.status == 0);
    CHECK(trusted.out == "ok");
    auto untrusted = cli(server.url());
    CHECK(untrusted.status == 1);
    CHECK(has(untrusted.err, "roundtrip: tls_verify_failed: "));
    // Why, and whose: OpenSSL's reason and the certificate's subject, as curl and Go say.
    CHECK(has(untrusted.err, "(unable to get local issuer certificate; certificate of CN = "));
    testing::tls_options self_signed;
    self_signed.identity = pki.self_signed;
    testing::test_server odd(testing::reply_ok(), self_signed);
    CHECK(has(cli(odd.url()).err, "roundtrip: tls_verify_failed: server certificate not trusted (self-signed certificate; certificate of CN = "));
    testing::tls_options expired;
    expired.identity = pki.expired;
    testing::test_server stale(testing::reply_ok(), expired);
    CHECK(has(cli("--cacert " + ca + " " + stale.url()).err, "(certificate has expired; certificate of CN = "));
    auto insecure = cli("-s --insecure " + server.url());
    CHECK(insecure.status == 0);
    const std::string not_pem_file = testing::write_temp_file("not.pem", "not a certificate");
    auto not_pem = cli("--cacert " + not_pem_file + " " + server.url());
    CHECK(not_pem.status == 2);
    CHECK(has(not_pem.err, "roundtrip: invalid_config: --cacert " + not_pem_file + " holds no PEM certificate"));

    testing::tls_options elsewhere;
    elsewhere.identity = pki.server;
    testing::test_server other(testing::reply_ok(), elsewhere, "127.0.0.2");
    auto mismatch = cli("--cacert " + ca + " " + other.url());
    CHECK(mismatch.status == 1);
    CHECK(has(mismatch.err, "roundtrip: hostname_mismatch: "));
    CHECK(has(mismatch.err, "(IP address mismatch; certificate of CN = "));
    testing::test_server plain;
    auto handshake = cli("--cacert " + ca + " https://127.0.0.1:" + std::to_string(plain.port()) + "/");
    CHECK(handshake.status == 1);
    CHECK(has(handshake.err, "roundtrip: tls_handshake_failed: "));
    CHECK(server.requests() == 2);
}

TEST_CASE("-H without a colon is invalid_header: one line that does not echo the argument, exit 2")
{
    testing::test_server server;
    auto r = cli("-H 'X-Ok: 1' -H 'Authorization Bearer s3cret' " + server.url());
    CHECK(r.status == 2);
    CHECK(r.err.starts_with("roundtrip: invalid_header: "));
    CHECK(has(r.err, "colon"));
    CHECK(line_count(r.err) == 1);
    CHECK(!has(r.err, "s3cret"));
    auto json = cli("--json -H NoColonHere " + server.url());
    CHECK(json.status == 2);
    CHECK(has(json.out, "\"status\":null,\"attempts\":0,\"error\":\"invalid_header\""));
    CHECK(line_count(json.err) == 1);
    CHECK(cli("-s -H NoColonHere " + server.url()).err.empty());
    CHECK(server.requests() == 0);
}

TEST_CASE("-c 1 writes a body as it arrives, in flat memory; --max-body still ends it")
{
    endless_server endless;
    // Buffered, 100 MB would take more than 100 MiB (the whole body, in a string that doubles as it
    // grows); streamed, the program stays near its size at rest, whatever the body's size.
    auto r = cli_piped("--max-body 100000000 " + endless.server.url());
    CHECK(r.status == 1);
    CHECK(r.err.starts_with("roundtrip: body_too_large: "));
    CHECK(line_count(r.err) == 1);
    CHECK(r.bytes == 100'000'000); // everything up to the limit, nothing past it
    CHECK(r.bytes_while_running);
    CHECK(flat_memory(r.peak_rss_kib));

    // Nobody can receive it: the body is not read on.
    auto full = cli_piped("-o /dev/full " + endless.server.url());
    CHECK(full.status == 1);
    CHECK(has(full.err, "could not write the output"));

    // A Content-Length over the limit fails before any of the body is written.
    testing::test_server big([](const testing::server_request&, testing::exchange& ex) { ex.reply(200, std::string(1000, 'x')); });
    auto known = cli("--max-body 100 " + big.url());
    CHECK(known.status == 1);
    CHECK(known.err.starts_with("roundtrip: body_too_large: "));
    CHECK(known.out.empty());
}

TEST_CASE("a streamed body that fails after output began exits 1 with its class on one line")
{
    testing::test_server server([](const testing::server_request&, testing::exchange& ex) {
        ex.write_raw("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + std::string(300'000, 'x'));
        ex.close();
    });
    auto cut = cli("-i " + server.url());
    CHECK(cut.status == 1);
    CHECK(cut.err.starts_with("roundtrip: eof: "));
    CHECK(line_count(cut.err) == 1);
    CHECK(cut.out.starts_with("HTTP/1.1 200 OK\r\n"));
    CHECK(cut.out.ends_with("\r\n\r\n" + std::string(300'000, 'x')));

    endless_server endless;
    auto timed = cli_piped("--timeout 1 " + endless.server.url());
    CHECK(timed.status == 1);
    CHECK(timed.err.starts_with("roundtrip: timeout: "));
    CHECK(line_count(timed.err) == 1);
    CHECK(timed.bytes > 0);
    CHECK(timed.bytes_while_running);
    CHECK(flat_memory(timed.peak_rss_kib));
}

TEST_CASE("a streamed body shows in -v, --json, --timeline and --trace with its bytes and its time")
{
    // The body's second half comes 300 ms after the head: the body phase, not the server's wait.
    testing::test_server server([](const testing::server_request&, testing::exchange& ex) {
        ex.write_raw("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello");
        ex.sleep(std::chrono::milliseconds(300));
        ex.write_raw("world");
    });
    CHECK(cli(server.url()).out == "helloworld");

    auto v = cli("-v " + server.url());
    CHECK(v.out == "helloworld");
    CHECK(has(v.err, "<-- END BODY (10-byte body, streamed)"));

    auto json = cli("--json " + server.url());
    auto number = [&](std::string_view key) { return std::stoull(json.out.substr(json.out.find(key) + key.size())); };
    CHECK(number("\"total\":") - number("\"ttfb\":") >= 250'000);

    auto t = cli("--timeline " + server.url());
    const auto transfer = t.out.find("  Transfer ");
    REQUIRE(transfer != std::string::npos);
    const auto line = t.out.substr(transfer, t.out.find('\n', transfer) - transfer);
    CHECK(line.ends_with(" ms"));
    CHECK(std::stod(line.substr(line.rfind('|') + 1)) >= 250);

    auto trace = cli("--trace " + server.url());
    CHECK(has(trace.err, "\"event\":\"response_body_done\""));
    CHECK(has(trace.err, "\"bytes\":10,\"error\":null"));
}

TEST_CASE("-c above 1 writes each body whole, never interleaved")
{
    std::atomic<int> n{0};
    testing::test_server server([&](const testing::server_request&, testing::exchange& ex) {
        ex.reply(200, std::string(200'000, static_cast<char>('a' + n++)));
    });
    auto r = cli("-n 4 -c 2 " + server.url());
    CHECK(r.status == 0);
    REQUIRE(r.out.size() == 800'000);
    for (std::size_t i = 0; i < 4; ++i)
        CHECK(r.out.substr(i * 200'000, 200'000) == std::string(200'000, r.out[i * 200'000]));
}

TEST_CASE("--resolve pins a name to addresses: no lookup, and a bad pin is a usage error")
{
    testing::test_server server;
    const std::string port = std::to_string(server.port());
    auto r = cli("--trace --resolve pinned.invalid:" + port + ":127.0.0.1 http://pinned.invalid:" + port + "/");
    CHECK(r.status == 0);
    CHECK(has(r.err, "\"source\":\"pinned\""));
    CHECK(server.requests() == 1);

    // Several addresses, bracketed as IPv6 ones must be: the first refuses (nothing on 127.0.0.2), the next answers.
    r = cli("--trace --resolve pinned.invalid:" + port + ":127.0.0.2,[127.0.0.1] http://pinned.invalid:" + port + "/");
    CHECK(r.status == 0);
    CHECK(has(r.err, "\"remote\":\"127.0.0.2:" + port + "\",\"error\":\"connection_refused\""));
    CHECK(server.requests() == 2);

    r = cli("--resolve pinned.invalid:" + port + ":not-an-address http://pinned.invalid:" + port + "/");
    CHECK(r.status == 2);
    CHECK(has(r.err, "not an IP address"));
    r = cli("--resolve pinned.invalid http://pinned.invalid/");
    CHECK(r.status == 2);
    CHECK(has(r.err, "--resolve takes HOST:PORT:ADDRESS"));
}

TEST_CASE("--unix-socket sends the request through a Unix-domain socket, Host from the URL")
{
    testing::unix_server server("cli");
    auto r = cli("--unix-socket " + server.path() + " http://sidecar.local/health");
    CHECK(r.status == 0);
    CHECK(r.out == server.path() + " sidecar.local");
    r = cli("--unix-socket /nonexistent/roundtrip.sock http://sidecar.local/");
    CHECK(r.status == 1);
    CHECK(has(r.err, "connection_refused"));
}

TEST_CASE("-x sends through a proxy, --proxy-user gives its credentials, --noproxy skips it; a refusal names the status")
{
    testing::test_server server([](const testing::server_request& req, testing::exchange& ex) {
        ex.reply(200, "direct " + std::string(req.target));
    });
    testing::forward_proxy fwd({.require_authorization = "Basic dTpw"});
    const std::string origin = server.url("/x");

    auto r = cli("-x " + fwd.url() + " --proxy-user u:p " + origin);
    CHECK(r.status == 0);
    CHECK(r.out == "GET " + origin + " HTTP/1.1|Basic dTpw"); // the proxy answered, in absolute form
    r = cli("-x 127.0.0.1:" + std::to_string(fwd.port()) + " " + origin);
    CHECK(r.status == 0);
    CHECK(has(r.out, "denied")); // a 407 to an absolute-form request is a response
    r = cli("-x " + fwd.url() + " --noproxy 127.0.0.1 " + origin);
    CHECK(r.out == "direct /x");

    // A tunnel refused: the class, and the proxy's status, on one line; credentials never echoed.
    r = cli("-x http://u:wrong@127.0.0.1:" + std::to_string(fwd.port()) + " https://localhost:1/");
    CHECK(r.status == 1);
    CHECK(has(r.err, "roundtrip: proxy_error: "));
    CHECK(has(r.err, "(CONNECT answered 407)"));
    CHECK_FALSE(has(r.err, "wrong"));

    // An https:// proxy: TLS to it, verified with --cacert like the server's.
    testing::tls_front front(fwd.port(), testing::pki().server);
    const std::string ca = testing::write_temp_file("proxy-ca.pem", testing::pki().ca_cert);
    const std::string secure_proxy = "https://localhost:" + std::to_string(front.port());
    r = cli("-x " + secure_proxy + " --proxy-user u:p --cacert " + ca + " " + origin);
    CHECK(r.status == 0);
    CHECK(r.out == "GET " + origin + " HTTP/1.1|Basic dTpw");
    // The tunnel's time is a phase of its own, the proxy's TLS included.
    testing::test_server secure(testing::reply_ok(), [] {
        testing::tls_options o;
        o.identity = testing::pki().server;
        return o;
    }());
    r = cli("-x " + secure_proxy + " --proxy-user u:p --cacert " + ca + " --json https://localhost:"
            + std::to_string(secure.port()) + "/");
    CHECK(r.status == 0);
    CHECK(has(r.out, "\"status\":200"));
    CHECK_FALSE(has(r.out, "\"proxy\":0,"));
    r = cli("-x " + secure_proxy + " --proxy-user u:p --cacert " + ca + " --timeline https://localhost:"
            + std::to_string(secure.port()) + "/");
    CHECK(has(r.out, "\n  Proxy tunnel  |"));
    CHECK_FALSE(has(cli("--timeline " + origin).out, "Proxy tunnel"));

    r = cli("-x " + secure_proxy + " " + origin);
    CHECK(r.status == 1);
    CHECK(has(r.err, "roundtrip: tls_verify_failed: "));

    r = cli("-x socks4://old:1080 " + origin);
    CHECK(r.status == 2);
    CHECK(has(r.err, "-x takes a proxy URL"));
}

TEST_CASE("-x socks5h:// and socks5:// tunnel through a SOCKS5 proxy, --proxy-user gives its credentials; a refusal names the reply")
{
    testing::test_server server([](const testing::server_request& req, testing::exchange& ex) {
        ex.reply(200, "origin saw " + std::string(req.target));
    });
    testing::socks5_server socks({.username = "u", .password = "p"});
    const std::string at = "127.0.0.1:" + std::to_string(socks.port());
    auto r = cli("-x socks5h://" + at + " --proxy-user u:p " + server.url("/x"));
    CHECK(r.status == 0);
    CHECK(r.out == "origin saw /x");
    CHECK(socks.last_destination() == "ipv4 127.0.0.1:" + std::to_string(server.port()));
    r = cli("-x socks5://u:p@" + at + " --resolve sidecar.test:" + std::to_string(server.port()) + ":127.0.0.1 "
            + "http://sidecar.test:" + std::to_string(server.port()) + "/y");
    CHECK(r.out == "origin saw /y");
    CHECK(socks.last_destination() == "ipv4 127.0.0.1:" + std::to_string(server.port())); // resolved here

    testing::socks5_server refusing({.refuse_with = 2});
    r = cli("-x socks5h://127.0.0.1:" + std::to_string(refusing.port()) + " " + server.url("/"));
    CHECK(r.status == 1);
    CHECK(has(r.err, "roundtrip: proxy_error: "));
    CHECK(has(r.err, "(SOCKS5 reply 2)"));
}
