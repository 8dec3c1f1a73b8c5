// roundtrip: a curl-like client over roundtrip's chain and pool, showing what happened to each
// connection (--json, --trace, --timeline). The output formats are a fixed contract: see --help and
// the CLI issue; tests in tools/cli/cli_test.cpp run this program against the loopback server.

#include "call_stats.hpp"
#include "options.hpp"
#include "timeline.hpp"
#include "trace.hpp"

#include "connection_pooling.hpp" // --demo runs the example's own code

#include <roundtrip/middleware/cookies.hpp>
#include <roundtrip/middleware/decompress.hpp>
#include <roundtrip/middleware/logging.hpp>
#include <roundtrip/middleware/metrics.hpp>
#include <roundtrip/middleware/metrics/prometheus.hpp>
#include <roundtrip/middleware/redirect.hpp>
#include <roundtrip/middleware/retry.hpp>

#include <roundtrip/client.hpp>
#include <roundtrip/error.hpp>
#include <roundtrip/redaction.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <filesystem>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <vector>

namespace roundtrip::cli {
namespace {

constexpr const char* program = "roundtrip";

bool is_invalid_input(const error_code& ec)
{
    switch (classify(ec)) {
    case condition::invalid_url:
    case condition::invalid_header:
    case condition::invalid_method:
    case condition::invalid_config: return true;
    default: return false;
    }
}

std::uint64_t us(clock::duration d)
{
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
}

// Counts connections opened: got_conn on a connection that served nothing before.
struct conn_counter : observer {
    std::uint64_t opened = 0; // only touched on the client's strand, read after it stops
    void on_event(const event& e) noexcept override
    {
        if (auto g = std::get_if<got_conn>(&e.data); g && !g->reused)
            ++opened;
    }
};

class runner {
public:
    runner(const options& o) : o_(o), out_(stdout) {}

