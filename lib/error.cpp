// roundtrip's error category, its condition category, and the classification of foreign errors.
#include <roundtrip/error.hpp>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace roundtrip {
namespace {

class error_category_impl final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "roundtrip"; }

    std::string message(int ev) const override
    {
        switch (static_cast<error>(ev)) {
        case error::invalid_url: return "invalid url";
        case error::unsupported_scheme: return "unsupported url scheme";
        case error::invalid_port: return "invalid port";
        case error::invalid_method: return "invalid method";
        case error::invalid_header_name: return "invalid header name";
        case error::invalid_header_value: return "invalid header value";
        case error::invalid_config: return "invalid configuration";
        case error::host_not_found: return "host not found";
        case error::dns_failed: return "name resolution failed";
        case error::connect_timeout: return "connect timed out";
        case error::response_header_timeout: return "timed out waiting for the response";
        case error::read_timeout: return "read timed out";
        case error::write_timeout: return "write timed out";
        case error::deadline_exceeded: return "deadline exceeded";
        case error::unexpected_eof: return "connection closed before the response was complete";
        case error::protocol_error: return "malformed response";
        case error::header_too_large: return "response header too large";
        case error::body_too_large: return "response body too large";
        case error::canceled: return "canceled";
        case error::middleware_threw: return "a middleware threw an exception";
        case error::body_length_mismatch: return "request body length differs from its declared length";
        case error::tls_untrusted_certificate: return "server certificate not trusted";
        case error::tls_certificate_expired: return "server certificate expired or not yet valid";
        case error::tls_hostname_mismatch: return "server certificate does not match the host";
        case error::tls_handshake_failed: return "tls handshake failed";
        case error::tls_not_spoken: return "the server does not speak tls on this port";
        case error::tls_handshake_timeout: return "tls handshake timed out";
        case error::tls_answer_to_http: return "the server answered in tls: use https";
        case error::connection_refused: return "connection refused";
        case error::connection_reset: return "connection reset";
        case error::network_unreachable: return "network unreachable";
        case error::network_timeout: return "connection timed out by the operating system";
        case error::io_failed: return "i/o failed";
        case error::tls_failed: return "tls failed after the handshake";
        case error::proxy_error: return "the proxy refused the connection";
        }
        return "unknown roundtrip error";
    }

    boost::system::error_condition default_error_condition(int ev) const noexcept override
    {
        return make_error_condition(classify(error_code(ev, *this)));
    }
};

class condition_category_impl final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "roundtrip.condition"; }

    std::string message(int ev) const override { return std::string(to_string(static_cast<condition>(ev))); }

    bool equivalent(const error_code& ec, int cv) const noexcept override
    {
        return ec && classify(ec) == static_cast<condition>(cv);
    }
};

condition classify_own(error e) noexcept
{
    switch (e) {
    case error::invalid_url:
    case error::unsupported_scheme:
    case error::invalid_port: return condition::invalid_url;
    case error::invalid_method: return condition::invalid_method;
    case error::invalid_header_name:
    case error::invalid_header_value: return condition::invalid_header;
    case error::invalid_config: return condition::invalid_config;
    case error::host_not_found:
    case error::dns_failed: return condition::dns_failure;
    case error::tls_untrusted_certificate:
    case error::tls_certificate_expired: return condition::tls_verify_failed;
    case error::tls_hostname_mismatch: return condition::hostname_mismatch;
    case error::tls_handshake_failed:
    case error::tls_not_spoken: return condition::tls_handshake_failed;
    case error::tls_answer_to_http:
    case error::tls_failed: return condition::protocol_error;
    case error::tls_handshake_timeout:
    case error::connect_timeout:
    case error::response_header_timeout:
    case error::read_timeout:
    case error::write_timeout:
    case error::deadline_exceeded: return condition::timeout;
    case error::unexpected_eof: return condition::eof;
    case error::protocol_error: return condition::protocol_error;
    case error::header_too_large: return condition::header_too_large;
    case error::body_too_large: return condition::body_too_large;
    case error::canceled: return condition::canceled;
    case error::proxy_error: return condition::proxy_error;
    case error::connection_refused: return condition::connection_refused;
    case error::connection_reset: return condition::connection_reset;
    case error::network_unreachable: return condition::connect_failed;
    case error::network_timeout: return condition::timeout;
    case error::middleware_threw:
    case error::body_length_mismatch:
    case error::io_failed: return condition::other;
    }
    return condition::other;
}

error from_system(int ev) noexcept
{
    namespace e = boost::asio::error;
    switch (ev) {
    case e::connection_refused: return error::connection_refused;
    case e::connection_reset:
    case e::connection_aborted:
    case e::broken_pipe: return error::connection_reset;
    case e::timed_out: return error::network_timeout;
    case e::operation_aborted: return error::canceled;
    case e::network_down:
    case e::network_reset:
    case e::network_unreachable:
    case e::host_unreachable:
    case e::not_connected:
    case EADDRNOTAVAIL: return error::network_unreachable;
    default: return error::io_failed;
    }
}

