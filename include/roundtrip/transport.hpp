// The transport: the round tripper at the bottom of every chain, which dials connections (TCP or
// Unix-domain) and exchanges HTTP/1.1 messages on them, emitting the lifecycle events.
#pragma once

#include <roundtrip/connect_step.hpp>
#include <roundtrip/detail/config.hpp>
#include <roundtrip/events.hpp>
#include <roundtrip/limits.hpp>
#include <roundtrip/name_pins.hpp>
#include <roundtrip/proxy.hpp>
#include <roundtrip/resolver.hpp>
#include <roundtrip/round_tripper.hpp>
#include <roundtrip/tls.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace roundtrip {

/// `timeouts` bound each phase of an attempt. The call's deadline (`request::deadline()`) bounds
/// them all. Every timeout fails the attempt with an error of class `condition::timeout`. A timeout
/// of 0 means that phase has no limit of its own (the call's deadline still applies), as in Go;
/// except `expect_continue`, where 0 means "send the body without waiting".
struct timeouts {
    /// Name resolution plus connecting, for one dial (all addresses tried). Default 10 s.
    clock::duration connect = std::chrono::seconds(10);
    /// From the request written to the first byte of the response (the server's think time).
    /// Default 60 s.
    clock::duration response_header = std::chrono::seconds(60);
    /// Longest time a read of the response may make no progress. Default 30 s.
    clock::duration read_inactivity = std::chrono::seconds(30);
    /// Longest time a write of the request may make no progress. Default 30 s.
    clock::duration write_inactivity = std::chrono::seconds(30);
    /// For a request with `Expect: 100-continue`: how long to wait for the server's `100 Continue`
    /// (or its final answer) before sending the body anyway; 0 sends it at once. Default 1 s, as Go's
    /// DefaultTransport.
    clock::duration expect_continue = std::chrono::seconds(1);
};

/// `dns_cache_options` bound the transport's DNS cache. Concurrent lookups of one name are always
/// shared (one resolver call, as Go's `DNSDone.Coalesced`), whatever the cache keeps.
struct dns_cache_options {
    /// How long a name's addresses are reused before it is looked up again. Default 60 s, as curl's
    /// `CURLOPT_DNS_CACHE_TIMEOUT`. 0 keeps no answers (failures still follow `failure_ttl`): unlike
    /// the other durations, 0 here does not mean "no limit". A dial whose cached addresses all refuse
    /// or cannot be reached drops the entry and looks up once more.
    clock::duration ttl = std::chrono::seconds(60);
    /// How long a failed lookup (`host_not_found`, `dns_failed`) is remembered, so a burst of requests to
    /// a name that does not resolve makes one lookup, not one each. Default 1 s; 0 keeps none.
    clock::duration failure_ttl = std::chrono::seconds(1);
    /// Names kept; beyond it the least recently used is dropped. Default 1000.
    std::size_t max_names = 1000;
};

/// `tcp_keep_alive` makes the operating system probe an idle TCP connection, so that a peer that
/// vanished (a crashed host, a dropped NAT entry) is noticed (`network_timeout`) rather than waited
/// on forever. The defaults are Go's `net.Dialer`'s (`KeepAliveConfig`). Times are whole seconds,
/// at least 1.
struct tcp_keep_alive {
    /// Sets SO_KEEPALIVE. Default on.
    bool enabled = true;
    /// Idle time before the first probe (TCP_KEEPIDLE). Default 15 s.
    clock::duration idle = std::chrono::seconds(15);
    /// Time between probes (TCP_KEEPINTVL). Default 15 s.
    clock::duration interval = std::chrono::seconds(15);
    /// Unanswered probes before the connection is dropped (TCP_KEEPCNT). Default 9.
    int count = 9;
};

/// `dial_options` shape how new connections are made.
struct dial_options {
    /// Sets TCP_NODELAY on each connection, so a request is not held back by Nagle's algorithm.
    bool tcp_no_delay = true;
    /// TCP keep-alive probes on each TCP connection (not on Unix-domain sockets).
    tcp_keep_alive keep_alive;
    /// The local address TCP connections are made from (Go's `Dialer.LocalAddr`, curl's
    /// `--interface`); the port is chosen by the system. An address of the other family than the
    /// server's fails that connect. Default: none, the system chooses.
    std::optional<asio::ip::address> local_address;
    /// Connects every request through the Unix-domain socket at this path instead of TCP (curl's
    /// `--unix-socket`): a sidecar, a local daemon. The URL still gives `Host` and, for https, the
    /// name TLS verifies. Connections are pooled under a key of their own. Default: TCP. A path
    /// longer than the system can address (107 bytes on Linux) fails with `invalid_config`.
    std::string unix_socket;
    /// Called with each new socket, opened and with roundtrip's options set, before it connects:
    /// set socket options of your own (SO_MARK, a send buffer, ...), as Go's `Dialer.Control`. An
    /// error it sets fails that connect (`connect_done` carries it); so does an exception, which it
    /// should not throw. Runs on the transport's executor.
    std::function<void(stream_socket& socket, error_code& ec)> prepare_socket;
    /// Chooses a proxy for each request (Go's `Transport.Proxy`); null: `proxy_from_environment()`,
    /// read when the transport is built (curl's rules: `http_proxy`, `HTTPS_PROXY`, `NO_PROXY`, ...).
    /// `direct()` ignores the environment. Not used for a Unix-domain socket.
    proxy_selector proxy;
    /// How long a connect to one address may go unanswered before the next address is tried in
    /// parallel: the connection attempt delay of RFC 8305 (Happy Eyeballs v2), whose addresses are
    /// tried alternating IPv6 and IPv4. The A and AAAA lookups are not raced (section 3): the
    /// resolver answers both at once. Default 250 ms.
    clock::duration fallback_delay = std::chrono::milliseconds(250);
    /// Replaces how a new connection reaches its next hop (`connect_step`): null, the default,
    /// resolves and races addresses as the options here say.
    connect_step connect;
    /// Resolves host names; null means a `system_resolver` the transport makes.
    std::shared_ptr<roundtrip::resolver> resolver;
    /// What the transport keeps of the resolver's answers.
    dns_cache_options dns_cache;
    /// Names answered with fixed addresses, before the cache and the resolver (curl's `--resolve`);
    /// null: none. Shared: the caller may change the pins while the transport runs.
    std::shared_ptr<name_pins> pins;
};

