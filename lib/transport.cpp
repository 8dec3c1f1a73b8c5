// The transport: one coroutine per attempt on the transport's strand. It validates the request,
// dials, writes the request head and body, reads the response with Beast's parser, and decides the
// connection's fate, emitting each step as an event.
#include "call_state.hpp"
#include "completion.hpp"
#include "connection.hpp"
#include "dialer.hpp"
#include "event_sink.hpp"
#include "target.hpp"

#include <roundtrip/error.hpp>
#include <roundtrip/transport.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/intrusive/list.hpp>

#include <array>
#include <charconv>
#include <optional>

namespace roundtrip {
namespace detail {
namespace {

namespace http = boost::beast::http;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
using response_parser = http::response_parser<http::string_body>;

// How much one read asks the socket for.
constexpr std::size_t read_chunk = 16 * 1024;

clock::time_point bounded(clock::duration phase, clock::time_point deadline)
{
    auto now = clock::now();
    return deadline - now < phase ? deadline : now + phase;
}

bool expects_body(std::string_view method)
{
    return method == "POST" || method == "PUT" || method == "PATCH";
}

// Maps Beast's parser errors to roundtrip's: the parser's own codes say too little to a caller and
// too much to a log reader.
error_code from_parser(error_code ec)
{
    if (ec == http::error::end_of_stream || ec == http::error::partial_message)
        return error::unexpected_eof;
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow)
        return error::header_too_large;
    if (ec == http::error::body_limit)
        return error::body_too_large;
    return error::protocol_error;
}

} // namespace

// One attempt in progress: what `close()` and the caller's cancellation act on.
// Only touched on the transport's strand.
struct attempt_record : boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>> {
    explicit attempt_record(request r) : req(std::move(r)) {}

    void cancel()
    {
        canceled = true;
        if (dialing)
            dialing->cancel();
        if (conn)
            conn->stream.cancel();
    }

    request req;
    bool canceled = false;
    std::shared_ptr<dial> dialing; // while dialing
    connection* conn = nullptr;    // while exchanging
};

class transport_impl : public std::enable_shared_from_this<transport_impl> {
public:
    transport_impl(executor strand, transport_options options, observer_list observers)
        : strand_(strand), options_(std::move(options)), observers_(std::move(observers)),
          resolver_(options_.dial.resolver ? options_.dial.resolver : std::make_shared<system_resolver>())
    {
    }

    void start(request req, asio::any_completion_handler<void(result)> handler)
    {
        auto record = std::make_shared<attempt_record>(std::move(req));
        auto slot = asio::get_associated_cancellation_slot(handler);
        if (slot.is_connected())
            slot.assign([record, strand = strand_](asio::cancellation_type) {
                asio::dispatch(strand, [record] { record->cancel(); });
            });
        asio::co_spawn(strand_, run(shared_from_this(), record),
                       [strand = strand_, h = std::move(handler)](std::exception_ptr e, result r) mutable {
                           auto slot = asio::get_associated_cancellation_slot(h);
                           if (slot.is_connected())
                               slot.clear();
                           if (e)
                               r.error = error::canceled; // only an exception from Asio itself can get here
                           dispatch_completion(strand, std::move(h), std::move(r));
                       });
    }

    void close()
    {
        asio::dispatch(strand_, [self = shared_from_this()] {
            self->closed_ = true;
            // cancel() never completes anything inline, so the list stays intact while we walk it.
            for (auto& a : self->attempts_)
                a.cancel();
        });
    }

    executor strand_;

private:
    static asio::awaitable<result> run(std::shared_ptr<transport_impl> self, std::shared_ptr<attempt_record> a)
    {
        co_return co_await self->attempt(*a);
    }

