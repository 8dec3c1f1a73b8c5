#include <roundtrip/testing/test_server.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <sys/socket.h>

#include <condition_variable>
#include <list>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

namespace roundtrip::testing {

namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

handler reply_ok()
{
    return [](const server_request&, exchange& ex) { ex.reply(200, "ok"); };
}

std::uint16_t refused_port()
{
    test_server gone;
    return gone.port();
}

namespace {

// ALPN: picks http/1.1 when the client offers it; otherwise the handshake goes on without ALPN.
int select_http11(SSL*, const unsigned char** out, unsigned char* out_len, const unsigned char* offered,
                  unsigned offered_len, void*)
{
    static constexpr unsigned char ours[] = "\x08http/1.1";
    unsigned char* selected = nullptr;
    if (SSL_select_next_proto(&selected, out_len, ours, sizeof ours - 1, offered, offered_len)
        != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
}

// One context per server, shared by its connections, because the session cache and the ticket keys
// live in it: a context per connection would make resumption impossible.
ssl::context make_tls_context(const tls_options& o)
{
    ssl::context ctx(ssl::context::tls_server);
    ctx.use_certificate_chain(asio::buffer(o.identity.cert));
    ctx.use_private_key(asio::buffer(o.identity.key), ssl::context::pem);
    SSL_CTX* native = ctx.native_handle();
    // OpenSSL refuses to resume a session whose id context is unset once it verifies peers, and
    // fails that handshake instead of falling back to a full one.
    static constexpr unsigned char id_context[] = "roundtrip test_server";
    if (SSL_CTX_set_session_id_context(native, id_context, sizeof id_context - 1) != 1)
        throw std::invalid_argument("test_server: cannot set the session id context");
    if (!o.client_ca.empty()) {
        ctx.add_certificate_authority(asio::buffer(o.client_ca));
        ctx.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    }
    if (o.session_tickets) {
        SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_SERVER);
    } else {
        // TLS 1.3 would otherwise still issue tickets, stateful ones backed by the cache.
        SSL_CTX_set_options(native, SSL_OP_NO_TICKET);
        if (SSL_CTX_set_num_tickets(native, 0) != 1)
            throw std::invalid_argument("test_server: cannot turn TLS 1.3 tickets off");
        SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
    }
    if (o.alpn_http11)
        SSL_CTX_set_alpn_select_cb(native, &select_http11, nullptr);
    if (o.max_version != 0 && SSL_CTX_set_max_proto_version(native, o.max_version) != 1)
        throw std::invalid_argument("test_server: unknown max_version " + std::to_string(o.max_version));
    return ctx;
}

// The name on one line, "CN = roundtrip-test-client"; empty if OpenSSL cannot print it.
std::string one_line(const X509_NAME* name)
{
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
    if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_ONELINE) < 0)
        return {};
    char* data = nullptr;
    long size = BIO_get_mem_data(bio.get(), &data);
    return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

} // namespace

struct test_server::impl {
    struct conn;

    impl(handler h, const tls_options* tls, std::string_view address, std::uint16_t port)
        : handle(std::move(h)), acceptor(io)
    {
        if (tls) {
            tls_context.emplace(make_tls_context(*tls));
            close_notify = tls->close_notify;
        }
        tcp::endpoint at(asio::ip::make_address(address), port);
        acceptor.open(at.protocol());
        acceptor.set_option(tcp::acceptor::reuse_address(true));
        acceptor.bind(at);
        acceptor.listen();
        local = acceptor.local_endpoint();
        accept_thread = std::thread([this] { accept_loop(); });
    }

    void accept_loop();
    void stop();
    void record_handshake(SSL* ssl);

    // Sleeps up to `d`; returns early when the server stops.
    void sleep(std::chrono::milliseconds d)
    {
        std::unique_lock lock(mutex);
        wake.wait_for(lock, d, [this] { return stopping; });
    }

    handler handle;
    asio::io_context io;
    tcp::acceptor acceptor;
    tcp::endpoint local;
    std::thread accept_thread;
    std::atomic<std::size_t> requests{0};
    std::atomic<std::size_t> connections{0};
    std::optional<ssl::context> tls_context; // engaged in TLS mode; set before the first accept
    bool close_notify = true;
    std::atomic<std::size_t> handshakes{0};
    std::atomic<std::size_t> resumed_handshakes{0};
    std::mutex mutex; // guards stopping, conns and last_client_subject
    std::condition_variable wake;
    bool stopping = false;
    std::list<std::unique_ptr<conn>> conns;
    std::string last_client_subject;
};

struct test_server::impl::conn final : exchange {
    conn(impl& server, tcp::socket s) : owner(server), socket(std::move(s))
    {
        if (owner.tls_context)
            tls.emplace(socket, *owner.tls_context);
    }

