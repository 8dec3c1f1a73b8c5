// Event names and fields, and how they are written.
#include <roundtrip/events.hpp>

#include <roundtrip/error.hpp>

#include <array>
#include <charconv>
#include <chrono>

namespace roundtrip {


namespace {

constexpr std::array<std::string_view, std::variant_size_v<event_data> - 1> core_names{
    "call_start", "call_done", "get_conn", "wait_for_conn_start", "wait_for_conn_done",
    "dns_start", "dns_done", "connect_start", "connect_done", "proxy_connect_start", "proxy_connect_done",
    "tls_handshake_start",
    "tls_handshake_done", "got_conn", "wrote_headers", "wrote_request",
    "got_first_response_byte", "got_1xx", "response_headers", "response_body_done",
    "put_idle_conn", "conn_not_pooled", "conn_closed", "attempt_done"};

// The fields of roundtrip's own events; chosen by std::visit in write_fields().
struct core_fields {
    field_writer& out;

    void operator()(const call_start& e) { out("method", e.method); }
    void operator()(const call_done& e) { out("status", e.status), out("error", e.error), out("took", e.took); }
    void operator()(const get_conn& e)
    {
        out("scheme", e.scheme), out("host", e.host), out("port", e.port), out("method", e.method);
        out("transparent_retry", e.transparent_retry);
    }
    void operator()(const wait_for_conn_start&) {}
    void operator()(const wait_for_conn_done& e) { out("error", e.error), out("took", e.took); }
    void operator()(const dns_start& e) { out("host", e.host); }
    void operator()(const dns_done& e)
    {
        out("addresses", e.addresses), out("error", e.error), out("took", e.took), out("source", to_string(e.source));
    }
    void operator()(const connect_start& e) { where(e); }
    void operator()(const connect_done& e) { where(e), out("error", e.error), out("took", e.took); }
    void operator()(const proxy_connect_start& e) { out("proxy", e.proxy), out("target", e.target); }
    void operator()(const proxy_connect_done& e) { out("status", e.status), out("error", e.error), out("took", e.took); }
    void operator()(const tls_handshake_start& e) { out("server_name", e.server_name); }
    void operator()(const tls_handshake_done& e)
    {
        out("error", e.error);
        if (!e.error) {
            out("version", e.version), out("cipher", e.cipher), out("alpn", e.alpn), out("resumed", e.resumed);
            out("peer_subject", e.peer_subject);
        } else if (!e.verify_error.empty()) {
            out("verify_error", e.verify_error), out("peer_subject", e.peer_subject);
        }
        out("took", e.took);
    }
    void operator()(const got_conn& e)
    {
        out("reused", e.reused), out("was_idle", e.was_idle), out("idle", e.idle_time);
        out("local", e.local), out("remote", e.remote);
        out("not_reused", to_string(e.not_reused)), out("late_bound", e.late_bound);
    }
    void operator()(const wrote_headers&) {}
    void operator()(const wrote_request& e) { out("bytes", e.bytes), out("error", e.error); }
    void operator()(const got_first_response_byte&) {}
    void operator()(const got_1xx& e) { out("status", e.status); }
    void operator()(const response_headers& e) { out("status", e.status), out("version", e.version); }
    void operator()(const response_body_done& e) { out("bytes", e.bytes), out("error", e.error); }
    void operator()(const put_idle_conn&) {}
    void operator()(const conn_not_pooled& e) { out("reason", to_string(e.reason)); }
    void operator()(const attempt_done& e) { out("status", e.status), out("error", e.error), out("took", e.took); }
    void operator()(const conn_closed& e)
    {
        out("reason", to_string(e.reason)), out("requests_served", e.requests_served), out("lifetime", e.lifetime);
    }
    void operator()(const middleware_event& e) { e.write_fields(out); }

    // Where a connect goes: an IP endpoint, or a Unix-domain socket's path.
    template <class Connect>
    void where(const Connect& e)
    {
        if (e.unix_socket.empty())
            out("remote", e.remote);
        else
            out("unix_socket", e.unix_socket);
    }
};

// A double in the shortest form that reads back the same: "0.75", "1e+100".
std::string fmt_real(double v)
{
    char text[32];
    const auto [end, ec] = std::to_chars(text, text + sizeof text, v);
    return ec == std::errc{} ? std::string(text, end) : std::string("nan");
}

// Writes the fields as ` key=value` after the name, for describe().
class line_writer final : public field_writer {
public:
    explicit line_writer(std::string& out) : out_(out) {}

private:
    void key(std::string_view k) { out_.append(" ").append(k).append("="); }
    void boolean(std::string_view k, bool v) override { key(k), out_.append(v ? "true" : "false"); }
    void number(std::string_view k, std::uint64_t v) override { key(k), out_.append(std::to_string(v)); }
    void signed_number(std::string_view k, std::int64_t v) override { key(k), out_.append(std::to_string(v)); }
    void real(std::string_view k, double v) override { key(k), out_.append(fmt_real(v)); }
    void text(std::string_view k, std::string_view v) override { key(k), out_.append(v); }
    void duration(std::string_view k, clock::duration v) override
    {
        out_.append(" ").append(k).append("_us=");
        out_.append(std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(v).count()));
    }
    void error(std::string_view k, const error_code& v) override { key(k), out_.append(v ? error_class(v) : "none"); }
    void address(std::string_view k, const endpoint& v) override { key(k), out_.append(to_string(v)); }
    void addresses(std::string_view k, std::span<const endpoint> v) override
    {
        key(k);
        out_.append("[");
        for (std::size_t i = 0; i < v.size(); ++i)
            out_.append(i ? "," : "").append(to_string(v[i]));
        out_.append("]");
    }

    std::string& out_;
};

} // namespace

std::string_view name(const event& e) noexcept
{
    if (const auto* m = std::get_if<middleware_event>(&e.data))
        return m->name();
    return core_names[e.data.index()];
}

void write_fields(const event& e, field_writer& out) { std::visit(core_fields{out}, e.data); }

std::string describe(const event& e)
{
    std::string out(name(e));
    line_writer fields(out);
    write_fields(e, fields);
    return out;
}

event keep(const event& e)
{
    event copy = e;
    if (const auto* m = std::get_if<middleware_event>(&e.data))
        copy.data = m->kept();
    return copy;
}

std::string to_string(const endpoint& e)
{
    const bool v6 = e.address().is_v6();
    return (v6 ? "[" : "") + e.address().to_string() + (v6 ? "]:" : ":") + std::to_string(e.port());
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

std::string_view to_string(not_reused_reason r) noexcept
{
    switch (r) {
    case not_reused_reason::none: return "none";
    case not_reused_reason::no_idle: return "no_idle";
    case not_reused_reason::idle_stale: return "idle_stale";
    case not_reused_reason::idle_expired: return "idle_expired";
    case not_reused_reason::new_connection_requested: return "new_connection_requested";
    }
    return "unknown";
}

std::string_view to_string(dns_source s) noexcept
{
    switch (s) {
    case dns_source::lookup: return "lookup";
    case dns_source::cache: return "cache";
    case dns_source::coalesced: return "coalesced";
    case dns_source::pinned: return "pinned";
    }
    return "unknown";
}

} // namespace roundtrip