    asio::awaitable<result> attempt(attempt_record& a)
    {
        attempts_.push_back(a);
        result r;
        const request& req = a.req;
        const auto& call = request_access::call(req);
        r.attempt.attempts = call ? ++call->attempts : 1;
        const event_sink sink(&observers_, request_access::observers(req), call ? call->id : 0, r.attempt.attempts);

        target t;
        if (auto ec = parse_target(req, t)) {
            r.error = ec;
            co_return r;
        }
        if (closed_ || a.canceled) {
            r.error = error::canceled;
            co_return r;
        }

        sink.emit(0, [&] { return get_conn{t.host, t.port}; });
        const std::uint64_t conn_id = ++last_conn_id_;
        a.dialing = std::make_shared<dial>(strand_, options_.dial, *resolver_, sink, t, conn_id,
                                           options_.timeouts.connect, req.deadline());
        // Named, not written inside the co_await: GCC 12 destroys a capturing lambda temporary in a
        // co_await operand twice (see docs/architecture.md, "Compiler traps").
        auto start_dial = [d = a.dialing](auto handler) { d->start(std::move(handler)); };
        auto [ec, conn] = co_await asio::async_initiate<decltype(use_tuple),
                                                        void(error_code, std::unique_ptr<connection>)>(start_dial,
                                                                                                      use_tuple);
        a.dialing.reset();
        if (ec) {
            r.error = ec;
            co_return r;
        }

        a.conn = conn.get();
        r.attempt.conn = conn_id;
        if (a.canceled) {
            r.error = error::canceled;
        } else {
            sink.emit(conn_id, [&] { return got_conn{false, false, {}, conn->local, conn->remote}; });
            r.error = co_await exchange(*conn, a, t, sink, r);
        }
        a.conn = nullptr;

        const auto reason = !r.error ? not_pooled_reason::keep_alive_disabled
                            : r.error == error::protocol_error ? not_pooled_reason::protocol_error
                                                               : not_pooled_reason::broken;
        sink.emit(conn_id, [&] { return conn_not_pooled{reason}; });
        conn->close();
        sink.emit(conn_id, [&] {
            return conn_closed{close_reason::not_pooled, conn->requests_served, clock::now() - conn->created};
        });
        co_return r;
    }

    // Writes the request and reads the response into `r`; returns the error that ends the attempt.
    asio::awaitable<error_code> exchange(connection& c, attempt_record& a, const target& t, const event_sink& sink,
                                         result& r)
    {
        const request& req = a.req;
        if (auto ec = write_head(c.head, req, t, sink))
            co_return ec;

        c.stream.expires_at(bounded(options_.timeouts.write_inactivity, req.deadline()));
        const std::array<asio::const_buffer, 2> message{asio::buffer(c.head), asio::buffer(req.body)};
        auto [wec, written] = co_await asio::async_write(c.stream, message, use_tuple);
        if (written > 0)
            r.attempt.progress = request_progress::possibly_processed;
        if (written >= c.head.size())
            sink.emit(c.id, [] { return wrote_headers{}; });
        wec = io_outcome(wec, error::write_timeout, a);
        sink.emit(c.id, [&] { return wrote_request{written, wec}; });
        if (wec)
            co_return wec;
        ++c.requests_served;

        c.stream.expires_at(bounded(options_.timeouts.response_header, req.deadline()));
        auto [fec, first] = co_await c.stream.async_read_some(c.buffer.prepare(read_chunk), use_tuple);
        c.buffer.commit(first);
        if (first == 0)
            co_return io_outcome(fec ? fec : error_code(error::unexpected_eof), error::response_header_timeout, a);
        r.attempt.progress = request_progress::response_started;
        sink.emit(c.id, [] { return got_first_response_byte{}; });

        std::optional<response_parser> parser;
        try {
            for (;;) {
                parser.emplace();
                parser->header_limit(static_cast<std::uint32_t>(options_.limits.max_header_bytes));
                parser->body_limit(options_.limits.max_body_bytes);
                parser->skip(req.method == "HEAD");
                if (auto ec = co_await read(c, *parser, &response_parser::is_header_done, a))
                    co_return ec;
                const unsigned status = parser->get().result_int();
                if (status / 100 != 1)
                    break;
                if (status == 101) // roundtrip never asks for an upgrade
                    co_return error::protocol_error;
                sink.emit(c.id, [&] { return got_1xx{status}; });
            }
            const unsigned status = parser->get().result_int();
            sink.emit(c.id, [&] { return response_headers{status}; });
            auto bec = co_await read(c, *parser, &response_parser::is_done, a);
            sink.emit(c.id, [&] { return response_body_done{parser->get().body().size(), bec}; });
            if (bec)
                co_return bec;
        } catch (const std::length_error&) {
            // Beast 1.81 throws for a single field over 64 KiB when the header limit allows it.
            co_return error::header_too_large;
        }

        auto& message_in = parser->get();
        r.response.status = message_in.result_int();
        r.response.version = message_in.version();
        r.response.reason = std::string(message_in.reason());
        r.response.body = std::move(message_in.body());
        r.response.headers = std::move(static_cast<header_fields&>(message_in));
        co_return error_code{};
    }

