// One HTTP/1.1 exchange on a connection: write the request head and body, read the response with
// Beast's parser, under the transport's timeouts and limits, emitting the exchange's events.
//
// `exchange` is a template over the stream it reads and writes, so a TLS stream over the same
// connection runs exactly this code: timeouts are set on the lowest layer (the connection's
// tcp_stream), and everything else goes through the stream given.
#pragma once

#include "connection.hpp"
#include "event_sink.hpp"
#include "target.hpp"
#include "time.hpp"

#include <roundtrip/error.hpp>
#include <roundtrip/request.hpp>
#include <roundtrip/result.hpp>
#include <roundtrip/transport.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <array>
#include <optional>
#include <stdexcept>
#include <string>

namespace roundtrip::detail::http1 {

// What one exchange needs besides the stream. References live as long as the exchange.
struct exchange_scope {
    const request& req;
    const target& where;
    const event_sink& sink;
    const transport_options& options;
    const bool& canceled; // set by cancellation while the exchange runs
    bool close_after;     // ask the server to close: keep-alive is off, or the request said so
};

using response_parser = boost::beast::http::response_parser<boost::beast::http::string_body>;

// How much each read asks the socket for.
inline constexpr std::size_t read_chunk = 16 * 1024;

// Interim (1xx) responses accepted before the final one (Go's client allows 5).
inline constexpr int max_interim_responses = 10;

// Serializes the request head into `out`: request line, Host, the request's fields (after the
// attempt hooks), framing. Framing and Connection are the transport's: the request's own are dropped.
error_code write_head(std::string& out, const exchange_scope& x);

// Whether the request itself asks to close the connection after its response.
bool wants_close(const request& req);

// Turns an I/O outcome into what the attempt reports: cancellation wins (even over a success that was
// queued before it), a timeout is the call's deadline or the phase's own, and Beast's parser errors
// become roundtrip's.
error_code io_outcome(error_code ec, error phase_timeout, const exchange_scope& x);

// Feeds the buffered bytes to the parser. Beast 1.81's parser throws std::length_error for a single
// field over 64 KiB when the header limit allows more; calling put() here, rather than inside Beast's
// read operation, keeps that exception out of the user's io_context::run.
inline error_code parse_buffered(connection& c, response_parser& parser, std::size_t& used)
{
    error_code ec;
    try {
        used = parser.put(c.buffer.data(), ec);
    } catch (const std::length_error&) {
        return error::header_too_large;
    }
    c.buffer.consume(used);
    return ec;
}

// Reads until `done(parser)`, each read bounded by the read inactivity timeout. Memory stays within
// the head limit: bytes the parser has consumed for the head are counted (Beast 1.81 checks its own
// limit only against what one put() leaves over), and bytes it cannot consume yet — a head, a
// chunk-size line, trailers — may not pile up past the limit either. Body bytes are always consumed.
template <class Stream>
asio::awaitable<error_code> read(Stream& stream, connection& c, response_parser& parser,
                                 bool (response_parser::*done)() const, const exchange_scope& x,
                                 std::size_t& head_bytes, const bool& in_trailers)
{
    namespace http = boost::beast::http;
    const std::size_t max_head = x.options.limits.max_header_bytes;
    while (!(parser.*done)()) {
        if (c.buffer.size() > 0) {
            const bool in_head = !parser.is_header_done() || in_trailers; // stored fields, both

            std::size_t used = 0;
            const error_code ec = parse_buffered(c, parser, used);
            if (in_head && (head_bytes += used) > max_head)
                co_return error::header_too_large;
            if (ec && ec != http::error::need_more)
                co_return ec == error::header_too_large ? ec : io_outcome(ec, error::read_timeout, x);
            if (!ec && used > 0)
                continue; // progress: look at done() again before reading more
        }
        if (c.buffer.size() >= max_head || (!parser.is_header_done() && head_bytes + c.buffer.size() > max_head))
            co_return error::header_too_large;
        boost::beast::get_lowest_layer(stream).expires_at(bounded(x.options.timeouts.read_inactivity, x.req.deadline()));
        auto [ec, n] = co_await stream.async_read_some(c.buffer.prepare(read_chunk), asio::as_tuple(asio::use_awaitable));
        c.buffer.commit(n);
        if (ec == asio::error::eof && !x.canceled) {
            if (!parser.got_some()) // a close after a 1xx: nothing of the final response arrived
                co_return error::unexpected_eof;
            // The end of a read-until-close body, or a message cut short (partial_message).
            error_code end;
            parser.put_eof(end);
            if (end)
                co_return io_outcome(end, error::read_timeout, x);
            continue;
        }
        if (auto outcome = io_outcome(ec, error::read_timeout, x))
            co_return outcome;
    }
    co_return error_code{};
}

// Writes the request and reads the response into `r`; returns the error that ends the attempt, and
// in `refused` why a successful exchange still leaves the connection unusable.
template <class Stream>
asio::awaitable<error_code> exchange(Stream& stream, connection& c, const exchange_scope& x, result& r,
                                     std::optional<not_pooled_reason>& refused)
{
    constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
    auto& lowest = boost::beast::get_lowest_layer(stream);
    const request& req = x.req;
    if (auto ec = write_head(c.head, x))
        co_return ec;

    lowest.expires_at(bounded(x.options.timeouts.write_inactivity, req.deadline()));
    const std::array<asio::const_buffer, 2> message{asio::buffer(c.head), asio::buffer(req.body)};
    auto [wec, written] = co_await asio::async_write(stream, message, use_tuple);
    if (written > 0)
        r.attempt.progress = request_progress::possibly_processed;
    if (written >= c.head.size())
        x.sink.emit(c.id, [] { return wrote_headers{}; });
    wec = io_outcome(wec, error::write_timeout, x);
    x.sink.emit(c.id, [&] { return wrote_request{written, wec}; });
    if (wec)
        co_return wec;
    ++c.requests_served;

    lowest.expires_at(bounded(x.options.timeouts.response_header, req.deadline()));
    auto [fec, first] = co_await stream.async_read_some(c.buffer.prepare(read_chunk), use_tuple);
    c.buffer.commit(first);
    const error_code no_byte = first > 0 ? error_code{} : fec ? fec : error_code(error::unexpected_eof);
    if (auto ec = io_outcome(no_byte, error::response_header_timeout, x))
        co_return ec;
    r.attempt.progress = request_progress::response_started;
    x.sink.emit(c.id, [] { return got_first_response_byte{}; });

    std::optional<response_parser> parser;
    std::size_t head_bytes = 0;
    // The final (zero-size) chunk starts the trailer section, whose fields count as head bytes.
    bool in_trailers = false;
    auto note_chunk = [&in_trailers](std::uint64_t size, std::string_view, error_code&) {
        if (size == 0)
            in_trailers = true;
    };
    for (int interim = 0;; ++interim) {
        if (interim > max_interim_responses)
            co_return error::protocol_error; // an endless stream of 1xx would hold the call forever
        parser.emplace();
        parser->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(x.options.limits.max_header_bytes, UINT32_MAX)));
        parser->body_limit(x.options.limits.max_body_bytes);
        parser->skip(req.method == "HEAD");
        parser->on_chunk_header(note_chunk);
        head_bytes = 0;
        if (auto ec = co_await read(stream, c, *parser, &response_parser::is_header_done, x, head_bytes, in_trailers))
            co_return ec;
        const unsigned status = parser->get().result_int();
        if (status / 100 != 1)
            break;
        if (status == 101) // roundtrip never asks for an upgrade
            co_return error::protocol_error;
        x.sink.emit(c.id, [&] { return got_1xx{status}; });
    }
    const unsigned status = parser->get().result_int();
    x.sink.emit(c.id, [&] { return response_headers{status}; });
    // Decided from the head alone: trailers (RFC 9110, section 6.5.1) must not add header fields or
    // change the connection's fate, and Beast's parser files them with the head's fields.
    const bool keep_alive = parser->get().keep_alive() && !parser->get().need_eof();
    std::optional<header_fields> head_fields;
    if (parser->chunked())
        head_fields = static_cast<const header_fields&>(parser->get());
    head_bytes = 0; // trailers get a head's allowance of their own
    auto bec = co_await read(stream, c, *parser, &response_parser::is_done, x, head_bytes, in_trailers);
    x.sink.emit(c.id, [&] { return response_body_done{parser->get().body().size(), bec}; });
    if (bec)
        co_return bec;

    auto& message_in = parser->get();
    if (x.close_after || !keep_alive)
        refused = not_pooled_reason::connection_close;
    else if (c.buffer.size() > 0) // bytes after the response cannot be the next response
        refused = not_pooled_reason::protocol_error;
    r.response.status = message_in.result_int();
    r.response.version = message_in.version();
    r.response.reason = std::string(message_in.reason());
    r.response.body = std::move(message_in.body());
    r.response.headers = head_fields ? std::move(*head_fields) : std::move(static_cast<header_fields&>(message_in));
    co_return error_code{};
}

} // namespace roundtrip::detail::http1
