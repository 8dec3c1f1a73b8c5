// Event names, and the delivery of events to observers in chain order.
#include "event_sink.hpp"

#include <array>

namespace roundtrip {

void observer::on_attempt_headers(attempt_id, header_fields&) noexcept {}

std::string_view name(const event& e) noexcept
{
    static constexpr std::array<std::string_view, std::variant_size_v<event_data>> names{
        "call_start", "call_done", "get_conn", "wait_for_conn_start", "wait_for_conn_done",
        "dns_start", "dns_done", "connect_start", "connect_done", "tls_handshake_start",
        "tls_handshake_done", "got_conn", "wrote_headers", "wrote_request",
        "got_first_response_byte", "got_1xx", "response_headers", "response_body_done",
        "put_idle_conn", "conn_not_pooled", "conn_closed"};
    return names[e.data.index()];
}

std::string_view to_string(not_pooled_reason r) noexcept
{
    switch (r) {
    case not_pooled_reason::connection_close: return "connection_close";
    case not_pooled_reason::body_not_drained: return "body_not_drained";
    case not_pooled_reason::pool_full: return "pool_full";
    case not_pooled_reason::keep_alive_disabled: return "keep_alive_disabled";
    case not_pooled_reason::max_lifetime: return "max_lifetime";
    case not_pooled_reason::broken: return "broken";
    case not_pooled_reason::protocol_error: return "protocol_error";
    }
    return "unknown";
}

std::string_view to_string(close_reason r) noexcept
{
    switch (r) {
    case close_reason::not_pooled: return "not_pooled";
    case close_reason::idle_timeout: return "idle_timeout";
    case close_reason::max_lifetime: return "max_lifetime";
    case close_reason::peer_closed_idle: return "peer_closed_idle";
    case close_reason::stray_bytes_idle: return "stray_bytes_idle";
    case close_reason::close_idle: return "close_idle";
    case close_reason::client_closed: return "client_closed";
    case close_reason::error: return "error";
    }
    return "unknown";
}

namespace detail {
namespace {

// The list is stored innermost first; chain order is outermost first.
void deliver_outermost_first(const observer_node* node, const event& e) noexcept
{
    if (!node)
        return;
    deliver_outermost_first(node->outer.get(), e);
    node->target->on_event(e);
}

void stamp_outermost_first(const observer_node* node, attempt_id id, header_fields& headers) noexcept
{
    if (!node)
        return;
    stamp_outermost_first(node->outer.get(), id, headers);
    if (node->hooks == observer_hooks::events_and_headers)
        node->target->on_attempt_headers(id, headers);
}

} // namespace

void event_sink::deliver(const event& e) const noexcept
{
    if (client_)
        for (const auto& o : *client_)
            o->on_event(e);
    deliver_outermost_first(scoped_.get(), e);
}

bool event_sink::stamps_headers() const noexcept
{
    for (const observer_node* n = scoped_.get(); n; n = n->outer.get())
        if (n->hooks == observer_hooks::events_and_headers)
            return true;
    return false;
}

void event_sink::stamp_headers(header_fields& headers) const noexcept
{
    stamp_outermost_first(scoped_.get(), attempt_id{call_, attempt_}, headers);
}

} // namespace detail
} // namespace roundtrip
