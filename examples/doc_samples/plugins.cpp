// The samples of docs/plugins.md, run against a local server: a middleware's shape, and a
// middleware that watches the connection attempts beneath it.

#include "test_server.hpp" // the local server; tests use the same one

#include <roundtrip/client.hpp>

#include <cstdio>
#include <string>

namespace {

std::string new_id() { return "req-1"; }

// [doc-sample plugins-shape]
roundtrip::layer add_request_id = [](roundtrip::request req, roundtrip::next next)
    -> roundtrip::asio::awaitable<roundtrip::result> {
    if (req.headers.count("X-Request-Id") == 0)
        req.headers.set("X-Request-Id", new_id());
    roundtrip::result r = co_await next(std::move(req)); // may be called 0, 1 or more times
    co_return r;                                        // or a result of your own
};
roundtrip::client client({.middleware = {add_request_id /*, ... */}});
// [end doc-sample]

// [doc-sample plugins-observe]
struct connect_watch : roundtrip::observer {
    bool connected = false, connect_failed = false;
    void on_event(const roundtrip::event& e) noexcept override {
        if (auto done = std::get_if<roundtrip::connect_done>(&e.data))
            (done->error ? connect_failed : connected) = true;
    }
};

roundtrip::layer report_unreachable = [](roundtrip::request req, roundtrip::next next)
    -> roundtrip::asio::awaitable<roundtrip::result> {
    auto watch = std::make_shared<connect_watch>();
    req.observe(watch); // sees the attempts beneath this layer, transparent retries included
    roundtrip::result r = co_await next(std::move(req));
    if (watch->connect_failed && !watch->connected)
        std::fprintf(stderr, "no address of the host accepted a connection\n");
    co_return r;
};
// [end doc-sample]

} // namespace

int main()
{
    roundtrip::test::test_server server([](const roundtrip::test::server_request& req, roundtrip::test::exchange& ex) {
        ex.reply(200, req.headers.count("X-Request-Id") == 1 ? "tagged" : "untagged");
    });
    if (client.send({"GET", server.url()}).body != "tagged")
        return 1;
    roundtrip::client watched({.middleware = {report_unreachable}});
    roundtrip::error_code ec;
    watched.send({"GET", "http://127.0.0.1:" + std::to_string(roundtrip::test::refused_port()) + "/"}, ec);
    return ec ? 0 : 1; // and stderr names the cause
}