    int run()
    {
        // Input checks that need no connection: unreadable files are invalid configuration.
        error_code input_error;
        std::string body;
        // Each names the file and what the system said of it, as curl does.
        const auto unusable = [&](error e, std::string problem) {
            if (!input_error)
                input_error = e, input_problem_ = std::move(problem);
        };
        if (o_.cacert && !std::ifstream(*o_.cacert))
            unusable(error::invalid_config, "cannot read --cacert " + *o_.cacert + ": " + std::strerror(errno));
        if (o_.body && o_.body->starts_with("@")) {
            std::ifstream file(o_.body->substr(1), std::ios::binary);
            std::ostringstream read;
            if (!file || !(read << file.rdbuf()))
                unusable(error::invalid_config, "cannot read --data " + *o_.body + ": " + std::strerror(errno));
            body = read.str();
        } else if (o_.body) {
            body = *o_.body;
        }
        if (o_.output_file) {
            output_.open(*o_.output_file, std::ios::binary);
            if (!output_)
                unusable(error::invalid_config, "cannot write -o " + *o_.output_file + ": " + std::strerror(errno));
        }
        if (!o_.header_problem.empty())
            unusable(error::invalid_header_name, o_.header_problem);
        if (o_.cookie || o_.cookie_jar) // a jar for the whole run: the -n requests share its cookies
            jar_ = std::make_shared<cookie_jar>();
        if (o_.cookie && o_.cookie->find('=') != std::string::npos) { // data, as curl tells them apart
            cookie_data_ = *o_.cookie;
        } else if (o_.cookie) {
            std::ifstream file(*o_.cookie, std::ios::binary);
            const int why = errno;
            std::ostringstream read;
            if (file && std::filesystem::is_directory(*o_.cookie))
                unusable(error::invalid_config, "cannot read -b " + *o_.cookie + ": " + std::strerror(EISDIR));
            else if (file && (read << file.rdbuf() || file.peek() == std::char_traits<char>::eof()))
                jar_->load_netscape(read.str());
            else if (file)
                unusable(error::invalid_config, "cannot read -b " + *o_.cookie + ": read failed");
            else if (why != ENOENT) // a file not there yet is an empty jar, as in curl (-b f --cookie-jar f)
                unusable(error::invalid_config, "cannot read -b " + *o_.cookie + ": " + std::strerror(why));
        }
        method_ = o_.method ? *o_.method : o_.body ? "POST" : "GET";
        body_ = std::move(body);

        asio::io_context io{1};
        client_options options{.observers = {counter_}, .timeout = o_.timeout};
        if (o_.trace)
            options.observers.push_back(std::make_shared<trace_writer>(stderr, clock::now()));
        if (o_.metrics) {
            metrics_ = std::make_shared<http_metrics>();
            options.observers.push_back(metrics_->new_observer());
        }
        if (o_.verbose) {
            log_ = spdlog::stderr_logger_st("roundtrip-cli");
            log_->set_pattern("%v");
            log_->set_level(spdlog::level::info);
            options.middleware.push_back(logging({.logger = log_, .detail = log_detail::headers, .lifecycle = false}));
        }
        if (o_.follow) // above retry: each hop is retried on its own
            options.middleware.push_back(redirect({.max_redirects = o_.max_redirects}));
        if (jar_) // beneath redirect: every hop sends and stores its own
            options.middleware.push_back(cookies(jar_));
        if (o_.compressed) // beneath redirect, so every hop asks for it; above retry
            options.middleware.push_back(decompress({.max_body_bytes = o_.max_body.value_or(limits{}.max_body_bytes)}));
        if (o_.retries > 0)
            options.middleware.push_back(retry({.max_retries = o_.retries}));
        auto& t = options.transport;
        if (o_.connect_timeout)
            t.timeouts.connect = *o_.connect_timeout;
        if (o_.max_conns_per_host)
            t.pool.max_conns_per_host = *o_.max_conns_per_host;
        if (o_.idle_timeout)
            t.pool.idle_timeout = *o_.idle_timeout;
        if (o_.max_body)
            t.limits.max_body_bytes = *o_.max_body;
        if (o_.max_header)
            t.limits.max_header_bytes = *o_.max_header;
        if (!o_.resolve.empty()) {
            t.dial.pins = std::make_shared<name_pins>();
            for (const auto& p : o_.resolve)
                t.dial.pins->pin(p.host, p.port, p.addresses);
        }
        if (o_.unix_socket)
            t.dial.unix_socket = *o_.unix_socket;
        if (o_.proxy) // -x; NO_PROXY from the environment still applies unless --noproxy replaces it
            t.dial.proxy = proxy_for_all(*o_.proxy, o_.noproxy ? *o_.noproxy : no_proxy_from_environment());
        else if (o_.noproxy)
            t.dial.proxy = proxy_from_environment(o_.noproxy->c_str());
        t.tls.insecure_skip_verify = o_.insecure;
        if (o_.cacert && !input_error)
            t.tls.ca_file = *o_.cacert;
        std::optional<client> c;
        try {
            c.emplace(io.get_executor(), options);
        } catch (const boost::system::system_error&) { // a CA file that is not PEM
            unusable(error::invalid_config, "--cacert " + *o_.cacert + " holds no PEM certificate");
            options.transport.tls = {};
            c.emplace(io.get_executor(), std::move(options));
        }
        client_ = &*c;

        workers_left_ = std::min(o_.concurrency, o_.requests);
        // One worker writes each body as it arrives; several buffer theirs, so that bodies are
        // written whole and never interleaved.
        streamed_ = workers_left_ == 1;
        if (streamed_)
            piece_.resize(64 * 1024);
        for (unsigned i = 0; i < workers_left_; ++i)
            asio::co_spawn(io, worker(input_error), asio::detached);
        io.run(); // returns when the last worker has closed the client
        if (o_.json)
            std::fprintf(out_, "{\"summary\":true,\"requests\":%u,\"errors\":%llu,\"conns_opened\":%llu}\n",
                         o_.requests, static_cast<unsigned long long>(errors_),
                         static_cast<unsigned long long>(counter_->opened));
        if (metrics_) // last, after the JSON lines: the client is closed, its connections' ends counted
            std::fputs(prometheus_text(metrics_->collect()).c_str(), out_);
        output_.flush();
        bool lost_output = (output_.is_open() && !output_) || std::fflush(out_) != 0 || std::ferror(out_);
        if (lost_output && !o_.silent)
            std::fprintf(stderr, "%s: other: could not write the output\n", program);
        if (o_.cookie_jar && !input_error && !save_cookies(*o_.cookie_jar)) {
            lost_output = true;
            if (!o_.silent)
                std::fprintf(stderr, "%s: other: cannot write --cookie-jar %s: %s\n", program, o_.cookie_jar->c_str(),
                             std::strerror(errno));
        }
        return invalid_input_ ? 2 : (errors_ || lost_output) ? 1 : 0;
    }

private:
    // Writes the jar. A regular file (or none yet) is replaced whole: the jar goes to a new file
    // beside it, made only by us (O_EXCL, never through a link), with the old file's mode (0600
    // when new: it holds sessions), synced, then renamed over it, so a failed write leaves the old
    // one. Anything else (/dev/null, a FIFO) is written in place, as curl does. errno says why not.
    bool save_cookies(const std::string& given)
    {
        // Through a symbolic link, the file it names is the one replaced (the link stays).
        std::string path = given;
        if (struct stat link {}; ::lstat(given.c_str(), &link) == 0 && S_ISLNK(link.st_mode))
            if (char* target = ::realpath(given.c_str(), nullptr)) {
                path = target;
                std::free(target);
            }
        const std::string text = jar_->save_netscape();
        const auto write_all = [&](int fd) {
            for (std::size_t at = 0; at < text.size();) {
                const ssize_t n = ::write(fd, text.data() + at, text.size() - at);
                if (n < 0 && errno == EINTR)
                    continue;
                if (n == 0)
                    errno = EIO;
                if (n <= 0)
                    return false;
                at += static_cast<std::size_t>(n);
            }
            return true;
        };
        const auto give_up = [](int fd, const std::string& staged) {
            const int why = errno;
            if (fd >= 0)
                ::close(fd);
            if (!staged.empty())
                ::unlink(staged.c_str());
            errno = why;
            return false;
        };
        struct stat old {};
        const bool exists = ::stat(path.c_str(), &old) == 0;
        if (exists && !S_ISREG(old.st_mode)) {
            const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
            if (fd < 0 || !write_all(fd))
                return give_up(fd, {});
            return ::close(fd) == 0;
        }
        std::string staged = path + ".XXXXXX";
        const int fd = ::mkstemp(staged.data()); // O_EXCL, mode 0600
        if (fd < 0)
            return false;
        if ((exists && ::fchmod(fd, old.st_mode & 07777) != 0) || !write_all(fd) || ::fsync(fd) != 0)
            return give_up(fd, staged);
        if (::close(fd) != 0)
            return give_up(-1, staged);
        if (std::rename(staged.c_str(), path.c_str()) != 0)
            return give_up(-1, staged);
        return true;
    }

