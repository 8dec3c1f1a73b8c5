// See tls_context.hpp.
#include "tls_context.hpp"

#include <roundtrip/error.hpp>

#include <boost/asio/ssl/error.hpp>
#include <boost/system/system_error.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <filesystem>

namespace roundtrip::detail {
namespace {

[[noreturn]] void bad_option(const char* option)
{
    throw boost::system::system_error(make_error_code(error::invalid_config), std::string("tls_options::") + option);
}

// The index of the SSL_CTX ex_data slot pointing back to the tls_context. (Not the context's app
// data: Asio keeps its verify callback there and deletes it with the context.)
int context_index()
{
    static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

// The index of the SSL ex_data slot holding the connection's session key.
int session_key_index()
{
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

std::atomic<std::uint64_t> last_id{0};

// ALPN's wire format: each protocol name prefixed by its length.
std::string alpn_wire(const std::vector<std::string>& protocols)
{
    std::string out;
    for (const auto& p : protocols)
        if (!p.empty() && p.size() < 256)
            out.append(1, static_cast<char>(p.size())).append(p);
    return out;
}

} // namespace

tls_context::tls_context(const tls_options& options)
    : options_(options), id_(++last_id), ctx_(asio::ssl::context::tls_client)
{
    SSL_CTX* ctx = ctx_.native_handle();
    SSL_CTX_set_ex_data(ctx, context_index(), this);
    // Runs one loading step; a failure names the option it came from.
    auto load = [](const std::string& value, const char* option, auto step) {
        if (value.empty())
            return;
        error_code ec;
        step(ec);
        if (ec)
            bad_option(option);
    };
    const bool own_trust = !options.ca_file.empty() || !options.ca_dir.empty() || !options.ca_pem.empty();
    load(options.ca_file, "ca_file", [&](error_code& ec) { ctx_.load_verify_file(options.ca_file, ec); });
    load(options.ca_dir, "ca_dir", [&](error_code& ec) {
        std::error_code fs;
        if (!std::filesystem::is_directory(options.ca_dir, fs))
            ec = error::invalid_config;
        else
            ctx_.add_verify_path(options.ca_dir, ec);
    });
    load(options.ca_pem, "ca_pem", [&](error_code& ec) { ctx_.add_certificate_authority(asio::buffer(options.ca_pem), ec); });
    if (!own_trust) {
        error_code ec;
        ctx_.set_default_verify_paths(ec);
        if (ec)
            bad_option("(system trust store)");
    }
    ctx_.set_verify_mode(options.insecure_skip_verify ? asio::ssl::verify_none : asio::ssl::verify_peer);

    load(options.cert_file, "cert_file", [&](error_code& ec) { ctx_.use_certificate_chain_file(options.cert_file, ec); });
    load(options.cert_pem, "cert_pem", [&](error_code& ec) { ctx_.use_certificate_chain(asio::buffer(options.cert_pem), ec); });
    load(options.key_file, "key_file",
         [&](error_code& ec) { ctx_.use_private_key_file(options.key_file, asio::ssl::context::pem, ec); });
    load(options.key_pem, "key_pem",
         [&](error_code& ec) { ctx_.use_private_key(asio::buffer(options.key_pem), asio::ssl::context::pem, ec); });
    const bool has_cert = !options.cert_file.empty() || !options.cert_pem.empty();
    const bool has_key = !options.key_file.empty() || !options.key_pem.empty();
    if (has_cert != has_key || (has_cert && SSL_CTX_check_private_key(ctx) != 1))
        bad_option(has_cert ? "key_file" : "cert_file");

    if (SSL_CTX_set_min_proto_version(ctx, options.min_version == tls_version::tls1_3 ? TLS1_3_VERSION
                                                                                      : TLS1_2_VERSION) != 1)
        bad_option("min_version");
    if (!options.ciphers.empty() && SSL_CTX_set_cipher_list(ctx, options.ciphers.c_str()) != 1)
        bad_option("ciphers");
    // Offering a protocol roundtrip cannot speak would let a server pick it and then get HTTP/1.1.
    for (const auto& protocol : options.alpn)
        if (protocol != "http/1.1")
            bad_option("alpn");
    const std::string alpn = alpn_wire(options.alpn);
    if (!alpn.empty()
        && SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(alpn.data()),
                                   static_cast<unsigned>(alpn.size())) != 0)
        bad_option("alpn");
    if (options.session_resumption) {
        // Sessions are kept here, per host; OpenSSL's internal client cache would not find them.
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_new_cb(ctx, &tls_context::on_new_session);
    } else {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    }
    if (!options.key_log_file.empty()) {
        key_log_ = std::fopen(options.key_log_file.c_str(), "a");
        if (!key_log_)
            bad_option("key_log_file");
        SSL_CTX_set_keylog_callback(ctx, &tls_context::on_key_log);
    }
    ERR_clear_error(); // failures above were reported; leave no stale entry for a later handshake
}

tls_context::~tls_context()
{
    for (auto& [key, session] : sessions_)
        SSL_SESSION_free(session);
    if (key_log_)
        std::fclose(key_log_);
}

void tls_context::prepare(SSL* ssl, const std::string& host, bool host_is_ip, const std::string& session_key)
{
    if (!host_is_ip)
        SSL_set_tlsext_host_name(ssl, host.c_str());
    if (!options_.insecure_skip_verify) {
        if (host_is_ip)
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()); // IP SANs only
        else {
            SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            SSL_set1_host(ssl, host.c_str());
        }
    }
    if (!options_.session_resumption)
        return;
    SSL_set_ex_data(ssl, session_key_index(), const_cast<std::string*>(&session_key));
    std::lock_guard lock(sessions_mutex_);
    if (auto it = sessions_.find(session_key); it != sessions_.end())
        SSL_set_session(ssl, it->second);
}

int tls_context::on_new_session(SSL* ssl, SSL_SESSION* session)
{
    auto* self = static_cast<tls_context*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), context_index()));
    auto* key = static_cast<const std::string*>(SSL_get_ex_data(ssl, session_key_index()));
    if (!self || !key || !SSL_SESSION_is_resumable(session))
        return 0;
    std::lock_guard lock(self->sessions_mutex_);
    auto [it, added] = self->sessions_.try_emplace(*key, session);
    if (!added) {
        SSL_SESSION_free(it->second);
        it->second = session;
    }
    return 1; // the cache keeps the reference OpenSSL gave
}

