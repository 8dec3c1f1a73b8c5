// The samples of docs/plugins.md, run against a local server: a middleware's shape, a middleware
// that watches the connection attempts beneath it, and one with an event and an error of its own.

#include <roundtrip/testing/test_server.hpp> // the local server; tests use the same one

#include <roundtrip/client.hpp>

#include <roundtrip/error.hpp>

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

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

// [doc-sample plugins-own-events]
// An event of this middleware's own: a name, an attribute prefix for tracing, and its fields.
struct host_refused {
    static constexpr std::string_view event_name = "host_refused";
    static constexpr std::string_view attribute_prefix = "example.blocklist";
    std::string_view host;
    void write_fields(roundtrip::field_writer& out) const { out("host", host); }
};

// Its errors: a category whose codes have a class, which the CLI, logs and traces print.
struct blocklist_category final : roundtrip::classified_category {
    const char* name() const noexcept override { return "example.blocklist"; }
    std::string message(int) const override { return "host is on the blocklist"; }
    std::string_view class_name(int) const noexcept override { return "host_blocked"; }
};
const blocklist_category blocklist_errors;

roundtrip::layer blocklist = [](roundtrip::request req, roundtrip::next next)
    -> roundtrip::asio::awaitable<roundtrip::result> {
    if (req.url.find("//blocked.example") != std::string::npos) {
        roundtrip::emit(req, host_refused{"blocked.example"}); // to observers, logs and traces
        roundtrip::result refused;
        refused.error = roundtrip::error_code(1, blocklist_errors);
        co_return refused;
    }
    co_return co_await next(std::move(req));
};
// [end doc-sample]

// Keeps what describe() says of each event.
struct lines : roundtrip::observer {
    std::vector<std::string> seen;
    void on_event(const roundtrip::event& e) noexcept override { seen.push_back(roundtrip::describe(e)); }
};

} // namespace

int main()
{
    roundtrip::testing::test_server server([](const roundtrip::testing::server_request& req, roundtrip::testing::exchange& ex) {
        ex.reply(200, req.headers.count("X-Request-Id") == 1 ? "tagged" : "untagged");
    });
    if (client.send({"GET", server.url()}).body != "tagged")
        return 1;
    roundtrip::client watched({.middleware = {report_unreachable}});
    roundtrip::error_code ec;
    watched.send({"GET", "http://127.0.0.1:" + std::to_string(roundtrip::testing::refused_port()) + "/"}, ec);
    if (!ec)
        return 1; // and stderr names the cause

    auto seen = std::make_shared<lines>();
    roundtrip::client guarded({.middleware = {blocklist}, .observers = {seen}});
    try {
        guarded.send({"GET", "http://blocked.example/"});
        return 1;
    } catch (const roundtrip::call_failed& e) {
        if (std::string_view(e.what()) != "host_blocked: host is on the blocklist")
            return 1;
    }
    const auto& lines = seen->seen; // the call's duration ends the last line
    return lines.size() == 3 && lines[0] == "call_start method=GET" && lines[1] == "host_refused host=blocked.example"
                   && lines[2].starts_with("call_done status=0 error=host_blocked took_us=")
               ? 0
               : 1;
}