    asio::awaitable<void> worker(error_code input_error)
    {
        while (next_ < o_.requests) {
            ++next_;
            auto stats = std::make_shared<call_stats>();
            request req(method_, o_.url);
            for (const auto& [name, value] : o_.headers)
                req.headers.insert(name, value);
            if (!cookie_data_.empty()) { // after an -H Cookie, as curl puts them together
                const auto own = req.headers.find("Cookie");
                req.headers.set("Cookie", own == req.headers.end() ? cookie_data_
                                                                   : std::string(own->value()) + "; " + cookie_data_);
            }
            req.body = body_;
            req.stream_response = streamed_;
            req.observe(stats);
            const auto start = clock::now();
            result r;
            if (input_error)
                r.error = input_error;
            else
                r = co_await client_->async_round_trip(std::move(req), asio::use_awaitable);
            if (!r.error && streamed_) {
                write_head(r.response);
                // A body that fails is the request's failure, as when it is buffered.
                const auto deadline = o_.timeout > clock::duration::zero() ? start + o_.timeout : clock::time_point::max();
                r.error = co_await write_streamed_body(r.response, deadline);
            }
            report(r, *stats, start, clock::now()); // the body phase, streamed or not, ends here
            if (o_.sleep_between > clock::duration::zero() && next_ < o_.requests) {
                asio::steady_timer pause(co_await asio::this_coro::executor, o_.sleep_between);
                co_await pause.async_wait(asio::use_awaitable);
            }
        }
        if (--workers_left_ == 0)
            client_->close(); // idle connections would keep the loop running
    }