void tls_context::on_key_log(const SSL* ssl, const char* line)
{
    auto* self = static_cast<tls_context*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), context_index()));
    std::lock_guard lock(self->key_log_mutex_);
    std::fprintf(self->key_log_, "%s\n", line);
    std::fflush(self->key_log_);
}

error_code tls_context::handshake_failure(SSL* ssl, error_code ec)
{
    switch (SSL_get_verify_result(ssl)) {
    case X509_V_OK: break;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH: return error::tls_hostname_mismatch;
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID: return error::tls_certificate_expired;
    default: return error::tls_untrusted_certificate;
    }
    if (ec.category() == asio::error::get_ssl_category()) {
        switch (ERR_GET_REASON(static_cast<unsigned long>(ec.value()))) {
        case SSL_R_WRONG_VERSION_NUMBER:
        case SSL_R_PACKET_LENGTH_TOO_LONG:
        case SSL_R_HTTP_REQUEST: return error::tls_not_spoken;
        default: break;
        }
    }
    return error::tls_handshake_failed;
}

} // namespace roundtrip::detail

namespace roundtrip {

tls_config::tls_config(const tls_options& options) : context_(std::make_shared<detail::tls_context>(options)) {}

const tls_options& tls_config::options() const noexcept { return context_->options(); }

} // namespace roundtrip
