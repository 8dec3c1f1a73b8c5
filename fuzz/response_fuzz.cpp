// Fuzzes the response side of an HTTP/1.1 exchange exactly as the transport drives it (status line,
// fields, 1xx, chunked framing, trailers, limits, HEAD, streamed bodies): the input's first byte
// shapes the request and how the bytes arrive; the rest is what the server sends.
#include "http1_exchange.hpp"
#include "require.hpp"
#include "scripted_stream.hpp"
#include "target.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdint>

using namespace roundtrip;
using roundtrip::fuzz::require;
using namespace roundtrip::detail;

namespace {

// Reads a body left on the connection to its end, a piece at a time, as streamed_body does.
asio::awaitable<void> read_streamed(fuzz::scripted_stream& stream, connection& c, const http1::exchange_scope& x)
{
    auto& parser = *c.in.parser;
    const auto ready = [&parser] { return parser.is_done() || !parser.get().body().empty(); };
    const http1::read_scope reads = x.reads();
    for (int pieces = 0; pieces < 100'000 && !parser.is_done(); ++pieces) {
        if (co_await http1::read(stream, c, ready, reads))
            co_return;
        parser.get().body().clear();
    }
}

asio::awaitable<void> exchange_once(fuzz::scripted_stream& stream, connection& c, const http1::exchange_scope& x)
{
    result r;
    const http1::exchange_outcome out = co_await http1::exchange(stream, c, x, r);
    if (out.error)
        co_return;
    require(r.response.status >= 200 && r.response.status <= 999);
    if (out.body_pending) {
        co_await read_streamed(stream, c, x);
        co_return;
    }
    require(r.response.body.size() <= x.limits.max_body_bytes);
    if (x.req.method == "HEAD")
        require(r.response.body.empty());
    (void)http1::refusal_after_body(c, x.close_after);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 1)
        return 0;
    const std::uint8_t shape = data[0];
    const std::string_view server(reinterpret_cast<const char*>(data + 1), size - 1);

    request req((shape & 1) ? "HEAD" : "GET", "http://fuzz.example/path");
    req.stream_response = (shape & 2) != 0;
    target where;
    require(!parse_target(req, where));
    limits bounds;
    if (shape & 4)
        bounds = limits{.max_header_bytes = 512, .max_body_bytes = 1024};
    const timeouts waits;
    const observer_list nobody;
    const event_sink sink(&nobody, nullptr, 1, 1);
    const stop_state running; // never stopped
    call_state call;
    source_read body_read;
    const http1::exchange_scope x{req, where, sink, waits, bounds, running, false, call, body_read};

    static asio::io_context io;
    io.restart();
    connection c(std::make_unique<timed_stream>(io.get_executor(), std::make_shared<watchdog>(io.get_executor())), 1,
                 endpoint{});
    // Pieces of 1 to 64 bytes, or the read size the transport asks for.
    const std::size_t piece = (shape >> 3) == 31 ? http1::read_chunk : 1 + ((shape >> 3) * 2);
    fuzz::scripted_stream stream(io.get_executor(), server, piece);
    // An exception escaping the exchange would escape the user's io_context::run: a bug.
    asio::co_spawn(io, exchange_once(stream, c, x), [](std::exception_ptr e) { require(!e); });
    io.run();
    return 0;
}
