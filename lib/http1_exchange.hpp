// One HTTP/1.1 exchange on a connection: write the request head and body, read the response with
// Beast's parser, under the transport's timeouts and limits, emitting the exchange's events.
//
// The functions are templates over the stream they read and write, so a TLS stream over the same
// connection runs exactly this code: timeouts are set on the lowest layer (the connection's
// timed_stream), and everything else goes through the stream given.
#pragma once

#include "call_state.hpp"
#include "connection.hpp"
#include "event_sink.hpp"
#include "source_read.hpp"
#include "stop_state.hpp"
#include "target.hpp"
#include "time.hpp"

#include <roundtrip/body_source.hpp>
#include <roundtrip/error.hpp>
#include <roundtrip/request.hpp>
#include <roundtrip/result.hpp>
#include <roundtrip/transport.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/stream_traits.hpp>

#include <array>
#include <charconv>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>

namespace roundtrip::detail::http1 {

inline constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// What reading a response needs besides the stream. A streamed body keeps its own copy.
struct read_scope {
    clock::time_point deadline;
    clock::duration inactivity;
    std::size_t max_header_bytes;
    const stop_state* stop; // why the reads were stopped, if they were
};

// What one exchange needs besides the stream. References live as long as the exchange.
struct exchange_scope {
    const request& req;
    const target& where;
    const event_sink& sink;
    const struct timeouts& timeouts;
    const struct limits& limits; // the request's own, or the transport's
    const stop_state& stop;      // set when the attempt is cancelled
    bool close_after;            // ask the server to close: keep-alive is off, or the request said so
    call_state& call;            // records what total cancellation and body_source::finish depend on
    source_read& body_read;      // reads of the request's body_source, which cancellation can end

