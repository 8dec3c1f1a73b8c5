// roundtrip-bench-server: the HTTP/1.1 server the load generators measure against. It listens on
// 127.0.0.1, answers every request with 200 and a body of a fixed size, and keeps connections alive
// for as long as the client wants:
//
//   roundtrip-bench-server --port P [--threads T] [--body-bytes B] [--tls [--write-ca FILE] [--no-resumption]]
//
// With port 0 it picks a free port. Either way it prints `listening on 127.0.0.1:PORT` once it
// accepts connections, and runs until SIGINT or SIGTERM.
//
// With --tls it speaks HTTPS, with a certificate for 127.0.0.1 signed by a CA made at startup (the
// tests' throwaway PKI; no key is stored anywhere). --write-ca FILE writes that CA's certificate, so
// a client can verify the server for real (SSL_CERT_FILE=FILE); --no-resumption turns TLS session
// resumption off, so that every handshake is a full one.
//
// It must not be what a benchmark measures, so the per-request work is the least Beast allows: the
// request is parsed, and the response is bytes serialized once at startup, written with one call.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "command_line.hpp"
#include <roundtrip/testing/test_certs.hpp>

#include <openssl/ssl.h>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using bench::parse_number;
using bench::usage_error;
namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

constexpr const char* program = "roundtrip-bench-server";
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Benchmarks send GETs; a body is read and dropped, up to this size, so that a client sending one
// does not break the connection.
constexpr std::uint64_t max_request_body = 1024 * 1024;
// The largest response body a client buffers by default (roundtrip's `limits::max_body_bytes`).
constexpr std::uint64_t max_body_bytes = 64 * 1024 * 1024;
constexpr std::uint64_t max_threads = 64;

struct settings {
    std::uint16_t port = 0;
    bool have_port = false;
    unsigned threads = 1;
    std::size_t body_bytes = 2;
    bool tls = false;
    std::string write_ca; // where to write the CA certificate; empty: nowhere
    bool resumption = true;
};

settings parse_command_line(int argc, char** argv)
{
    settings s;
    for (bench::arguments args(argc, argv); args.next();) {
        const std::string_view flag = args.flag();
        const auto value = [&] { return args.value(); };
        if (flag == "--port") {
            s.port = static_cast<std::uint16_t>(parse_number(flag, value(), 0, 65535));
            s.have_port = true;
        } else if (flag == "--threads")
            s.threads = static_cast<unsigned>(parse_number(flag, value(), 1, max_threads));
        else if (flag == "--body-bytes")
            s.body_bytes = static_cast<std::size_t>(parse_number(flag, value(), 0, max_body_bytes));
        else if (flag == "--tls")
            s.tls = true;
        else if (flag == "--write-ca")
            s.write_ca = value();
        else if (flag == "--no-resumption")
            s.resumption = false;
        else
            throw usage_error{"unknown option '" + std::string(flag) +
                              "' (usage: roundtrip-bench-server --port P [--threads T] [--body-bytes B] "
                              "[--tls [--write-ca FILE] [--no-resumption]])"};
    }
    if (!s.have_port)
        throw usage_error{"--port is required (0 picks a free one)"};
    if (!s.tls && (!s.write_ca.empty() || !s.resumption))
        throw usage_error{"--write-ca and --no-resumption need --tls"};
    return s;
}

// The two answers, serialized once: one that keeps the connection open, one that closes it.
struct canned_responses {
    std::string keep_alive;
    std::string closing;
};

std::string serialize(std::size_t body_bytes, bool keep_alive)
{
    http::response<http::string_body> res{http::status::ok, 11};
    res.set(http::field::server, program);
    res.set(http::field::content_type, "application/octet-stream");
    res.body().assign(body_bytes, 'x');
    res.keep_alive(keep_alive);
    res.prepare_payload();
    std::ostringstream out;
    out << res;
    return std::move(out).str();
}

// Answers requests on `stream` one at a time until the client closes, asks to close, or breaks the
// protocol. Several requests already in the buffer (pipelining) are answered in order.
template <class Stream>
asio::awaitable<void> answer_requests(Stream& socket, const canned_responses& answers)
{
    boost::beast::flat_buffer buffer;
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.body_limit(max_request_body);
        auto [read_error, read_bytes] = co_await http::async_read(socket, buffer, parser, use_tuple);
        if (read_error)
            break; // the client closed, or sent something that is not HTTP: nothing to answer
        // An HTTP/1.0 client gets `Connection: close`: keeping its connection would need a
        // `Connection: keep-alive` answer that no benchmark client asks for.
        const auto& req = parser.get();
        const bool keep = req.keep_alive() && req.version() >= 11;
        const std::string& answer = keep ? answers.keep_alive : answers.closing;
        auto [write_error, written] = co_await asio::async_write(socket, asio::buffer(answer), use_tuple);
        if (write_error || !keep)
            break;
    }
}