    void report(const result& r, const call_stats& s, clock::time_point start, clock::time_point end)
    {
        const auto total = end - start;
        const auto ttfb = s.first_byte == clock::time_point{} ? clock::duration{} : s.first_byte - start;
        // The server's own time: from the final attempt's connection to its first response byte.
        const auto server_wait = s.first_byte == clock::time_point{} || !s.got_connection
                                     ? clock::duration{}
                                     : s.first_byte - s.got_connection_at;
        if (r.error) {
            ++errors_;
            invalid_input_ = invalid_input_ || is_invalid_input(r.error);
            std::string message = r.error.message();
            if (!input_problem_.empty()) // found here, not by the library: say what is wrong with it
                message = input_problem_;
            else if (!s.verify_error.empty()) // why the certificate was refused, and whose it is
                message += " (" + s.verify_error + "; certificate of " + s.peer_subject + ")";
            else if (s.proxy_socks && s.proxy_status != 0) // a refusal: proxy_error, or connection_refused
                message += " (SOCKS5 reply " + std::to_string(s.proxy_status) + ")";
            else if (r.error == error::proxy_error && s.proxy_status != 0 && s.proxy_status / 100 != 2)
                message += " (CONNECT answered " + std::to_string(s.proxy_status) + ")";
            if (!o_.silent)
                std::fprintf(stderr, "%s: %s: %s\n", program, std::string(error_class(r.error)).c_str(),
                             message.c_str());
        }
        const std::string url = redaction_.url(o_.url);
        if (!r.error && !streamed_) {
            write_head(r.response);
            write_body(r.response.body);
        }
        if (o_.json) {
            std::fprintf(out_,
                         "{\"method\":%s,\"url\":%s,\"status\":%s,\"attempts\":%u,\"error\":%s,"
                         "\"redirects\":%u,\"final_url\":%s,"
                         "\"conn\":{\"reused\":%s,\"was_idle\":%s,\"handed_over\":%s,\"idle_us\":%llu},"
                         "\"timings_us\":{\"conn_wait\":%llu,\"dns\":%llu,\"connect\":%llu,\"proxy\":%llu,\"tls\":%llu,"
                         "\"server_wait\":%llu,\"ttfb\":%llu,\"total\":%llu}}\n",
                         json_string(method_).c_str(), json_string(url).c_str(),
                         r.error ? "null" : std::to_string(r.response.status).c_str(), r.attempt.attempts,
                         r.error ? json_string(error_class(r.error)).c_str() : "null", s.redirects,
                         r.error ? "null" : json_string(redaction_.url(r.response.final_url ? *r.response.final_url : o_.url)).c_str(),
                         s.reused ? "true" : "false", s.was_idle ? "true" : "false", s.handed_over() ? "true" : "false",
                         static_cast<unsigned long long>(s.was_idle ? us(s.idle) : 0),
                         static_cast<unsigned long long>(us(s.connection_wait())),
                         static_cast<unsigned long long>(us(s.dns)), static_cast<unsigned long long>(us(s.connect)),
                         static_cast<unsigned long long>(us(s.proxy)), static_cast<unsigned long long>(us(s.tls)), static_cast<unsigned long long>(us(server_wait)),
                         static_cast<unsigned long long>(us(ttfb)), static_cast<unsigned long long>(us(total)));
            return;
        }
        if (!r.error && o_.timeline) {
            const std::string title = method_ + " " + url + "  " + std::to_string(r.response.status);
            const std::string came_from = redaction_.url(r.response.final_url ? *r.response.final_url : o_.url);
            std::fputs(timeline(title, s, start, end, came_from, ::isatty(::fileno(out_)) != 0).c_str(), out_);
        }
    }

    // Whether stdout shows responses: --json, --timeline and --metrics print their own lines there
    // instead.
    bool shows_responses() const { return !o_.json && !o_.timeline && !o_.metrics; }

    // Writes the status line and header fields (-i).
    void write_head(const response& resp)
    {
        if (!o_.include_headers || !shows_responses())
            return;
        std::fprintf(out_, "HTTP/%u.%u %u %s\r\n", resp.version / 10, resp.version % 10, resp.status,
                     resp.reason.c_str());
        for (const auto& f : resp.headers)
            std::fprintf(out_, "%s: %s\r\n", std::string(f.name_string()).c_str(), std::string(f.value()).c_str());
        std::fputs("\r\n", out_);
    }