    read_scope reads() const noexcept
    {
        return {req.deadline(), timeouts.read_inactivity, limits.max_header_bytes, &stop};
    }
};

// How an exchange ended.
struct exchange_outcome {
    error_code error;                         // what ends the attempt
    std::optional<not_pooled_reason> refused; // why a successful exchange still leaves the connection unusable
    bool body_pending = false;                // stream_response: the body waits on the connection
};

// How much each read asks the socket for, and the largest piece of a streamed request body: 16 KiB
// reads measured three times the 64 KiB-body throughput of Beast's default buffer growth.
inline constexpr std::size_t read_chunk = 16 * 1024;

// Interim (1xx) responses accepted before the final one (Go's client allows 5).
inline constexpr int max_interim_responses = 10;

// Serializes the request head into `out`: request line, Host, the request's fields (after the
// attempt hooks), framing. Framing and Connection are the transport's: the request's own are dropped.
error_code write_head(std::string& out, const exchange_scope& x);

// Whether the request itself asks to close the connection after its response.
bool wants_close(const request& req);

// Whether the request has a body to send and asks the server to confirm it first.
bool expects_continue(const request& req);

// Turns an I/O outcome into what the attempt reports: what `stop` says first (stop_state::outcome),
// then an early end of stream and Beast's parser errors as roundtrip's.
error_code io_outcome(error_code ec, error phase_timeout, clock::time_point deadline, const stop_state& stop);

// Starts reading a new response on `c`: a fresh parser bounded by `l`, or unbounded in body size for
// a streamed body.
void start_response(connection& c, const request& req, const limits& l);

// Why a connection whose exchange or body read failed with `ec` is not pooled.
inline not_pooled_reason refusal_after_error(error_code ec)
{
    return ec == condition::protocol_error ? not_pooled_reason::protocol_error : not_pooled_reason::broken;
}

// Whether a connection whose response was read to its end may be pooled, from its head alone.
// Over TLS it also looks for records already past the socket.
std::optional<not_pooled_reason> refusal_after_body(connection& c, bool close_after);

// Feeds the buffered bytes to the parser. Beast 1.81's parser throws std::length_error for a single
// field over 64 KiB when the header limit allows more; calling put() here, rather than inside Beast's
// read operation, keeps that exception out of the user's io_context::run.
inline error_code parse_buffered(connection& c, std::size_t& used)
{
    error_code ec;
    try {
        used = c.in.parser->put(c.buffer.data(), ec);
    } catch (const std::length_error&) {
        return error::header_too_large;
    }
    c.buffer.consume(used);
    return ec;
}

// Reads until `done()`, each read bounded by the read inactivity timeout. Memory stays within the
// head limit: bytes the parser has consumed for the head are counted (Beast 1.81 checks its own
// limit only against what one put() leaves over), and bytes it cannot consume yet — a head, a
// chunk-size line, trailers — may not pile up past the limit either. Body bytes are always consumed.
template <class Stream, class Done>
asio::awaitable<error_code> read(Stream& stream, connection& c, Done done, const read_scope& rs)
{
    namespace http = boost::beast::http;
    response_in& in = c.in;
    while (!done()) {
        if (c.buffer.size() > 0) {
            const bool in_head = !in.parser->is_header_done() || in.in_trailers; // stored fields, both

            std::size_t used = 0;
            const error_code ec = parse_buffered(c, used);
            if (in_head && (in.head_bytes += used) > rs.max_header_bytes)
                co_return error::header_too_large;
            if (ec && ec != http::error::need_more)
                co_return ec == error::header_too_large ? ec
                                                        : io_outcome(ec, error::read_timeout, rs.deadline, *rs.stop);
            if (!ec && used > 0)
                continue; // progress: look at done() again before reading more
        }
        if (c.buffer.size() >= rs.max_header_bytes
            || (!in.parser->is_header_done() && in.head_bytes + c.buffer.size() > rs.max_header_bytes))
            co_return error::header_too_large;
        // A read that finds bytes waiting completes before any timer can: a server that never
        // pauses would outrun the deadline without this check.
        if (clock::now() >= rs.deadline)
            co_return error::deadline_exceeded;
        boost::beast::get_lowest_layer(stream).expires_at(bounded(rs.inactivity, rs.deadline));
        auto [ec, n] = co_await stream.async_read_some(c.buffer.prepare(read_chunk), use_tuple);
        c.buffer.commit(n);
        if (ec == asio::error::eof && !rs.stop->stopped()) {
            if (!in.parser->got_some()) // a close after a 1xx: nothing of the final response arrived
                co_return error::unexpected_eof;
            // The end of a read-until-close body, or a message cut short (partial_message).
            error_code end;
            in.parser->put_eof(end);
            if (end)
                co_return io_outcome(end, error::read_timeout, rs.deadline, *rs.stop);
            continue;
        }
        if (auto outcome = io_outcome(ec, error::read_timeout, rs.deadline, *rs.stop))
            co_return outcome;
    }
    co_return error_code{};
}

// Waits for the first response byte after the request (or its head) was written, unless one is
// buffered already.
template <class Stream>
asio::awaitable<error_code> read_first_byte(Stream& stream, connection& c, const exchange_scope& x, result& r)
{
    if (c.buffer.size() == 0) {
        boost::beast::get_lowest_layer(stream).expires_at(bounded(x.timeouts.response_header, x.req.deadline()));
        auto [ec, first] = co_await stream.async_read_some(c.buffer.prepare(read_chunk), use_tuple);
        c.buffer.commit(first);
        const error_code no_byte = first > 0 ? error_code{} : ec ? ec : error_code(error::unexpected_eof);
        if (auto outcome = io_outcome(no_byte, error::response_header_timeout, x.req.deadline(), x.stop))
            co_return outcome;
    }
    r.attempt.progress = request_progress::response_started;
    x.sink.emit(c.id, [] { return got_first_response_byte{}; });
    co_return error_code{};
}

// Whether the unparsed bytes begin like a TLS record (handshake or alert, version 3.x): what a TLS
// server answers a plain-HTTP request with.
inline bool starts_tls_record(const connection& c)
{
    const auto* bytes = static_cast<const unsigned char*>(c.buffer.data().data());
    return c.buffer.size() >= 2 && (bytes[0] == 0x15 || bytes[0] == 0x16) && bytes[1] == 0x03;
}

// Reads response heads up to the final one — or, with `stop_at_continue`, up to a 100 Continue —
// reporting interim ones; the head read is left in `c.in.parser`.
template <class Stream>
asio::awaitable<error_code> read_head(Stream& stream, connection& c, const exchange_scope& x, bool stop_at_continue)
{
    for (int interim = 0;; ++interim) {
        if (interim > max_interim_responses)
            co_return error::protocol_error; // an endless stream of 1xx would hold the call forever
        start_response(c, x.req, x.limits);
        auto& parser = *c.in.parser;
        // Named, not temporaries in the co_await: GCC 12 destroys those twice (docs/architecture.md).
        const auto head_done = [&parser] { return parser.is_header_done(); };
        const read_scope reads = x.reads();
        if (auto ec = co_await read(stream, c, head_done, reads))
            co_return interim == 0 && ec != error::canceled && starts_tls_record(c) ? error::tls_answer_to_http : ec;
        const unsigned status = parser.get().result_int();
        if (status < 100) // Beast takes any three digits; no status class starts with 0 (RFC 9110, 15)
            co_return error::protocol_error;
        if (status / 100 != 1)
            co_return error_code{};
        if (status == 101) // roundtrip never asks for an upgrade
            co_return error::protocol_error;
        x.sink.emit(c.id, [&] { return got_1xx{status}; });
        if (status == 100 && stop_at_continue)
            co_return error_code{};
    }
}

// Waits up to the expect-continue timeout for the server to answer a head sent with
// `Expect: 100-continue`; returns whether it did (its first bytes are then in `c.buffer`). A read,
// not a wait for readability: over TLS, records such as session tickets make the socket readable
// without an answer.
template <class Stream>
asio::awaitable<std::pair<error_code, bool>> await_answer(Stream& stream, connection& c, const exchange_scope& x)
{
    struct wait_state {
        bool done = false, expired = false;
    };
    auto state = std::make_shared<wait_state>();
    auto& socket = boost::beast::get_lowest_layer(stream).socket();
    asio::steady_timer timer(socket.get_executor());
    // Not bounded(): here 0 means "do not wait", as Go's ExpectContinueTimeout.
    timer.expires_at(std::min(saturating_add(clock::now(), x.timeouts.expect_continue), x.req.deadline()));
    timer.async_wait([state, &socket](error_code ec) {
        if (ec || state->done)
            return; // the read ended first; the socket may already serve the next phase
        state->expired = true;
        socket.cancel();
    });
    boost::beast::get_lowest_layer(stream).expires_never();
    auto [ec, n] = co_await stream.async_read_some(c.buffer.prepare(read_chunk), use_tuple);
    c.buffer.commit(n);
    state->done = true;
    timer.cancel();
    if (x.stop.canceled())
        co_return std::pair{error_code(error::canceled), false};
    if (n > 0)
        co_return std::pair{error_code{}, true};
    if (state->expired && ec == asio::error::operation_aborted)
        co_return std::pair{clock::now() >= x.req.deadline() ? error_code(error::deadline_exceeded) : error_code{}, false};
    co_return std::pair{io_outcome(ec ? ec : error_code(error::unexpected_eof), error::read_timeout, x.req.deadline(), x.stop),
                        false};
}

// Writes the request's streamed body: as it comes with a Content-Length, else in chunks, each with
// its chunk-size line in front and CRLF behind.
template <class Stream>
asio::awaitable<error_code> write_streamed_body(Stream& stream, const exchange_scope& x, std::size_t& written)
{
    const std::optional<std::uint64_t> length = x.req.body_stream->length();
    constexpr std::string_view crlf = "\r\n", last_chunk = "0\r\n\r\n";
    std::array<char, 18> size_line; // 16 hex digits and CRLF
    std::uint64_t taken = 0;
    auto& lowest = boost::beast::get_lowest_layer(stream);
    for (;;) {
        auto [ec, n] = co_await x.body_read.read(*x.req.body_stream, x.req.deadline());
        if (ec == asio::error::eof)
            break;
        if (ec)
            co_return x.stop.canceled() ? error_code(error::canceled) : ec;
        if (n == 0)
            continue; // an empty piece would write "0\r\n\r\n", the end of a chunked body
        taken += n;
        if (length && taken > *length)
            co_return error::body_length_mismatch;
        std::array<asio::const_buffer, 3> piece{asio::const_buffer(), asio::buffer(x.body_read.data(), n),
                                                asio::const_buffer()};
        if (!length) {
            auto stop = std::to_chars(size_line.data(), size_line.data() + 16, n, 16).ptr;
            *stop++ = '\r', *stop++ = '\n';
            piece[0] = asio::buffer(size_line.data(), static_cast<std::size_t>(stop - size_line.data()));
            piece[2] = asio::buffer(crlf);
        }
        lowest.expires_at(bounded(x.timeouts.write_inactivity, x.req.deadline()));
        auto [wec, w] = co_await asio::async_write(stream, piece, use_tuple);
        written += w;
        if (wec)
            co_return io_outcome(wec, error::write_timeout, x.req.deadline(), x.stop);
    }
    if (length && taken != *length)
        co_return error::body_length_mismatch;
    if (!length) {
        lowest.expires_at(bounded(x.timeouts.write_inactivity, x.req.deadline()));
        auto [wec, w] = co_await asio::async_write(stream, asio::buffer(last_chunk), use_tuple);
        written += w;
        if (wec)
            co_return io_outcome(wec, error::write_timeout, x.req.deadline(), x.stop);
    }
    x.call.body_read_to_end = true;
    co_return error_code{};
}

// Writes the request body that was not sent with the head.
template <class Stream>
asio::awaitable<error_code> write_body(Stream& stream, const exchange_scope& x, std::size_t& written)
{
    if (x.req.body_stream)
        co_return co_await write_streamed_body(stream, x, written);
    boost::beast::get_lowest_layer(stream).expires_at(bounded(x.timeouts.write_inactivity, x.req.deadline()));
    auto [ec, w] = co_await asio::async_write(stream, asio::buffer(x.req.body), use_tuple);
    written += w;
    co_return io_outcome(ec, error::write_timeout, x.req.deadline(), x.stop);
}

// Writes the request and reads the response head into `r`, and its body too unless the request
// streams it (then `body_pending` says the body waits on the connection, in `c.in`).
template <class Stream>
asio::awaitable<exchange_outcome> exchange(Stream& stream, connection& c, const exchange_scope& x, result& r)
{
    const request& req = x.req;
    exchange_outcome out;
    if ((out.error = write_head(c.head, x)))
        co_return out;

    // A buffered body goes out with the head in one write, unless the server is to confirm it first.
    const bool has_body = req.body_stream || !req.body.empty();
    const bool confirm_first = has_body && expects_continue(req);
    const bool body_with_head = !req.body_stream && !confirm_first;
    const std::size_t head_size = c.head.size();
    boost::beast::get_lowest_layer(stream).expires_at(bounded(x.timeouts.write_inactivity, req.deadline()));
    const std::array<asio::const_buffer, 2> message{asio::buffer(c.head),
                                                    asio::buffer(body_with_head ? std::string_view(req.body) : "")};
    x.call.request_write_started = true; // from here, a total cancellation is declined
    // Plain variables, not a structured binding: the lambdas below capture them (clang 14 cannot).
    error_code wec;
    std::size_t written = 0;
    std::tie(wec, written) = co_await asio::async_write(stream, message, use_tuple);
    if (written > 0)
        r.attempt.progress = request_progress::possibly_processed;
    if (written >= head_size)
        x.sink.emit(c.id, [] { return wrote_headers{}; });
    wec = io_outcome(wec, error::write_timeout, req.deadline(), x.stop);

    bool answered = false;    // a response byte arrived before the body was sent
    bool body_unsent = false; // the server gave its final answer before the body was sent
    if (!wec && has_body && !body_with_head) {
        if (confirm_first) {
            std::tie(wec, answered) = co_await await_answer(stream, c, x);
            if (answered) {
                if ((out.error = co_await read_first_byte(stream, c, x, r)))
                    co_return out;
                if ((out.error = co_await read_head(stream, c, x, true)))
                    co_return out;
                body_unsent = c.in.parser->get().result_int() != 100;
            }
        }
        if (!wec && !body_unsent)
            wec = co_await write_body(stream, x, written);
    }
    // A server may answer and close before it has read the whole body (413 Content Too Large, 401):
    // its answer waits in the socket even after the reset its close caused, and it is the call's
    // answer, not the reset.
    const error_code write_error = wec;
    bool cut_short = false;
    if (wec == condition::connection_reset && has_body && written >= head_size && !answered && !x.stop.stopped()) {
        const error_code no_answer = co_await read_first_byte(stream, c, x, r);
        if (!no_answer)
            cut_short = answered = true, wec = {};
    }
    x.sink.emit(c.id, [&] { return wrote_request{written, write_error}; });
    if ((out.error = wec))
        co_return out;
    ++c.requests_served;

    if (!answered && (out.error = co_await read_first_byte(stream, c, x, r)))
        co_return out;
    if (!body_unsent && (out.error = co_await read_head(stream, c, x, false)))
        co_return out;

    auto& parser = *c.in.parser;
    auto& head = parser.get();
    const unsigned status = head.result_int();
    x.sink.emit(c.id, [&] { return response_headers{status, head.version()}; });
    // Decided from the head alone: trailers (RFC 9110, section 6.5.1) must not add header fields or
    // change the connection's fate, and Beast's parser files them with the head's fields.
    c.in.keep_alive = parser.keep_alive() && !parser.need_eof();
    c.in.request_body_unsent = body_unsent || cut_short;
    c.in.head_bytes = 0; // trailers get a head's allowance of their own
    r.response.status = status;
    r.response.version = head.version();
    r.response.reason = std::string(head.reason());
    r.response.headers = std::move(static_cast<header_fields&>(head)); // trailers go to the emptied fields
    if (req.stream_response && !parser.is_done()) {
        out.body_pending = true;
        co_return out;
    }

    const auto body_done = [&parser] { return parser.is_done(); };
    const read_scope reads = x.reads();
    out.error = co_await read(stream, c, body_done, reads);
    x.sink.emit(c.id, [&] { return response_body_done{head.body().size(), out.error}; });
    if (out.error)
        co_return out;
    r.response.body = std::move(head.body());
    out.refused = refusal_after_body(c, x.close_after);
    co_return out;
}

} // namespace roundtrip::detail::http1