    void serve()
    {
        if (handshake())
            answer_requests();
        finish();
        done = true;
    }

    // True when the connection is ready for HTTP. A failed TLS handshake is a test's expected
    // outcome (a rejected certificate), not the server's failure, so it only ends the connection.
    bool handshake()
    {
        if (!tls)
            return true;
        boost::system::error_code ec;
        tls->handshake(ssl::stream_base::server, ec);
        if (ec)
            return false;
        handshake_done = true;
        owner.record_handshake(tls->native_handle());
        return true;
    }

    void answer_requests()
    {
        boost::beast::flat_buffer buffer;
        while (!closing) {
            http::request_parser<http::string_body> parser;
            parser.body_limit(64 * 1024 * 1024);
            boost::system::error_code ec;
            on_stream([&](auto& stream) { http::read_header(stream, buffer, parser, ec); });
            if (ec)
                break;
            ++owner.requests;
            ++index;
            const auto& in = parser.get();
            const auto expect = in[http::field::expect];
            const bool confirm_first = boost::beast::iequals(expect, "100-continue");
            if (!confirm_first && !read_rest(buffer, parser))
                break;
            server_request req{std::string(in.method_string()), std::string(in.target()), in.version(),
                               static_cast<const header_fields&>(in.base()), in.body()};
            if (!in.keep_alive())
                closing = true;
            unread = confirm_first ? std::pair{&buffer, &parser} : std::pair<boost::beast::flat_buffer*, decltype(&parser)>{};
            owner.handle(req, *this);
            if (unread.second && !parser.is_done())
                closing = true; // the client will not send the body: the next bytes are not a request
            unread = {};
        }
    }

    bool read_rest(boost::beast::flat_buffer& buffer, http::request_parser<http::string_body>& parser)
    {
        boost::system::error_code ec;
        on_stream([&](auto& stream) { http::read(stream, buffer, parser, ec); });
        return !ec;
    }

    std::string read_body() override
    {
        if (!unread.second || !read_rest(*unread.first, *unread.second))
            return {};
        return unread.second->get().body();
    }

    // Runs `f` on the stream requests travel on: the TLS stream in TLS mode, else the socket.
    template <class F>
    void on_stream(F f)
    {
        if (tls)
            f(*tls);
        else
            f(socket);
    }

    void finish()
    {
        boost::system::error_code ignored;
        if (handshake_done && owner.close_notify && socket.is_open()) {
            // Asio's shutdown() would send close_notify and then block until the client's arrives,
            // which an idle pooled client never sends. Marking the client's as already received
            // makes OpenSSL stop after sending ours.
            SSL* native = tls->native_handle();
            SSL_set_shutdown(native, SSL_get_shutdown(native) | SSL_RECEIVED_SHUTDOWN);
            tls->shutdown(ignored);
        }
        socket.shutdown(tcp::socket::shutdown_send, ignored);
        // Drain briefly so the client reads our FIN rather than a reset.
        char scratch[512];
        for (int i = 0; i < 20 && socket.available(ignored) > 0; ++i)
            socket.read_some(asio::buffer(scratch), ignored);
        close_now();
    }

    // Closes the socket under the server's mutex, which stop() holds while it shuts sockets down.
    void close_now()
    {
        std::lock_guard lock(owner.mutex);
        boost::system::error_code ignored;
        socket.close(ignored);
    }

    void reply(unsigned status, std::string_view body,
               std::vector<std::pair<std::string, std::string>> extra) override
    {
        std::string out = "HTTP/1.1 " + std::to_string(status) + " Scripted\r\nContent-Length: "
                          + std::to_string(body.size()) + "\r\n";
        for (auto& [k, v] : extra)
            out += k + ": " + v + "\r\n";
        if (closing)
            out += "Connection: close\r\n";
        out += "\r\n";
        out += body;
        write_raw(out);
    }

    void write_raw(std::string_view bytes) override
    {
        boost::system::error_code ignored;
        if (tls)
            asio::write(*tls, asio::buffer(bytes), ignored);
        else
            asio::write(socket, asio::buffer(bytes), ignored);
    }

    void send_key_update() override
    {
        if (!tls)
            return;
        // OpenSSL sends the KeyUpdate at the next handshake step; Asio's handshake runs that step
        // on an established connection and flushes the record.
        SSL_key_update(tls->native_handle(), SSL_KEY_UPDATE_NOT_REQUESTED);
        boost::system::error_code ignored;
        tls->handshake(ssl::stream_base::server, ignored);
    }

    void write_below_tls(std::string_view bytes) override
    {
        boost::system::error_code ignored;
        asio::write(socket, asio::buffer(bytes), ignored);
    }

