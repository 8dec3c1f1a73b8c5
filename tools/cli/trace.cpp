// The JSON form of each event: durations in microseconds, errors as their class, enums by name.
#include "trace.hpp"

#include <roundtrip/detail/json.hpp>
#include <roundtrip/error.hpp>

#include <chrono>

namespace roundtrip::cli {
namespace {

std::string us(clock::duration d)
{
    return std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
}

std::string ep(const endpoint& e)
{
    const bool v6 = e.address().is_v6();
    return json_string((v6 ? "[" : "") + e.address().to_string() + (v6 ? "]:" : ":") + std::to_string(e.port()));
}

std::string err(const error_code& ec) { return ec ? json_string(to_string(classify(ec))) : "null"; }

// The event's own fields, each as `,"name":value`.
struct fields {
    std::string& o;
    void add(std::string_view k, const std::string& v) { o.append(",\"").append(k).append("\":").append(v); }
    void operator()(const call_start& e) { add("method", json_string(e.method)); }
    void operator()(const call_done& e) { add("error", err(e.error)), add("status", std::to_string(e.status)); }
    void operator()(const get_conn& e) { add("host", json_string(e.host)), add("port", std::to_string(e.port)); }
    void operator()(const wait_for_conn_start&) {}
    void operator()(const wait_for_conn_done& e) { add("error", err(e.error)); }
    void operator()(const dns_start& e) { add("host", json_string(e.host)); }
    void operator()(const dns_done& e)
    {
        std::string list = "[";
        for (std::size_t i = 0; i < e.addresses.size(); ++i)
            list += (i ? "," : "") + ep(e.addresses[i]);
        add("addresses", list + "]"), add("error", err(e.error));
    }
    void operator()(const connect_start& e) { add("remote", ep(e.remote)); }
    void operator()(const connect_done& e) { add("remote", ep(e.remote)), add("error", err(e.error)); }
    void operator()(const tls_handshake_start& e) { add("server_name", json_string(e.server_name)); }
    void operator()(const tls_handshake_done& e)
    {
        add("error", err(e.error)), add("version", json_string(e.version)), add("cipher", json_string(e.cipher));
        add("alpn", json_string(e.alpn)), add("resumed", e.resumed ? "true" : "false");
        add("peer_subject", json_string(e.peer_subject));
    }
    void operator()(const got_conn& e)
    {
        add("reused", e.reused ? "true" : "false"), add("was_idle", e.was_idle ? "true" : "false");
        add("idle_time", us(e.idle_time)), add("local", ep(e.local)), add("remote", ep(e.remote));
    }
    void operator()(const wrote_headers&) {}
    void operator()(const wrote_request& e) { add("bytes", std::to_string(e.bytes)), add("error", err(e.error)); }
    void operator()(const got_first_response_byte&) {}
    void operator()(const got_1xx& e) { add("status", std::to_string(e.status)); }
    void operator()(const response_headers& e) { add("status", std::to_string(e.status)), add("version", std::to_string(e.version)); }
    void operator()(const response_body_done& e) { add("bytes", std::to_string(e.bytes)), add("error", err(e.error)); }
    void operator()(const put_idle_conn&) {}
    void operator()(const conn_not_pooled& e) { add("reason", json_string(to_string(e.reason))); }
    void operator()(const attempt_done& e) { add("error", err(e.error)), add("status", std::to_string(e.status)); }
    void operator()(const conn_closed& e)
    {
        add("reason", json_string(to_string(e.reason))), add("requests_served", std::to_string(e.requests_served));
        add("lifetime", us(e.lifetime));
    }
    void operator()(const retry_scheduled& e)
    {
        add("failed_attempt", std::to_string(e.failed_attempt)), add("cause", json_string(to_string(e.cause)));
        add("delay", us(e.delay));
    }
    void operator()(const retry_given_up& e)
    {
        add("failed_attempt", std::to_string(e.failed_attempt)), add("reason", json_string(to_string(e.reason)));
    }
};

} // namespace

std::string json_string(std::string_view s)
{
    std::string out;
    detail::append_json_string(out, s);
    return out;
}

void trace_writer::on_event(const event& e) noexcept
{
    try {
        std::string line = "{\"event\":" + json_string(name(e)) + ",\"t_us\":" + us(e.at - epoch_) +
                           ",\"call\":" + std::to_string(e.call) + ",\"attempt\":" + std::to_string(e.attempt) +
                           ",\"conn\":" + (e.conn ? std::to_string(e.conn) : std::string("null"));
        std::visit(fields{line}, e.data);
        line += "}\n";
        std::fwrite(line.data(), 1, line.size(), out_);
    } catch (...) {
        // Out of memory while tracing: the line is lost, the request is not.
    }
}

} // namespace roundtrip::cli
