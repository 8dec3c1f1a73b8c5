// What one request's attempts did, gathered from their lifecycle events: the figures of --json and
// --timeline. Phases are those of the final attempt, as the CLI contract says.
#pragma once

#include <roundtrip/events.hpp>

#include <string>

namespace roundtrip::cli {

class call_stats : public observer {
public:
    void on_event(const event& e) noexcept override;

    // Of the final attempt; zero when they did not happen. `proxy`: from the connect to the proxy's
    // answer to the tunnel asked for (an https:// proxy's TLS included); `tls`: the server's handshake
    // (or an https:// proxy's, for an http URL that needs no tunnel).
    clock::duration dns{}, connect{}, proxy{}, tls{};
    clock::time_point attempt_start{};         // the final attempt's get_conn
    clock::time_point got_connection_at{};     // the final attempt's got_conn
    clock::time_point first_byte{};            // of the final attempt
    bool reused = false, was_idle = false, got_connection = false;
    clock::duration idle{};
    bool opened_connection = false; // some attempt got a connection that served nothing before
    unsigned redirects = 0;         // redirects followed (-L)
    std::string decoded_from;       // the coding the body was decoded from (--compressed), if any
    // Why the server's certificate was refused, and whose it was (copied: events' strings are not kept).
    std::string verify_error, peer_subject;
    unsigned proxy_status = 0; // the proxy's answer to the last tunnel asked for, 0 when there was none
    bool proxy_socks = false;  // that proxy speaks SOCKS5: proxy_status is its reply code

    // The final attempt's wait for a connection beyond dialing one: queued at the host's limit, or
    // for a connection another request handed over.
    clock::duration connection_wait() const noexcept;
    // Handed over by another request as it finished (not taken from the idle pool).
    bool handed_over() const noexcept { return reused && !was_idle; }

private:
    clock::time_point connect_start_{}; // the first address's: connect time covers the fallback too
    clock::time_point connected_at_{};  // the final attempt's connect_done, where a tunnel's time starts
    clock::duration queued_{}; // at the host's connection limit (wait_for_conn_start to _done)
};

} // namespace roundtrip::cli
