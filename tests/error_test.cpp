// roundtrip's error category and the mapping of every error source to exactly one class.
#include <roundtrip/error.hpp>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

#include <doctest/doctest.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

using namespace roundtrip;
namespace aerr = boost::asio::error;
namespace http = boost::beast::http;

namespace {
// An OpenSSL error of the SSL library with `reason`, as Asio reports what ERR_get_error returned.
error_code ssl_error(int reason)
{
    return error_code(static_cast<int>(ERR_PACK(ERR_LIB_SSL, 0, reason)), boost::asio::error::get_ssl_category());
}
} // namespace

TEST_CASE("roundtrip errors live in the \"roundtrip\" category with short lowercase messages")
{
    error_code ec = error::invalid_header_value;
    CHECK(std::string(ec.category().name()) == "roundtrip");
    CHECK(ec.message() == "invalid header value");
    for (int e = 1; e <= static_cast<int>(error::proxy_error); ++e) {
        auto msg = error_code(static_cast<error>(e)).message();
        CHECK(!msg.empty());
        CHECK(msg.find("unknown") == std::string::npos);
        for (char c : msg)
            CHECK_FALSE(std::isupper(static_cast<unsigned char>(c)));
    }
}

TEST_CASE("every roundtrip error belongs to the class its documentation names")
{
    CHECK(classify(error::invalid_url) == condition::invalid_url);
    CHECK(classify(error::unsupported_scheme) == condition::invalid_url);
    CHECK(classify(error::invalid_port) == condition::invalid_url);
    CHECK(classify(error::invalid_method) == condition::invalid_method);
    CHECK(classify(error::invalid_header_name) == condition::invalid_header);
    CHECK(classify(error::invalid_header_value) == condition::invalid_header);
    CHECK(classify(error::invalid_config) == condition::invalid_config);
    CHECK(classify(error::host_not_found) == condition::dns_failure);
    CHECK(classify(error::dns_failed) == condition::dns_failure);
    for (auto e : {error::connect_timeout, error::response_header_timeout, error::read_timeout,
                   error::write_timeout, error::deadline_exceeded})
        CHECK(classify(e) == condition::timeout);
    CHECK(classify(error::unexpected_eof) == condition::eof);
    CHECK(classify(error::protocol_error) == condition::protocol_error);
    CHECK(classify(error::header_too_large) == condition::header_too_large);
    CHECK(classify(error::body_too_large) == condition::body_too_large);
    CHECK(classify(error::canceled) == condition::canceled);
    CHECK(classify(error::middleware_threw) == condition::other);
}

TEST_CASE("system, Asio, Beast and OpenSSL errors map to one class each")
{
    CHECK(classify(aerr::connection_refused) == condition::connection_refused);
    CHECK(classify(aerr::connection_reset) == condition::connection_reset);
    CHECK(classify(aerr::broken_pipe) == condition::connection_reset);
    CHECK(classify(aerr::timed_out) == condition::timeout);
    CHECK(classify(aerr::operation_aborted) == condition::canceled);
    CHECK(classify(aerr::network_unreachable) == condition::connect_failed);
    CHECK(classify(aerr::host_unreachable) == condition::connect_failed);
    CHECK(classify(aerr::host_not_found) == condition::dns_failure);
    CHECK(classify(aerr::host_not_found_try_again) == condition::dns_failure);
    CHECK(classify(aerr::eof) == condition::eof);
    CHECK(classify(boost::beast::error::timeout) == condition::timeout);
    CHECK(classify(http::error::end_of_stream) == condition::eof);
    CHECK(classify(http::error::partial_message) == condition::eof);
    CHECK(classify(http::error::header_limit) == condition::header_too_large);
    CHECK(classify(http::error::body_limit) == condition::body_too_large);
    CHECK(classify(http::error::bad_chunk) == condition::protocol_error);
    CHECK(classify(boost::asio::ssl::error::stream_truncated) == condition::eof);
    CHECK(classify(error_code(12345, boost::asio::error::get_ssl_category())) == condition::protocol_error);
    CHECK(classify(error_code(EPERM, boost::system::generic_category())) == condition::other);
}