    void write_together(const std::vector<std::string>& pieces) override
    {
        // Corked, the kernel holds what is written until uncorked, then sends it at once.
        const int on = 1, off = 0;
        ::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_CORK, &on, sizeof on);
        for (const auto& p : pieces)
            write_raw(p); // through TLS: one SSL_write, one record
        ::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_CORK, &off, sizeof off);
    }

    void sleep(std::chrono::milliseconds d) override { owner.sleep(d); }

    void close() override { closing = true; }

    void reset() override
    {
        socket.set_option(asio::socket_base::linger(true, 0));
        close_now();
        closing = true;
    }

    void stall() override { owner.sleep(std::chrono::minutes(10)); }

    std::uint16_t client_port() const override
    {
        boost::system::error_code ignored;
        return socket.remote_endpoint(ignored).port();
    }

    std::size_t request_index() const override { return index; }

    impl& owner;
    tcp::socket socket;
    // While a handler runs for a request whose body waits for `100 Continue`: where to read it from.
    std::pair<boost::beast::flat_buffer*, http::request_parser<http::string_body>*> unread{};
    std::optional<ssl::stream<tcp::socket&>> tls; // engaged in TLS mode; reads and writes go through it
    bool handshake_done = false;
    std::thread thread;
    std::atomic<bool> done = false; // serve() returned: the thread can be joined at once
    std::size_t index = 0;
    bool closing = false;
};

void test_server::impl::accept_loop()
{
    for (;;) {
        tcp::socket s(io);
        boost::system::error_code ec;
        acceptor.accept(s, ec);
        std::lock_guard lock(mutex);
        if (stopping)
            return;
        if (ec)
            continue;
        // As real servers do: a reply written in pieces (a TLS ticket, then the answer) must not
        // wait for the client's delayed ACK.
        s.set_option(tcp::no_delay(true), ec);
        ++connections;
        // Connections that ended are let go, so that a long test (the soak) holds only live ones.
        std::erase_if(conns, [](const std::unique_ptr<conn>& c) {
            if (!c->done)
                return false;
            c->thread.join();
            return true;
        });
        auto& c = conns.emplace_back(std::make_unique<conn>(*this, std::move(s)));
        c->thread = std::thread([raw = c.get()] { raw->serve(); });
    }
}

void test_server::impl::record_handshake(SSL* ssl)
{
    ++handshakes;
    if (SSL_session_reused(ssl))
        ++resumed_handshakes;
    // verify_fail_if_no_peer_cert already failed any handshake with an unverified certificate; the
    // check keeps the promise of "verified" should the verify mode ever change.
    const X509* peer = SSL_get0_peer_certificate(ssl);
    if (!peer || SSL_get_verify_result(ssl) != X509_V_OK)
        return;
    std::string subject = one_line(X509_get_subject_name(peer));
    std::lock_guard lock(mutex);
    last_client_subject = std::move(subject);
}

void test_server::impl::stop()
{
    {
        std::lock_guard lock(mutex);
        if (stopping)
            return;
        stopping = true;
        for (auto& c : conns)
            if (c->socket.is_open()) // closed only under this mutex, see conn::close_now
                ::shutdown(c->socket.native_handle(), SHUT_RDWR);
    }
    wake.notify_all();
    // Wake the blocking accept with a connection of our own.
    boost::system::error_code ec;
    tcp::socket poke(io);
    poke.connect(local, ec);
    accept_thread.join();
    for (auto& c : conns)
        c->thread.join();
}

test_server::test_server(handler h, std::string_view address, std::uint16_t port)
    : impl_(std::make_unique<impl>(std::move(h), nullptr, address, port))
{
}

test_server::test_server(handler h, tls_options tls, std::string_view address, std::uint16_t port)
    : impl_(std::make_unique<impl>(std::move(h), &tls, address, port))
{
}

test_server::~test_server() { stop(); }

std::uint16_t test_server::port() const noexcept { return impl_->local.port(); }

std::string test_server::url(std::string_view path) const
{
    const auto& a = impl_->local.address();
    std::string host = a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
    const char* scheme = impl_->tls_context ? "https://" : "http://";
    return scheme + host + ":" + std::to_string(port()) + std::string(path);
}

std::size_t test_server::requests() const noexcept { return impl_->requests; }

std::size_t test_server::connections() const noexcept { return impl_->connections; }

std::size_t test_server::handshakes() const noexcept { return impl_->handshakes; }

std::size_t test_server::resumed_handshakes() const noexcept { return impl_->resumed_handshakes; }

std::string test_server::last_client_subject() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->last_client_subject;
}

void test_server::stop() { impl_->stop(); }

} // namespace roundtrip::testing