asio::awaitable<void> serve(tcp::socket socket, const canned_responses& answers)
{
    co_await answer_requests(socket, answers);
    // Shutting down the send side first lets the client read to the end of a `Connection: close`
    // answer instead of seeing a reset.
    error_code ignored;
    socket.shutdown(tcp::socket::shutdown_send, ignored);
    socket.close(ignored);
}

// Serves one HTTPS connection: the handshake, the requests, then close_notify, waiting for the
// client's at most briefly (a client that sent its own first is answered at once).
asio::awaitable<void> serve_tls(tcp::socket socket, ssl::context& ctx, const canned_responses& answers)
{
    ssl::stream<tcp::socket> stream(std::move(socket), ctx);
    auto [handshake_error] = co_await stream.async_handshake(ssl::stream_base::server, use_tuple);
    if (!handshake_error) {
        co_await answer_requests(stream, answers);
        asio::steady_timer patience(stream.get_executor(), std::chrono::milliseconds(100));
        patience.async_wait([&stream](error_code ec) {
            if (!ec)
                stream.next_layer().cancel();
        });
        co_await stream.async_shutdown(use_tuple);
        patience.cancel();
    }
    error_code ignored;
    stream.next_layer().close(ignored);
}

// The server's TLS context: the test PKI's certificate for 127.0.0.1, with session resumption (TLS
// 1.3 tickets, TLS 1.2 tickets and a session cache) on or off.
ssl::context make_tls_context(const settings& s)
{
    const auto& pki = roundtrip::testing::pki();
    ssl::context ctx(ssl::context::tls_server);
    ctx.use_certificate_chain(asio::buffer(pki.server.cert));
    ctx.use_private_key(asio::buffer(pki.server.key), ssl::context::pem);
    SSL_CTX* native = ctx.native_handle();
    if (s.resumption) {
        SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_SERVER);
    } else {
        SSL_CTX_set_options(native, SSL_OP_NO_TICKET);
        SSL_CTX_set_num_tickets(native, 0);
        SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
    }
    if (!s.write_ca.empty()) {
        std::ofstream out(s.write_ca, std::ios::binary | std::ios::trunc);
        out << pki.ca_cert;
        if (!out.flush())
            throw std::runtime_error("cannot write " + s.write_ca);
    }
    return ctx;
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, const canned_responses& answers,
                                  ssl::context* tls)
{
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer pause(ex);
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
        if (ec == asio::error::operation_aborted)
            co_return;
        if (ec) {
            // Out of descriptors, most likely: retrying at once would spin. Keep serving the
            // connections we have and try again shortly.
            std::fprintf(stderr, "%s: accept: %s\n", program, ec.message().c_str());
            pause.expires_after(std::chrono::milliseconds(10));
            co_await pause.async_wait(use_tuple);
            continue;
        }
        // Responses are small and written in one call, so Nagle's algorithm would only add delay.
        socket.set_option(tcp::no_delay(true), ec);
        if (tls)
            asio::co_spawn(ex, serve_tls(std::move(socket), *tls, answers), asio::detached);
        else
            asio::co_spawn(ex, serve(std::move(socket), answers), asio::detached);
    }
}

int run(const settings& s)
{
    const canned_responses answers{serialize(s.body_bytes, true), serialize(s.body_bytes, false)};
    std::optional<ssl::context> tls;
    if (s.tls)
        tls.emplace(make_tls_context(s));

    asio::io_context io{static_cast<int>(s.threads)};
    tcp::acceptor acceptor(io);
    const tcp::endpoint where(asio::ip::make_address_v4("127.0.0.1"), s.port);
    acceptor.open(where.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(where);
    acceptor.listen(asio::socket_base::max_listen_connections);
    std::printf("listening on 127.0.0.1:%u\n", static_cast<unsigned>(acceptor.local_endpoint().port()));
    std::fflush(stdout); // a script waits for this line through a pipe or a file

    // Stopping the io_context abandons the sessions in flight; their frames are destroyed with it.
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&io](error_code, int) { io.stop(); });

    asio::co_spawn(io, accept_loop(acceptor, answers, tls ? &*tls : nullptr), [](std::exception_ptr e) {
        if (e)
            std::rethrow_exception(e);
    });

    std::vector<std::thread> helpers;
    for (unsigned i = 1; i < s.threads; ++i)
        helpers.emplace_back([&io] { io.run(); });
    io.run();
    for (auto& t : helpers)
        t.join();
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    return bench::run_program(program, [&] { return parse_command_line(argc, argv); }, run);
}