TEST_CASE("as_roundtrip_error names foreign errors in roundtrip's category, keeping their class")
{
    const std::vector<std::pair<error_code, error>> cases{
        {aerr::connection_refused, error::connection_refused},
        {aerr::connection_reset, error::connection_reset},
        {aerr::connection_aborted, error::connection_reset},
        {aerr::broken_pipe, error::connection_reset},
        {aerr::network_unreachable, error::network_unreachable},
        {aerr::host_unreachable, error::network_unreachable},
        {aerr::timed_out, error::network_timeout},
        {aerr::operation_aborted, error::canceled},
        {aerr::host_not_found, error::host_not_found},
        {aerr::host_not_found_try_again, error::dns_failed},
        {aerr::eof, error::unexpected_eof},
        {boost::beast::error::timeout, error::read_timeout},
        {http::error::partial_message, error::unexpected_eof},
        {http::error::header_limit, error::header_too_large},
        {http::error::body_limit, error::body_too_large},
        {http::error::bad_chunk, error::protocol_error},
        {boost::asio::ssl::error::stream_truncated, error::unexpected_eof},
        // After the handshake (the dial maps the handshake's own failures): a record that does not
        // decrypt is TLS failing, not a handshake; a late alert refusing our certificate is the handshake's.
        {ssl_error(SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC), error::tls_failed},
        {ssl_error(SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED), error::tls_handshake_failed},
        {ssl_error(SSL_R_TLSV1_ALERT_UNKNOWN_CA), error::tls_handshake_failed},
        {ssl_error(SSL_R_TLSV1_ALERT_DECRYPT_ERROR), error::tls_handshake_failed},
        {ssl_error(SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE), error::tls_handshake_failed},
        {ssl_error(SSL_R_CERTIFICATE_VERIFY_FAILED), error::tls_untrusted_certificate},
        {error_code(12345, boost::asio::error::get_ssl_category()), error::tls_failed},
        {error_code(EPERM, boost::system::generic_category()), error::io_failed},
    };
    for (const auto& [foreign, own] : cases) {
        CAPTURE(foreign.message());
        const error_code mapped = as_roundtrip_error(foreign);
        CHECK(mapped == own);
        CHECK(std::string(mapped.category().name()) == "roundtrip");
        CHECK(classify(mapped) == classify(foreign));
    }
    CHECK_FALSE(as_roundtrip_error(error_code()));
    CHECK(as_roundtrip_error(error::read_timeout) == error::read_timeout);
    // A plugin's own category is its API: kept as it is.
    struct plugin_category final : boost::system::error_category {
        const char* name() const noexcept override { return "plugin"; }
        std::string message(int) const override { return "plugin failure"; }
    };
    static const plugin_category plugin;
    CHECK(as_roundtrip_error(error_code(3, plugin)) == error_code(3, plugin));
}

namespace {

// A middleware's errors: one with a class of its own, one in a class of roundtrip's.
struct redirect_category final : classified_category {
    const char* name() const noexcept override { return "example.redirect"; }
    std::string message(int ev) const override { return ev == 1 ? "too many redirects" : "redirect timed out"; }
    std::string_view class_name(int ev) const noexcept override { return ev == 1 ? "too_many_redirects" : "timeout"; }
};
const redirect_category redirect_errors;

} // namespace

TEST_CASE("a middleware's error category names its classes: error_class shows them, classify knows roundtrip's")
{
    const error_code own(1, redirect_errors), shared(2, redirect_errors);
    CHECK(error_class(own) == "too_many_redirects");
    CHECK(classify(own) == condition::other);
    CHECK(own != condition::timeout);
    CHECK(error_class(shared) == "timeout");
    CHECK(classify(shared) == condition::timeout);
    CHECK(shared == condition::timeout);
    CHECK(as_roundtrip_error(own) == own); // kept: the middleware's API
    CHECK(std::string(call_failed(own).what()) == "too_many_redirects: too many redirects");
    // Every other code: its roundtrip class.
    CHECK(error_class(error::read_timeout) == "timeout");
    CHECK(error_class(aerr::connection_refused) == "connection_refused");
    struct plain_category final : boost::system::error_category {
        const char* name() const noexcept override { return "plain"; }
        std::string message(int) const override { return "plain failure"; }
    };
    static const plain_category plain;
    CHECK(error_class(error_code(1, plain)) == "other");
}

TEST_CASE("call_failed reads CLASS: message, with no category, value or source location")
{
    call_failed e(error::connection_refused);
    CHECK(std::string(e.what()) == "connection_refused: connection refused");
    CHECK(e.code() == error::connection_refused);
    const boost::system::system_error& base = e;
    CHECK(std::string(base.what()) == "connection_refused: connection refused");
}

TEST_CASE("an error_code compares equal to its class")
{
    CHECK(error_code(error::read_timeout) == condition::timeout);
    CHECK(error_code(aerr::timed_out) == condition::timeout);
    CHECK(error_code(boost::beast::error::timeout) == condition::timeout);
    CHECK(error_code(aerr::connection_refused) == condition::connection_refused);
    CHECK(error_code(aerr::connection_refused) != condition::timeout);
    CHECK_FALSE(error_code() == condition::other);
}

TEST_CASE("class names are the ones the CLI prints")
{
    CHECK(to_string(condition::timeout) == "timeout");
    CHECK(to_string(condition::connect_failed) == "connect_failed");
    CHECK(to_string(condition::tls_verify_failed) == "tls_verify_failed");
    CHECK(to_string(condition::hostname_mismatch) == "hostname_mismatch");
    CHECK(to_string(condition::other) == "other");
    CHECK(make_error_condition(condition::eof).message() == "eof");
}
