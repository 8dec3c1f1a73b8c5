// The parts of the HTTP/1.1 exchange that do not depend on the stream: the request head, the
// response parser's set-up, and the mapping of I/O outcomes to roundtrip's errors.
#include "http1_exchange.hpp"

#include "proxy_route.hpp"

#include <boost/beast/core/error.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <charconv>

namespace roundtrip::detail::http1 {
namespace {

namespace http = boost::beast::http;

bool expects_body(std::string_view method)
{
    return method == "POST" || method == "PUT" || method == "PATCH";
}

// Beast's parser errors say too little to a caller and too much to a log reader.
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

bool has_token(const request& req, http::field name, std::string_view token)
{
    auto [it, end] = req.headers.equal_range(name);
    for (; it != end; ++it)
        if (boost::beast::iequals(it->value(), token))
            return true;
    return false;
}

// Over TLS, bytes after a response may already sit past the socket, where neither the parser's buffer
// nor a peek at the socket sees them: records in OpenSSL's buffers, or in the network BIO Asio fills.
// Looking costs nothing unless something is there; then a non-blocking peek lets OpenSSL say what it
// is. Records TLS handles itself (a TLS 1.3 session ticket) leave the connection usable; application
// data cannot be the answer to a request not yet sent; a close_notify means the server is closing.
std::optional<not_pooled_reason> tls_leftover(SSL* ssl)
{
    if (!SSL_has_pending(ssl) && BIO_ctrl_pending(SSL_get_rbio(ssl)) == 0)
        return std::nullopt;
    ERR_clear_error(); // SSL_get_error reads the queue: an old entry would pass for the peek's
    char byte;
    const int n = SSL_peek(ssl, &byte, 1);
    const int why = n > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl, n);
    ERR_clear_error(); // a peek's failure must not be read as a later operation's
    if (n > 0)
        return not_pooled_reason::protocol_error;
    // A TLS 1.2 HelloRequest makes the peek start a renegotiation, whose output Asio would never
    // send: such a connection is not reused.
    if (SSL_in_init(ssl) || BIO_ctrl_wpending(SSL_get_wbio(ssl)) > 0)
        return not_pooled_reason::protocol_error;
    if (why == SSL_ERROR_WANT_READ)
        return std::nullopt; // only TLS's own records: nothing waits for the caller
    return why == SSL_ERROR_ZERO_RETURN ? not_pooled_reason::connection_close : not_pooled_reason::protocol_error;
}

} // namespace

error_code write_head(std::string& out, const exchange_scope& x)
{
    const request& req = x.req;
    const header_fields* fields = &req.headers;
    header_fields stamped;
    if (x.sink.stamps_headers()) {
        stamped = req.headers;
        x.sink.stamp_headers(stamped);
        if (auto ec = check_fields(stamped))
            return ec;
        fields = &stamped;
    }
    out.clear();
    out.append(req.method).append(" ").append(x.where.path).append(" HTTP/1.1\r\n");
    if (fields->find(http::field::host) == fields->end())
        out.append("Host: ").append(x.where.host_header).append("\r\n");
    if (x.where.absolute_form && !x.where.route->authorization.empty()
        && fields->find(http::field::proxy_authorization) == fields->end())
        out.append("Proxy-Authorization: ").append(x.where.route->authorization).append("\r\n");
    for (const auto& f : *fields) {
        switch (f.name()) {
        case http::field::content_length:
        case http::field::transfer_encoding:
        case http::field::connection: continue;
        default: out.append(f.name_string()).append(": ").append(f.value()).append("\r\n");
        }
    }
    std::optional<std::uint64_t> length;
    if (req.body_stream)
        length = req.body_stream->length();
    else if (!req.body.empty() || expects_body(req.method))
        length = req.body.size();
    if (length) {
        std::array<char, 24> digits;
        auto end = std::to_chars(digits.data(), digits.data() + digits.size(), *length).ptr;
        out.append("Content-Length: ").append(digits.data(), end).append("\r\n");
    } else if (req.body_stream) {
        out.append("Transfer-Encoding: chunked\r\n");
    }
    out.append(x.close_after ? "Connection: close\r\n\r\n" : "\r\n");
    return {};
}

bool wants_close(const request& req) { return has_token(req, http::field::connection, "close"); }

bool expects_continue(const request& req) { return has_token(req, http::field::expect, "100-continue"); }

error_code io_outcome(error_code ec, error phase_timeout, clock::time_point deadline, const stop_state& stop)
{
    if (stop.stopped() || ec == boost::beast::error::timeout)
        return stop.outcome(ec, phase_timeout, deadline);
    if (!ec)
        return ec;
    if (ec == asio::error::eof)
        return error::unexpected_eof;
    if (ec.category() == http::make_error_code(http::error::end_of_stream).category())
        return from_parser(ec);
    return ec;
}

void start_response(connection& c, const request& req, const limits& l)
{
    auto& parser = c.in.parser.emplace();
    parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(l.max_header_bytes, UINT32_MAX)));
    if (req.stream_response)
        parser.body_limit(boost::none); // read a buffer at a time: nothing piles up
    else
        parser.body_limit(l.max_body_bytes);
    parser.skip(req.method == "HEAD");
    c.in.head_bytes = 0;
    c.in.in_trailers = false;
    parser.on_chunk_header(c.in.watch_chunks);
}

std::optional<not_pooled_reason> refusal_after_body(connection& c, bool close_after)
{
    if (c.in.request_body_unsent)
        return not_pooled_reason::request_body_unsent;
    if (close_after || !c.in.keep_alive)
        return not_pooled_reason::connection_close;
    if (c.buffer.size() > 0) // bytes after the response cannot be the next response
        return not_pooled_reason::protocol_error;
    if (c.tunneled_tls()) {
        // The server's records may still sit in the proxy's TLS, where a peek of the server's cannot
        // reach them, and what they hold cannot be told without reading them: not reused.
        SSL* outer = c.tls->native_handle();
        if (SSL_has_pending(outer) || BIO_ctrl_pending(SSL_get_rbio(outer)) > 0)
            return not_pooled_reason::protocol_error;
    }
    if (SSL* ssl = c.http_tls())
        return tls_leftover(ssl);
    return std::nullopt;
}

} // namespace roundtrip::detail::http1
