// Event names, and the delivery of events to observers in chain order.
#include "event_sink.hpp"

#include <roundtrip/error.hpp>

#include <array>
#include <chrono>

namespace roundtrip {

void observer::on_attempt_headers(attempt_id, header_fields&) noexcept {}

std::string_view name(const event& e) noexcept
{
    static constexpr std::array<std::string_view, std::variant_size_v<event_data>> names{
        "call_start", "call_done", "get_conn", "wait_for_conn_start", "wait_for_conn_done",
        "dns_start", "dns_done", "connect_start", "connect_done", "tls_handshake_start",
        "tls_handshake_done", "got_conn", "wrote_headers", "wrote_request",
        "got_first_response_byte", "got_1xx", "response_headers", "response_body_done",
        "put_idle_conn", "conn_not_pooled", "conn_closed", "attempt_done", "retry_scheduled", "retry_given_up"};
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
    case not_pooled_reason::request_body_unsent: return "request_body_unsent";
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
    case close_reason::evicted: return "evicted";
    case close_reason::error: return "error";
    }
    return "unknown";
}

namespace {

// Appends "127.0.0.1:80" or "[::1]:80".
void append_endpoint(std::string& out, const endpoint& e)
{
    const bool v6 = e.address().is_v6();
    out.append(v6 ? "[" : "").append(e.address().to_string()).append(v6 ? "]:" : ":");
    out.append(std::to_string(e.port()));
}

// Appends the fields of each event type; overloads chosen by std::visit in describe().
struct field_writer {
    std::string& out;

    void key(std::string_view k) { out.append(" ").append(k).append("="); }
    void text(std::string_view k, std::string_view v) { key(k), out.append(v); }
    void number(std::string_view k, std::uint64_t v) { key(k), out.append(std::to_string(v)); }
    void flag(std::string_view k, bool v) { text(k, v ? "true" : "false"); }
    void micros(std::string_view k, clock::duration d)
    {
        number(k, static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count()));
    }
    void failure(const error_code& ec) { text("error", ec ? to_string(classify(ec)) : "none"); }
    void address(std::string_view k, const endpoint& e) { key(k), append_endpoint(out, e); }

    void operator()(const call_start& e) { text("method", e.method); }
    void operator()(const call_done& e) { number("status", e.status), failure(e.error); }
    void operator()(const get_conn& e) { text("host", e.host), number("port", e.port); }
    void operator()(const wait_for_conn_start&) {}
    void operator()(const wait_for_conn_done& e) { failure(e.error); }
    void operator()(const dns_start& e) { text("host", e.host); }
    void operator()(const dns_done& e)
    {
        key("addresses");
        out.append("[");
        for (std::size_t i = 0; i < e.addresses.size(); ++i)
            append_endpoint(i ? out.append(",") : out, e.addresses[i]);
        out.append("]");
        failure(e.error);
    }
    void operator()(const connect_start& e) { address("remote", e.remote); }
    void operator()(const connect_done& e) { address("remote", e.remote), failure(e.error); }
    void operator()(const tls_handshake_start& e) { text("server_name", e.server_name); }
    void operator()(const tls_handshake_done& e)
    {
        if (e.error) {
            failure(e.error);
            if (!e.verify_error.empty())
                text("verify_error", e.verify_error), text("peer", e.peer_subject);
            return;
        }
        text("version", e.version), text("cipher", e.cipher), text("alpn", e.alpn), flag("resumed", e.resumed);
        text("peer", e.peer_subject);
    }
    void operator()(const got_conn& e)
    {
        flag("reused", e.reused), flag("was_idle", e.was_idle), micros("idle_us", e.idle_time);
        address("local", e.local), address("remote", e.remote);
    }
    void operator()(const wrote_headers&) {}
    void operator()(const wrote_request& e) { number("bytes", e.bytes), failure(e.error); }
    void operator()(const got_first_response_byte&) {}
    void operator()(const got_1xx& e) { number("status", e.status); }
    void operator()(const response_headers& e) { number("status", e.status), number("version", e.version); }
    void operator()(const response_body_done& e) { number("bytes", e.bytes), failure(e.error); }
    void operator()(const put_idle_conn&) {}
    void operator()(const conn_not_pooled& e) { text("reason", to_string(e.reason)); }
    void operator()(const attempt_done& e) { number("status", e.status), failure(e.error); }
    void operator()(const retry_scheduled& e)
    {
        number("failed_attempt", e.failed_attempt), text("cause", to_string(e.cause)), micros("delay_us", e.delay);
    }
    void operator()(const retry_given_up& e)
    {
        number("failed_attempt", e.failed_attempt), text("reason", to_string(e.reason));
    }
    void operator()(const conn_closed& e)
    {
        text("reason", to_string(e.reason)), number("requests_served", e.requests_served);
        micros("lifetime_us", e.lifetime);
    }
};

} // namespace

std::string describe(const event& e)
{
    std::string out(name(e));
    std::visit(field_writer{out}, e.data);
    return out;
}

std::string_view to_string(retry_cause c) noexcept
{
    return c == retry_cause::status ? "status" : "connection_error";
}

std::string_view to_string(give_up_reason r) noexcept
{
    switch (r) {
    case give_up_reason::not_retryable: return "not_retryable";
    case give_up_reason::not_replayable: return "not_replayable";
    case give_up_reason::attempts_exhausted: return "attempts_exhausted";
    case give_up_reason::budget_exhausted: return "budget_exhausted";
    case give_up_reason::deadline: return "deadline";
    case give_up_reason::retry_after_too_long: return "retry_after_too_long";
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