    // Writes body bytes to -o FILE, else to stdout when it shows responses.
    void write_body(std::string_view bytes)
    {
        if (output_.is_open())
            output_.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        else if (shows_responses())
            std::fwrite(bytes.data(), 1, bytes.size(), out_);
    }

    // Reads the streamed body a piece at a time and writes each piece as it arrives, so memory stays
    // flat whatever the body's size. Returns why the body failed. No size limit unless --max-body
    // (curl has none either); the transport applies none to a streamed body, so it is counted here.
    asio::awaitable<error_code> write_streamed_body(response& resp, clock::time_point deadline)
    {
        const std::uint64_t limit = o_.max_body.value_or(std::numeric_limits<std::uint64_t>::max());
        std::uint64_t bytes = 0;
        error_code failed;
        if (auto length = resp.headers.find("Content-Length"); length != resp.headers.end()) {
            std::uint64_t declared = 0;
            const std::string_view v = length->value();
            if (std::from_chars(v.data(), v.data() + v.size(), declared).ec == std::errc{} && declared > limit)
                failed = error::body_too_large; // known too large: write none of it
        }
        while (!failed) {
            auto [ec, n] = co_await resp.body_stream.async_read_some(asio::buffer(piece_),
                                                                      asio::as_tuple(asio::use_awaitable));
            if (ec == asio::error::eof)
                break;
            failed = ec;
            const std::size_t kept = static_cast<std::size_t>(std::min<std::uint64_t>(n, limit - bytes));
            if (kept < n)
                failed = error::body_too_large; // the bytes up to the limit are written, none past it
            write_body({piece_.data(), kept});
            bytes += kept;
            // Flushed piece by piece so the body shows as it arrives; a body nobody can receive
            // (disk full, closed pipe) is not read on: run() reports the lost output.
            if (output_.is_open() ? !output_.flush() : std::fflush(out_) != 0)
                break;
            // The transport holds the deadline only against a read that waits: a body that never
            // pauses would run past it (an endless one, forever).
            if (!failed && clock::now() >= deadline)
                failed = error::deadline_exceeded;
        }
        resp.body_stream.close(); // a body given up early is drained a little, or its connection closed
        if (log_ && failed)
            log_->info("<-- FAILED BODY {}: {} (after {} bytes)", error_class(failed), failed.message(), bytes);
        else if (log_)
            log_->info("<-- END BODY ({}-byte body, streamed)", bytes);
        co_return failed;
    }

    const options& o_;
    std::FILE* out_;
    std::ofstream output_;
    std::string method_, body_;
    redaction redaction_;
    std::shared_ptr<conn_counter> counter_ = std::make_shared<conn_counter>();
    std::shared_ptr<spdlog::logger> log_; // -v
    std::shared_ptr<http_metrics> metrics_; // --metrics
    std::shared_ptr<cookie_jar> jar_;       // -b, --cookie-jar
    std::string cookie_data_;               // -b NAME=VALUE
    client* client_ = nullptr;
    bool streamed_ = false;  // bodies are written as they arrive (one worker)
    std::vector<char> piece_; // what one read of a streamed body fills
    // Only touched on the io_context's one thread:
    unsigned next_ = 0, workers_left_ = 0;
    std::uint64_t errors_ = 0;
    bool invalid_input_ = false;
    std::string input_problem_; // what is wrong with the command line's input, when something is
};

} // namespace
} // namespace roundtrip::cli

int main(int argc, char** argv)
{
    using namespace roundtrip::cli;
    options o;
    try {
        o = parse(argc, argv);
    } catch (const usage_error& e) {
        std::fprintf(stderr, "%s: %s (see %s --help)\n", program, e.message.c_str(), program);
        return 2;
    }
    if (o.help) {
        std::fputs(help_text, stdout);
        return 0;
    }
    if (o.demo)
        return connection_pooling_demo();
    if (!o.url_given) {
        std::fprintf(stderr, "usage: %s [options] URL   (%s --help for more)\n", program, program);
        return 2;
    }
    return runner(o).run();
}
