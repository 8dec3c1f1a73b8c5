// One TLS configuration (the state behind a public `tls_config`): the OpenSSL context built once
// from `tls_options`, the per-connection set-up (SNI, host-name check, a session to resume), the
// client session cache, and the mapping of a failed handshake to roundtrip's errors.
#pragma once

#include <roundtrip/error.hpp>
#include <roundtrip/tls.hpp>

#include <boost/asio/ssl/context.hpp>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace roundtrip::detail {

class tls_context {
public:
    // Reads every file the options name; throws boost::system::system_error with
    // error::invalid_config and the option's name when one is missing, unreadable or malformed.
    explicit tls_context(const tls_options& options);
    ~tls_context();
    tls_context(const tls_context&) = delete;
    tls_context& operator=(const tls_context&) = delete;

    asio::ssl::context& native() noexcept { return ctx_; }
    const tls_options& options() const noexcept { return options_; }
    // Unique in the process, never 0: tells configs apart in pool keys.
    std::uint64_t id() const noexcept { return id_; }

    // Sets up a new connection's SSL object for `host`: SNI for a host name, the certificate check
    // against the name or IP, and the last session of `session_key` to resume. `session_key` must
    // outlive `ssl` (it is the connection's pool key).
    void prepare(SSL* ssl, const std::string& host, bool host_is_ip, const std::string& session_key);

    // The error a failed handshake reports: the certificate check's verdict when there was one.
    static error_code handshake_failure(SSL* ssl, error_code ec);

private:
    static int on_new_session(SSL* ssl, SSL_SESSION* session);
    static void on_key_log(const SSL* ssl, const char* line);

    tls_options options_;
    std::uint64_t id_;
    asio::ssl::context ctx_;
    std::mutex sessions_mutex_; // the new-session callback may run on any client thread
    std::unordered_map<std::string, SSL_SESSION*> sessions_; // one reference each
    std::mutex key_log_mutex_;
    std::FILE* key_log_ = nullptr;
};

// The library's way into a `tls_config`.
struct tls_access {
    static const std::shared_ptr<tls_context>& context(const tls_config& config) noexcept { return config.context_; }
};

} // namespace roundtrip::detail