    // Reads until `done(parser)`, each read bounded by the read inactivity timeout.
    asio::awaitable<error_code> read(connection& c, response_parser& parser,
                                     bool (response_parser::*done)() const, attempt_record& a)
    {
        while (!(parser.*done)()) {
            c.stream.expires_at(bounded(options_.timeouts.read_inactivity, a.req.deadline()));
            auto [ec, n] = co_await http::async_read_some(c.stream, c.buffer, parser, use_tuple);
            if (ec)
                co_return io_outcome(ec, error::read_timeout, a);
        }
        co_return error_code{};
    }

    // Serializes the request head: request line, Host, the request's fields (after the attempt
    // hooks), framing. Framing and Connection are the transport's: the request's own are dropped.
    error_code write_head(std::string& out, const request& req, const target& t, const event_sink& sink)
    {
        const header_fields* fields = &req.headers;
        header_fields stamped;
        if (sink.stamps_headers()) {
            stamped = req.headers;
            sink.stamp_headers(stamped);
            if (auto ec = check_fields(stamped))
                return ec;
            fields = &stamped;
        }
        out.clear();
        out.append(req.method).append(" ").append(t.path).append(" HTTP/1.1\r\n");
        if (fields->find(http::field::host) == fields->end())
            out.append("Host: ").append(t.host_header).append("\r\n");
        for (const auto& f : *fields) {
            switch (f.name()) {
            case http::field::content_length:
            case http::field::transfer_encoding:
            case http::field::connection: continue;
            default: out.append(f.name_string()).append(": ").append(f.value()).append("\r\n");
            }
        }
        if (!req.body.empty() || expects_body(req.method)) {
            std::array<char, 24> digits;
            auto end = std::to_chars(digits.data(), digits.data() + digits.size(), req.body.size()).ptr;
            out.append("Content-Length: ").append(digits.data(), end).append("\r\n");
        }
        out.append("Connection: close\r\n\r\n");
        return {};
    }

    // Turns an I/O error into what the attempt reports: cancellation wins, a timeout is the call's
    // deadline or the phase's own, and parser errors become roundtrip's.
    error_code io_outcome(error_code ec, error phase_timeout, const attempt_record& a) const
    {
        if (!ec)
            return ec;
        if (a.canceled)
            return error::canceled;
        if (ec == boost::beast::error::timeout)
            return clock::now() >= a.req.deadline() ? error::deadline_exceeded : phase_timeout;
        if (ec == asio::error::eof)
            return error::unexpected_eof;
        if (ec.category() == http::make_error_code(http::error::end_of_stream).category())
            return from_parser(ec);
        return ec;
    }

    transport_options options_;
    observer_list observers_;
    std::shared_ptr<resolver> resolver_;
    // Only touched on the strand:
    std::uint64_t last_conn_id_ = 0;
    bool closed_ = false;
    boost::intrusive::list<attempt_record, boost::intrusive::constant_time_size<false>> attempts_;
};

} // namespace detail

transport::transport(executor ex, transport_options options, std::vector<std::shared_ptr<observer>> observers)
    : impl_(std::make_shared<detail::transport_impl>(ex, std::move(options), std::move(observers)))
{
}

transport::~transport() { impl_->close(); }

void transport::close() { impl_->close(); }

executor transport::get_executor() const noexcept { return impl_->strand_; }

void transport::do_round_trip(request req, asio::any_completion_handler<signature> handler)
{
    impl_->start(std::move(req), std::move(handler));
}

} // namespace roundtrip
