#include "test_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <sys/socket.h>

#include <condition_variable>
#include <list>
#include <mutex>
#include <thread>

namespace roundtrip::test {

namespace asio = boost::asio;
namespace http = boost::beast::http;
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

struct test_server::impl {
    struct conn;

    impl(handler h, std::string_view address, std::uint16_t port) : handle(std::move(h)), acceptor(io)
    {
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
    std::mutex mutex; // guards stopping and conns
    std::condition_variable wake;
    bool stopping = false;
    std::list<std::unique_ptr<conn>> conns;
};

struct test_server::impl::conn final : exchange {
    conn(impl& server, tcp::socket s) : owner(server), socket(std::move(s)) {}

    void serve()
    {
        boost::beast::flat_buffer buffer;
        while (!closing) {
            http::request<http::string_body> in;
            boost::system::error_code ec;
            http::read(socket, buffer, in, ec);
            if (ec)
                break;
            ++owner.requests;
            ++index;
            server_request req{std::string(in.method_string()), std::string(in.target()), in.version(),
                               static_cast<header_fields&>(in.base()), in.body()};
            if (!in.keep_alive())
                closing = true;
            owner.handle(req, *this);
        }
        boost::system::error_code ignored;
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
        asio::write(socket, asio::buffer(bytes), ignored);
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
    std::thread thread;
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
        ++connections;
        auto& c = conns.emplace_back(std::make_unique<conn>(*this, std::move(s)));
        c->thread = std::thread([raw = c.get()] { raw->serve(); });
    }
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
    : impl_(std::make_unique<impl>(std::move(h), address, port))
{
}

test_server::~test_server() { stop(); }

std::uint16_t test_server::port() const noexcept { return impl_->local.port(); }

std::string test_server::url(std::string_view path) const
{
    const auto& a = impl_->local.address();
    std::string host = a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
    return "http://" + host + ":" + std::to_string(port()) + std::string(path);
}

std::size_t test_server::requests() const noexcept { return impl_->requests; }

std::size_t test_server::connections() const noexcept { return impl_->connections; }

void test_server::stop() { impl_->stop(); }

} // namespace roundtrip::test