/// `pool_options` bound how many connections the transport keeps and for how long.
struct pool_options {
    /// Idle connections kept across all hosts; when full, the oldest idle one is closed to make room.
    /// 0 keeps none: every connection closes after its response (`keep_alive_disabled`). Default 256.
    std::size_t max_idle = 256;
    /// Idle connections kept per host; a connection returned beyond it is closed (`pool_full`).
    /// Default 32: a burst of concurrent requests to one host reuses its connections afterwards (Go's
    /// default of 2 makes every burst above two reopen connections).
    std::size_t max_idle_per_host = 32;
    /// Connections per host, counting those being dialed; 0 means no limit. Attempts beyond it wait in
    /// FIFO order for a connection to come back or to close, bounded by their call's deadline.
    std::size_t max_conns_per_host = 0;
    /// An idle connection is closed after this long unused (`idle_timeout`); 0 means never. Default 90 s.
    clock::duration idle_timeout = std::chrono::seconds(90);
    /// A connection older than this is not reused (`max_lifetime`); 0 means no limit. Default 0.
    clock::duration max_lifetime{};
};

/// `pool_stats` is a snapshot of the transport's connections.
struct pool_stats {
    /// The counts of one host (scheme, host and port).
    struct host {
        std::string key;          ///< "http://example.com:80"; "https://example.com:443#tls2" for a request's own `tls_config`
        std::size_t open = 0;     ///< connections that exist or are being dialed: active + idle + dialing
        std::size_t idle = 0;     ///< in the pool, ready for reuse
        std::size_t active = 0;   ///< carrying an exchange
        std::size_t dialing = 0;  ///< being dialed
        std::size_t waiting = 0;  ///< attempts waiting for a connection
    };
    std::size_t open = 0, idle = 0, active = 0, dialing = 0, waiting = 0; ///< totals over hosts
    /// Connections dialed successfully since the transport was built (cumulative, never decreases):
    /// the difference over a stretch of traffic is how many connections it opened.
    std::uint64_t opened = 0;
    std::vector<host> hosts;                                              ///< hosts with any count > 0
};

/// `transport_options` groups the transport's settings by concern; each default is the one stated.
struct transport_options {
    struct timeouts timeouts;
    struct limits limits;
    struct dial_options dial;
    struct pool_options pool;
    struct tls_options tls;
};

namespace detail {
class transport_impl;
class inline_round_tripper;
struct transport_access;
}

/// A `transport` is the round tripper at the bottom of a chain. For each attempt it validates the
/// request, dials a connection (resolving the host, trying its addresses), writes the request and
/// reads the response, emitting each step as an event to the client's observers and to the request's
/// own observers.
///
/// Connections are kept alive in a pool keyed by scheme, host, port and TLS configuration, and reused most recently used
/// first; an attempt that finds none dials one, and takes whichever comes first: its own dial or a
/// connection another attempt returns (late binding). Idle connections are watched: one the server
/// closes, or sends unasked bytes on, is removed at once. An attempt that fails on a reused
/// connection before any response byte is retried on another connection when that is safe: nothing
/// was written, or the request is replayable (`is_replayable`).
///
/// Thread safety: `async_round_trip` and `close` may be called from any thread. All work runs on the
/// executor given at construction, which must not run two handlers at once (a strand, or an
/// io_context run by one thread); events are delivered there.
class transport : public round_tripper {
public:
    /// Builds a transport whose work runs on `ex`. `observers` receive every event of every attempt.
    transport(executor ex, transport_options options = {},
              std::vector<std::shared_ptr<observer>> observers = {});
    ~transport() override;

    transport(const transport&) = delete;
    transport& operator=(const transport&) = delete;

    /// Ends every attempt in progress with `error::canceled` and fails later ones the same way.
    /// Returns at once; the attempts complete on the executor.
    void close();

    /// Closes every idle connection (`conn_closed{close_idle}`). Returns at once.
    void close_idle();

    /// Returns a snapshot of the pool's counts. Safe from any thread, the transport's own included.
    pool_stats stats() const;

    /// Returns the executor the transport's work runs on.
    executor get_executor() const noexcept;

private:
    friend struct detail::transport_access;
    void do_round_trip(request req, asio::any_completion_handler<signature> handler) override;
    std::shared_ptr<detail::transport_impl> impl_;
};

} // namespace roundtrip
