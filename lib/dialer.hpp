// The dialer makes one new connection: through a Unix-domain socket when the target names one;
// else it finds the host's addresses (unless it is an IP literal:
// pinned, cached, or looked up, through the transport's lookup group), then connects to them in
// order, starting the next one when the current one has not answered within the fallback delay
// (RFC 8305), and keeps the first that succeeds; addresses from the cache that all fail are looked
// up once more. Through a proxy, it connects to the proxy instead (over TLS for an https:// one), and
// for https asks it for a tunnel to the server (CONNECT, or SOCKS5's). For https it then runs the TLS
// handshake with the server, so that a connection is ready for HTTP whoever ends up using it.
#pragma once

#include "connection.hpp"
#include "event_sink.hpp"
#include "lookup_group.hpp"
#include "proxy_route.hpp"
#include "stop_state.hpp"
#include "tls_context.hpp"

#include <roundtrip/transport.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <optional>
#include <vector>

namespace roundtrip::detail {

struct target;

class dial : public std::enable_shared_from_this<dial> {
public:
    using handler_type = asio::any_completion_handler<void(error_code, std::unique_ptr<connection>)>;

    // `call_deadline` decides whether a timeout is the call's (deadline_exceeded) or the dial's own
    // (connect_timeout). Everything runs on `strand`.
    // `tls` is null for http. `key` is the pool key, which also names the host's TLS sessions.
    // `watchdog` times the new connection's operations, from its connect on.
    dial(executor strand, std::shared_ptr<watchdog> watchdog, const dial_options& options, std::shared_ptr<lookup_group> names, event_sink sink, const target& t,
         std::uint64_t conn_id, clock::duration connect_timeout, clock::time_point call_deadline,
         std::shared_ptr<tls_context> tls, std::string key);

    ~dial();

    // Starts the dial; `handler` runs once, on the strand, never inside this function.
    void start(handler_type handler);

    // Ends the dial with error::canceled. Only on the strand.
    void cancel();

private:
    void reach();
    void look_up(bool use_cache);
    void on_resolved(lookup_group::answer found);
    void connect_next();
    error_code prepare(timed_stream::socket_type& socket, const timed_stream::socket_type::endpoint_type& peer);
    void on_connected(std::size_t index, error_code ec);
    void on_expired(error_code ec);
    void abort_all();
    error_code outcome(error_code ec) const;
    void run_connect_step();
    void on_step(error_code ec, stream_socket socket);
    void connected(std::unique_ptr<connection> conn);
    void hop_ready(std::unique_ptr<connection> conn);
    void open_tunnel(std::unique_ptr<connection> conn);
    void send_connect(std::string target);
    template <class Stream>
    void exchange_connect(Stream& s);
    void on_connect_answer(error_code ec);
    void on_tunnel(error_code ec, unsigned status);
    void handshake(std::unique_ptr<connection> conn);
    void on_handshake(error_code ec);
    void finish(error_code ec, std::unique_ptr<connection> conn);

    executor strand_;
    std::shared_ptr<watchdog> watchdog_;
    const dial_options& options_;
    std::shared_ptr<lookup_group> names_;
    event_sink sink_;
    // The server the connection is for: what TLS verifies, and where a tunnel goes.
    std::string origin_host_;
    bool origin_is_ip_;
    std::uint16_t origin_port_;
    std::shared_ptr<const proxy_route> route_; // null: the dial connects to the server itself
    // Where the dial connects: the server, or its proxy.
    std::string host_;
    bool host_is_ip_;
    asio::ip::address ip_;
    std::uint16_t port_;
    std::string unix_path_; // connect through this Unix-domain socket; empty: TCP
    // What a tunnel through a proxy is asked to reach: the server's host, or for socks5:// the
    // address found for it here.
    std::string tunnel_host_;
    std::uint64_t conn_id_;
    clock::time_point dial_deadline_;
    clock::time_point call_deadline_;
    // Boost 1.81's any_completion_handler move-assignment recurses without end, so the handler is
    // only ever move-constructed: emplaced here, moved out once in finish().
    std::optional<handler_type> handler_;

    // All of these are only touched on the strand.
    asio::steady_timer expiry_;   // the dial's deadline
    asio::steady_timer fallback_; // when to start the next address
    lookup_group::ticket lookup_; // while the lookup group owes an answer
    bool resolving_ = false;
    bool resolving_origin_ = false; // the lookup is of the server's name, for a socks5:// proxy
    bool stepping_ = false;         // the user's connect step owes its socket
    asio::cancellation_signal step_cancel_; // tells the step to stop
    dns_source source_ = dns_source::lookup;         // of addresses_
    dns_source pending_source_ = dns_source::lookup; // of the answer the dial waits for
    bool setup_failed_ = false; // a socket's own setup failed (bind, prepare_socket), not a connect
    bool refreshed_ = false; // addresses from the cache failed, and the name was looked up again
    std::vector<endpoint> addresses_;
    std::vector<std::unique_ptr<timed_stream>> racing_; // one per address started
    // When each phase started, for the durations its *_done event carries.
    clock::time_point resolve_started_;
    std::vector<clock::time_point> connect_started_; // one per address started
    clock::time_point handshake_started_;
    std::size_t in_flight_ = 0;
    std::size_t winner_ = SIZE_MAX;
    error_code first_error_;
    std::shared_ptr<tls_context> tls_;
    std::string key_;
    std::unique_ptr<connection> handshaking_; // connected, its TLS handshake in progress
    std::unique_ptr<connection> tunneling_;   // connected to the proxy, its CONNECT in progress
    struct tunnel_exchange;
    std::unique_ptr<tunnel_exchange> tunnel_;
    clock::time_point tunnel_started_;
    stop_state stop_; // cancel() or the dial's deadline (expiry_)
    bool done_ = false;
};

} // namespace roundtrip::detail
