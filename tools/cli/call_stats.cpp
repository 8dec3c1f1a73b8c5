#include "call_stats.hpp"

#include <roundtrip/middleware/decompress_events.hpp>
#include <roundtrip/middleware/redirect_events.hpp>

namespace roundtrip::cli {

void call_stats::on_event(const event& e) noexcept
{
    if (event_cast<redirect_followed>(e)) {
        ++redirects;
    } else if (const auto* decoded = event_cast<content_decoded>(e)) {
        decoded_from.assign(decoded->coding);
    } else if (std::holds_alternative<get_conn>(e.data)) { // a new attempt: its phases replace the last one's
        dns = connect = proxy = tls = idle = queued_ = {};
        first_byte = connect_start_ = connected_at_ = got_connection_at = {};
        proxy_status = 0;
        attempt_start = e.at;
        reused = was_idle = got_connection = false;
    } else if (got_connection && !std::holds_alternative<got_first_response_byte>(e.data)) {
        // A dial that ends after its attempt was handed another connection (late binding) reports
        // its remaining events later: they are not this attempt's phases.
    } else if (auto w = std::get_if<wait_for_conn_done>(&e.data)) {
        queued_ = w->took;
    } else if (auto d = std::get_if<dns_done>(&e.data)) {
        dns = d->took;
    } else if (std::holds_alternative<connect_start>(e.data)) {
        if (connect_start_ == clock::time_point{})
            connect_start_ = e.at; // the race's first address: connect time covers the fallback too
    } else if (auto c = std::get_if<connect_done>(&e.data); c && !c->error && connect_start_ != clock::time_point{}) {
        connect = e.at - connect_start_;
        connected_at_ = e.at;
    } else if (auto p = std::get_if<proxy_connect_start>(&e.data)) {
        proxy_socks = p->proxy.starts_with("socks");
    } else if (auto p = std::get_if<proxy_connect_done>(&e.data)) {
        proxy_status = p->status;
        if (connected_at_ != clock::time_point{})
            proxy = e.at - connected_at_; // an https:// proxy's TLS handshake included
        tls = {}; // what came before the tunnel was the proxy's
    } else if (auto t = std::get_if<tls_handshake_done>(&e.data)) {
        tls = t->took;
        if (!t->verify_error.empty()) {
            verify_error = t->verify_error;
            peer_subject = t->peer_subject;
        }
    } else if (auto g = std::get_if<got_conn>(&e.data)) {
        got_connection = true;
        got_connection_at = e.at;
        if (g->reused)
            dns = connect = proxy = tls = {}; // a dial of its own that lost the race: not this connection's phases
        reused = g->reused;
        was_idle = g->was_idle;
        idle = g->idle_time;
        opened_connection = opened_connection || !g->reused;
    } else if (std::holds_alternative<got_first_response_byte>(e.data)) {
        first_byte = e.at;
    }
}

clock::duration call_stats::connection_wait() const noexcept
{
    if (handed_over()) // it waited from its start until another request finished with this one
        return got_connection_at - attempt_start;
    return queued_;
}

} // namespace roundtrip::cli