error from_beast_http(boost::beast::http::error e) noexcept
{
    using boost::beast::http::error;
    switch (e) {
    case error::end_of_stream:
    case error::partial_message: return roundtrip::error::unexpected_eof;
    case error::header_limit:
    case error::buffer_overflow: return roundtrip::error::header_too_large;
    case error::body_limit: return roundtrip::error::body_too_large;
    default: return roundtrip::error::protocol_error;
    }
}

// An OpenSSL error reported by a read or write: the handshake's own failures were already mapped
// by the dial (tls_context::handshake_failure), so what arrives here happened afterwards.
error from_ssl(const error_code& ec) noexcept
{
    if (ec == boost::asio::ssl::error::stream_truncated)
        return error::unexpected_eof;
    if (ERR_GET_LIB(static_cast<unsigned long>(ec.value())) != ERR_LIB_SSL)
        return error::tls_failed;
    switch (ERR_GET_REASON(static_cast<unsigned long>(ec.value()))) {
    case SSL_R_CERTIFICATE_VERIFY_FAILED: return error::tls_untrusted_certificate;
    // The server's verdict on the client's certificate: TLS 1.3 completes the client's side of the
    // handshake before the server checks it, so the refusal arrives as an alert at the first read.
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
    case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
    case SSL_R_TLSV1_ALERT_DECRYPT_ERROR: // a client certificate's signature refused (Go, rustls)
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_TLSV1_ALERT_ACCESS_DENIED: return error::tls_handshake_failed;
    default: return error::tls_failed;
    }
}

} // namespace

const boost::system::error_category& error_category() noexcept
{
    static const error_category_impl instance;
    return instance;
}

const boost::system::error_category& condition_category() noexcept
{
    static const condition_category_impl instance;
    return instance;
}

error_code make_error_code(error e) noexcept { return {static_cast<int>(e), error_category()}; }

boost::system::error_condition make_error_condition(condition c) noexcept
{
    return {static_cast<int>(c), condition_category()};
}

error_code as_roundtrip_error(const error_code& ec) noexcept
{
    namespace aerr = boost::asio::error;
    const auto& cat = ec.category();
    if (!ec || cat == error_category())
        return ec;
    if (cat == boost::system::system_category() || cat == boost::system::generic_category())
        return from_system(ec.value());
    if (cat == aerr::get_netdb_category() || cat == aerr::get_addrinfo_category())
        return ec == aerr::host_not_found ? error::host_not_found : error::dns_failed;
    if (cat == aerr::get_misc_category())
        return ec == aerr::eof ? error::unexpected_eof : error::io_failed;
    if (cat == boost::beast::http::make_error_code(boost::beast::http::error::end_of_stream).category())
        return from_beast_http(static_cast<boost::beast::http::error>(ec.value()));
    if (ec == boost::beast::error::timeout)
        return error::read_timeout;
    if (cat == aerr::get_ssl_category() || cat == boost::asio::ssl::error::get_stream_category())
        return from_ssl(ec);
    return ec;
}

condition classify(const error_code& ec) noexcept
{
    const error_code own = as_roundtrip_error(ec);
    if (own.category() == error_category())
        return classify_own(static_cast<error>(own.value()));
    // A middleware's category whose class is one of ours says so (classified_category).
    const boost::system::error_condition mapped = own.default_error_condition();
    return mapped.category() == condition_category() ? static_cast<condition>(mapped.value()) : condition::other;
}

boost::system::error_condition classified_category::default_error_condition(int ev) const noexcept
{
    const std::string_view name = class_name(ev);
    for (int c = 1; c < static_cast<int>(condition::other); ++c)
        if (to_string(static_cast<condition>(c)) == name)
            return make_error_condition(static_cast<condition>(c));
    return {ev, *this};
}

std::string_view error_class(const error_code& ec) noexcept
{
    if (const auto* own = dynamic_cast<const classified_category*>(&ec.category()))
        return own->class_name(ec.value());
    return to_string(classify(ec));
}

call_failed::call_failed(error_code ec)
    : boost::system::system_error(ec), text_(std::string(error_class(ec)) + ": " + ec.message())
{
}

std::string_view to_string(condition c) noexcept
{
    switch (c) {
    case condition::timeout: return "timeout";
    case condition::connection_refused: return "connection_refused";
    case condition::connection_reset: return "connection_reset";
    case condition::connect_failed: return "connect_failed";
    case condition::eof: return "eof";
    case condition::dns_failure: return "dns_failure";
    case condition::tls_verify_failed: return "tls_verify_failed";
    case condition::hostname_mismatch: return "hostname_mismatch";
    case condition::tls_handshake_failed: return "tls_handshake_failed";
    case condition::protocol_error: return "protocol_error";
    case condition::header_too_large: return "header_too_large";
    case condition::body_too_large: return "body_too_large";
    case condition::invalid_url: return "invalid_url";
    case condition::invalid_header: return "invalid_header";
    case condition::invalid_method: return "invalid_method";
    case condition::invalid_config: return "invalid_config";
    case condition::proxy_error: return "proxy_error";
    case condition::canceled: return "canceled";
    case condition::other: return "other";
    }
    return "other";
}

} // namespace roundtrip
