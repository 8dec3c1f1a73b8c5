// beast-client: the baseline of the comparison, a hand-written Boost.Beast HTTP/1.1 client with
// nothing a general client needs (no pool policy, no timeouts, no events, no retries): what the same
// parser and sockets cost with the least code around them. One thread runs an io_context; each of
// the C workers owns one connection (a plain socket or an OpenSSL stream over one), a read buffer it
// keeps across requests, and sends its next request when the previous response has been read.
//
//   beast-client --url URL --concurrency C --requests N [--new-conn] [--insecure]

#include "../counting_new.hpp"
#include "../load.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <memory>
#include <optional>

namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using tls_stream = asio::ssl::stream<tcp::socket>;

constexpr const char* usage_text =
    "usage: beast-client --url URL --concurrency C --requests N [--new-conn] [--insecure]\n"
    "Sends N GET requests with C workers over raw Beast streams and prints one JSON line.\n";

struct shared_state {
    asio::io_context& io;
    asio::ssl::context& tls;
    bench::url_parts url;
    tcp::endpoint server;
    std::string host_field;
    bool new_conn;
    std::uint64_t conns_opened = 0;
};

// One worker's connection: plain or TLS, opened when first needed and after the server closed it.
class connection {
public:
    // A flat_buffer left to size itself reads 512 bytes at a time (its read size follows its capacity,
    // which never grows while the parser consumes every body byte): 16 KiB, as roundtrip reads.
    explicit connection(shared_state& s) : s_(s) { buffer_.reserve(16 * 1024); }

    asio::awaitable<void> exchange(http::request<http::empty_body>& req, http::response<http::string_body>& res)
    {
        if (!open_)
            co_await open();
        if (tls_) {
            co_await http::async_write(*tls_, req, asio::use_awaitable);
            co_await http::async_read(*tls_, buffer_, res, asio::use_awaitable);
        } else {
            co_await http::async_write(*socket_, req, asio::use_awaitable);
            co_await http::async_read(*socket_, buffer_, res, asio::use_awaitable);
        }
        if (s_.new_conn || !res.keep_alive())
            close();
    }

    void close()
    {
        tls_.reset();
        socket_.reset();
        buffer_.clear();
        open_ = false;
    }

private:
    asio::awaitable<void> open()
    {
        if (s_.url.tls) {
            tls_.emplace(s_.io, s_.tls);
            co_await tls_->next_layer().async_connect(s_.server, asio::use_awaitable);
            tls_->next_layer().set_option(tcp::no_delay(true));
            co_await tls_->async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
        } else {
            socket_.emplace(s_.io);
            co_await socket_->async_connect(s_.server, asio::use_awaitable);
            socket_->set_option(tcp::no_delay(true));
        }
        ++s_.conns_opened;
        open_ = true;
    }

    shared_state& s_;
    std::optional<tcp::socket> socket_;
    std::optional<tls_stream> tls_;
    boost::beast::flat_buffer buffer_;
    bool open_ = false;
};

struct phase {
    explicit phase(std::uint64_t n) : record(n) {}
    bench::phase_record record;
    std::uint64_t next_index = 0;
    std::uint64_t workers_running = 0;
};

asio::awaitable<void> worker(shared_state& s, connection& conn, phase& p)
{
    while (p.next_index < p.record.count) {
        const std::uint64_t i = p.next_index++;
        const auto sent = bench::bench_clock::now();
        http::request<http::empty_body> req{http::verb::get, s.url.target, 11};
        req.set(http::field::host, s.host_field);
        http::response<http::string_body> res;
        try {
            co_await conn.exchange(req, res);
            if (res.result_int() != 200)
                ++p.record.errors;
        } catch (const boost::system::system_error&) {
            ++p.record.errors;
            conn.close();
        }
        p.record.latencies[i] = bench::bench_clock::now() - sent;
    }
    if (--p.workers_running == 0)
        p.record.finish(bench::allocation_count());
}

// Runs a phase to its end on the io_context: the workers' loops, then nothing left to run.
void run_phase(shared_state& s, std::vector<std::unique_ptr<connection>>& conns, phase& p)
{
    p.workers_running = std::min<std::uint64_t>(conns.size(), p.record.count);
    p.record.start(bench::allocation_count());
    for (std::uint64_t w = 0; w < p.workers_running; ++w)
        asio::co_spawn(s.io, worker(s, *conns[w], p), [](std::exception_ptr e) {
            if (e)
                std::rethrow_exception(e);
        });
    s.io.restart();
    s.io.run();
}

int run(const bench::load_settings& settings)
{
    asio::io_context io{1};
    asio::ssl::context tls(asio::ssl::context::tls_client);
    tls.set_default_verify_paths();
    tls.set_verify_mode(settings.insecure ? asio::ssl::verify_none : asio::ssl::verify_peer);
    shared_state s{io, tls, bench::split_url(settings.url), {}, {}, settings.new_conn};
    tcp::resolver resolver(io);
    s.server = *resolver.resolve(s.url.host, std::to_string(s.url.port)).begin();
    s.host_field = s.url.host + ":" + std::to_string(s.url.port);

    std::vector<std::unique_ptr<connection>> conns;
    for (std::uint64_t w = 0; w < settings.concurrency; ++w)
        conns.push_back(std::make_unique<connection>(s));

    phase warmup(bench::warmup_requests(settings.requests));
    run_phase(s, conns, warmup);
    const std::uint64_t opened_in_warmup = s.conns_opened;
    phase measured(settings.requests);
    run_phase(s, conns, measured);

    bench::figures f = bench::summarize(measured.record, true);
    f.conns_opened = s.conns_opened - opened_in_warmup;
    f.conns_opened_warmup = opened_in_warmup;
    bench::print_figures("beast", f);
    return 0;
}

} // namespace

int main(int argc, char** argv) { return bench::run_load_program("beast-client", usage_text, argc, argv, run); }
