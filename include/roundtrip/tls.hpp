// How the transport speaks TLS for https:// URLs: trust, identity, protocol, and debugging aids.
#pragma once

#include <roundtrip/detail/config.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace roundtrip {

namespace detail {
class tls_context;
struct tls_access;
} // namespace detail

/// The lowest TLS version a connection may use.
enum class tls_version { tls1_2, tls1_3 };

/// `tls_options` configure every HTTPS connection of a transport, and its TLS with an `https://`
/// proxy (verified against the proxy's name). The defaults verify the server
/// against the system's trust store (OpenSSL's default paths) and the URL's host name, send SNI for
/// host names (never for IP literals, RFC 6066), require TLS 1.2 or later, offer ALPN `http/1.1`,
/// and resume TLS sessions on new connections to the same host.
///
/// Files are read when the transport is built: a missing or unreadable one makes the client
/// constructor throw `boost::system::system_error` with `error::invalid_config` naming the option.
/// Without files, the options are checked when the first https request needs them, which then fails
/// with `error::invalid_config`; build a `tls_config` from them to check them up front.
struct tls_options {
    /// Trust anchors in addition to none: when any of the three is set, the system store is not used.
    std::string ca_file; ///< A PEM file of CA certificates.
    std::string ca_dir;  ///< A directory of hashed CA certificates (`openssl rehash`).
    std::string ca_pem;  ///< CA certificates as PEM text.

    /// The client's own certificate chain and private key, for servers that ask for one (mTLS):
    /// files, or PEM text. Both halves or neither.
    std::string cert_file, key_file;
    std::string cert_pem, key_pem;

    tls_version min_version = tls_version::tls1_2;
    /// The TLS 1.2 cipher list in OpenSSL's syntax; empty means OpenSSL's default. (TLS 1.3 suites are
    /// OpenSSL's defaults, which are all sound.)
    std::string ciphers;
    /// Protocols offered by ALPN, most preferred first; empty offers none. `http/1.1` is the only one
    /// roundtrip speaks, and any other is refused as `invalid_config`; the list is here so `h2` can
    /// join it.
    std::vector<std::string> alpn{"http/1.1"};
    /// Appends each connection's secrets to this file in the NSS key log format (as SSLKEYLOGFILE
    /// does), so Wireshark can decrypt a capture. For debugging only: whoever reads it reads the traffic.
    std::string key_log_file;
    /// How long a TLS handshake may take, after the TCP connection is made; 0 means no limit of its
    /// own (the call's deadline still applies). Default 10 s.
    clock::duration handshake_timeout = std::chrono::seconds(10);
    /// Reuse TLS sessions (TLS 1.3 tickets, TLS 1.2 tickets or ids) for new connections to the same
    /// host: a resumed handshake skips certificate verification's cost and a round trip in TLS 1.2.
    bool session_resumption = true;

    /// Accept any certificate from any server: no chain, expiry or host name check. Anyone on the
    /// path can then read and change the traffic. For tests against throwaway servers only.
    bool insecure_skip_verify = false;
};

/// A `tls_config` is a TLS configuration made ready once: its `tls_options` read and loaded into an
/// OpenSSL context, with a session cache of its own. Copies share it; it is safe to use from any
/// thread.
///
/// The transport makes one from `transport_options::tls` for every https request. A request that
/// needs other trust or another client certificate (a second tenant's identity, a host behind a
/// private CA) carries its own in `request::tls`; a middleware can choose it by host. Connections
/// made with different configs are pooled apart and never lent to each other, and TLS sessions are
/// only resumed under the config that made them. Build a config once and reuse it: each one loads
/// its certificates, and each new one starts with an empty session cache.
class tls_config {
public:
    /// Reads every file `options` names; throws `boost::system::system_error` with
    /// `error::invalid_config` naming the option when one is missing, unreadable or malformed.
    explicit tls_config(const tls_options& options);

    /// Returns the options the config was made from.
    const tls_options& options() const noexcept;

private:
    friend struct detail::tls_access;
    std::shared_ptr<detail::tls_context> context_;
};

} // namespace roundtrip
