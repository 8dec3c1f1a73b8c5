// See tracing.hpp. The middleware starts the call's span and hands the rest to a `call_trace`, an
// observer of the call's attempts that turns their lifecycle events into spans.
#include <roundtrip/middleware/tracing.hpp>

#include <roundtrip/error.hpp>

#include <boost/system/system_error.hpp>

#include <algorithm>
#include <chrono>
#include <deque>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace roundtrip {
namespace {

using wall_clock = std::chrono::system_clock;

// Sets `key` on `s`, replacing an earlier value: OTLP wants each key once.
void set(span& s, std::string_view key, attribute_value value)
{
    for (auto& a : s.attributes)
        if (a.key == key) {
            a.value = std::move(value);
            return;
        }
    s.attributes.push_back({std::string(key), std::move(value)});
}

// `error.type` and the status: an error's class, or a status of 400 and above (a client span
// counts 4xx as failures, OpenTelemetry says).
void set_outcome(span& s, const error_code& ec, unsigned status)
{
    if (ec) {
        const std::string type(error_class(ec));
        set(s, "error.type", type);
        s.status = status_code::error;
        s.status_message = type;
    } else if (status >= 400) {
        set(s, "error.type", std::to_string(status));
        s.status = status_code::error;
    }
}

std::string address(const endpoint& e) { return e.address().to_string(); }

std::int64_t micros(clock::duration d)
{
    return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}

// The method as OpenTelemetry records it: a known one as is, any other as "_OTHER" (the original
// goes in `http.request.method_original`), so that a client cannot flood a backend with names.
bool known_method(std::string_view m)
{
    static constexpr std::string_view known[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                                 "CONNECT", "OPTIONS", "TRACE", "PATCH"};
    return std::find(std::begin(known), std::end(known), m) != std::end(known);
}

// Turns a middleware event's fields into span attributes: `prefix.key` (the key alone without a
// prefix), durations in microseconds under `key_us`, errors as their class, addresses as text.
class attribute_writer final : public field_writer {
public:
    attribute_writer(std::vector<attribute>& out, std::string_view prefix) : out_(out), prefix_(prefix) {}

private:
    void put(std::string_view key, attribute_value v, std::string_view suffix = {})
    {
        std::string k = prefix_.empty() ? std::string() : std::string(prefix_) + ".";
        k.append(key).append(suffix);
        out_.push_back({std::move(k), std::move(v)});
    }
    void boolean(std::string_view k, bool v) override { put(k, v); }
    void number(std::string_view k, std::uint64_t v) override
    {
        put(k, static_cast<std::int64_t>(std::min<std::uint64_t>(v, std::numeric_limits<std::int64_t>::max())));
    }
    void signed_number(std::string_view k, std::int64_t v) override { put(k, v); }
    void real(std::string_view k, double v) override { put(k, v); }
    void text(std::string_view k, std::string_view v) override { put(k, std::string(v)); }
    void duration(std::string_view k, clock::duration v) override { put(k, micros(v), "_us"); }
    void error(std::string_view k, const error_code& v) override
    {
        put(k, std::string(v ? error_class(v) : std::string_view("none")));
    }
    void address(std::string_view k, const endpoint& v) override { put(k, to_string(v)); }
    void addresses(std::string_view k, std::span<const endpoint> v) override
    {
        std::string list;
        for (const auto& e : v)
            list.append(list.empty() ? "" : ",").append(to_string(e));
        put(k, std::move(list));
    }

    std::vector<attribute>& out_;
    std::string_view prefix_;
};

// What every span of one call shares: its trace, and what the call asked for.
struct call_identity {
    span_context context; // the call span's
    std::string name;     // the method, or "HTTP" for one OpenTelemetry does not know
    std::vector<attribute> request_attributes; // method (and original), url.full
};

// One attempt of a traced call: its span while it is open, and the phases open in it.
struct attempt_trace {
    std::uint32_t number = 0;
    span s;
    bool ended = false;
    std::optional<span> wait, dns, tls;
    std::vector<std::pair<endpoint, span>> connects; // one per address being connected to
};

// How a response body ended, for a streamed body that ends the call.
struct body_end {
    std::uint32_t attempt = 0;
    error_code error;
    bool ended = false; // the connection's fate is known
    bool dropped = false;
};

struct tracer;

// The spans of one sampled call. Everything runs on the client's strand: the middleware's coroutine
// and the events, one at a time, so nothing here needs a lock.
class call_trace final : public observer {
public:
    call_trace(std::shared_ptr<const tracer> owner, call_identity id, span call);

    void on_event(const event& e) noexcept override
    {
        std::visit([&](const auto& data) { handle(e, data); }, e.data);
    }

    void on_attempt_headers(attempt_id id, header_fields& headers) noexcept override
    {
        headers.set("traceparent", format_traceparent(attempt(id.attempt, clock::now()).s.context));
    }

    // The middleware's call to `next` returned `r` (or threw, `r` then holds the error). Attempts
    // end with their own attempt_done; the call ends now, or with its streamed body.
    void finish(const result& r)
    {
        if (!r.error) {
            set(call_, "http.response.status_code", std::int64_t(r.response.status));
            set(call_, "network.protocol.version", std::string(r.response.version == 10 ? "1.0" : "1.1"));
        }
        set_outcome(call_, r.error, r.error ? 0 : r.response.status);
        if (r.error || !r.response.body_stream.is_open() || r.attempt.attempts == 0)
            return end_call(clock::now());
        body_attempt_ = r.attempt.attempts;
        if (const body_end& b = body_of(*body_attempt_); b.ended) // the body ended before we returned
            end_with_body(b, clock::now());
    }

private:
    // The attempt's trace, begun at `at` if this is its first sign. A deque: references stay valid
    // while later attempts are added.
    attempt_trace& attempt(std::uint32_t number, clock::time_point at)
    {
        for (auto& a : attempts_)
            if (a.number == number)
                return a;
        auto& a = attempts_.emplace_back();
        a.number = number;
        a.s = child(id_.name, span_kind::client, id_.context.span, at);
        a.s.attributes = id_.request_attributes;
        if (number > 1)
            a.s.attributes.push_back({"http.request.resend_count", std::int64_t(number - 1)});
        return a;
    }

    attempt_trace* find_open(std::uint32_t number)
    {
        for (auto& a : attempts_)
            if (a.number == number && !a.ended)
                return &a;
        return nullptr;
    }

    span child(std::string name, span_kind kind, const span_id& parent, clock::time_point at) const
    {
        span s;
        s.name = std::move(name);
        s.kind = kind;
        s.context = {id_.context.trace, new_span_id(), true, id_.context.trace_state};
        s.parent = parent;
        s.start = wall(at);
        return s;
    }

    wall_clock::time_point wall(clock::time_point at) const
    {
        return wall_origin_ + std::chrono::duration_cast<wall_clock::duration>(at - steady_origin_);
    }

    void export_span(span s) const
    {
        if (options_.exporter)
            options_.exporter->export_span(std::move(s));
    }

    void end_attempt(attempt_trace& a, clock::time_point at, const error_code& ec, unsigned status)
    {
        set_outcome(a.s, ec, status);
        a.s.end = wall(at);
        a.ended = true;
        export_span(std::move(a.s));
    }

    void end_call(clock::time_point at)
    {
        if (call_ended_)
            return;
        call_ended_ = true;
        call_.end = wall(at);
        export_span(std::move(call_));
    }

    // A phase began: a span whose parent is the attempt's. It names the connection being dialed,
    // which differs from the one the attempt used when another attempt's connection came first.
    std::optional<span> begin_phase(const event& e, std::string name)
    {
        if (options_.phases == phase_detail::none)
            return std::nullopt;
        span s = child(std::move(name), span_kind::internal, attempt(e.attempt, e.at).s.context.span, e.at);
        s.attributes.push_back({"roundtrip.connection.id", std::int64_t(e.conn)});
        return s;
    }

    // A phase ended: exported as a span, or added to the attempt's span as an event (dropped when
    // that span has ended already, as an abandoned dial's may have).
    void end_phase(std::optional<span>& phase, const event& e, const error_code& ec)
    {
        if (!phase)
            return;
        span s = std::move(*phase);
        phase.reset();
        set_outcome(s, ec, 0);
        s.end = wall(e.at);
        if (options_.phases == phase_detail::spans)
            return export_span(std::move(s));
        attempt_trace* a = find_open(e.attempt);
        if (!a)
            return;
        s.attributes.push_back({"roundtrip.duration_us", micros(s.end - s.start)});
        a->s.events.push_back({std::move(s.name), s.start, std::move(s.attributes)});
    }

    // Events with nothing to record.
    template <class Event>
    void handle(const event&, const Event&)
    {
    }

    void handle(const event& e, const get_conn& g)
    {
        // Each event below fires once per attempt, so its attributes are appended, not replaced.
        auto& attrs = attempt(e.attempt, e.at).s.attributes;
        attrs.push_back({"server.address", std::string(g.host)});
        attrs.push_back({"server.port", std::int64_t(g.port)});
        if (!call_ended_ && !call_.find("server.address")) {
            call_.attributes.push_back({"server.address", std::string(g.host)});
            call_.attributes.push_back({"server.port", std::int64_t(g.port)});
        }
    }

    void handle(const event& e, const wait_for_conn_start&)
    {
        attempt(e.attempt, e.at).wait = begin_phase(e, "wait_for_connection");
    }
    void handle(const event& e, const wait_for_conn_done& d) { end_phase(attempt(e.attempt, e.at).wait, e, d.error); }

    void handle(const event& e, const dns_start& d)
    {
        auto phase = begin_phase(e, "dns");
        if (phase)
            phase->attributes.push_back({"server.address", std::string(d.host)});
        attempt(e.attempt, e.at).dns = std::move(phase);
    }
    void handle(const event& e, const dns_done& d)
    {
        auto& a = attempt(e.attempt, e.at);
        if (a.dns)
            a.dns->attributes.push_back({"roundtrip.dns.addresses", std::int64_t(d.addresses.size())});
        end_phase(a.dns, e, d.error);
    }

    void handle(const event& e, const connect_start& c)
    {
        auto phase = begin_phase(e, "connect");
        if (!phase)
            return;
        phase->attributes.push_back({"network.peer.address", address(c.remote)});
        phase->attributes.push_back({"network.peer.port", std::int64_t(c.remote.port())});
        attempt(e.attempt, e.at).connects.emplace_back(c.remote, std::move(*phase));
    }
    void handle(const event& e, const connect_done& c)
    {
        auto& connects = attempt(e.attempt, e.at).connects;
        const auto it = std::find_if(connects.begin(), connects.end(), [&](const auto& p) { return p.first == c.remote; });
        if (it == connects.end())
            return;
        std::optional<span> phase(std::move(it->second));
        connects.erase(it);
        // A connect another address beat (RFC 8305) is abandoned, not failed.
        const bool abandoned = c.error == condition::canceled;
        if (abandoned)
            phase->attributes.push_back({"roundtrip.connect.abandoned", true});
        end_phase(phase, e, abandoned ? error_code() : c.error);
    }

    void handle(const event& e, const tls_handshake_start& t)
    {
        auto phase = begin_phase(e, "tls_handshake");
        if (phase && !t.server_name.empty())
            phase->attributes.push_back({"tls.client.server_name", std::string(t.server_name)});
        attempt(e.attempt, e.at).tls = std::move(phase);
    }
    void handle(const event& e, const tls_handshake_done& t)
    {
        auto& a = attempt(e.attempt, e.at);
        if (a.tls && !t.error) {
            auto& attrs = a.tls->attributes;
            attrs.push_back({"tls.protocol.name", std::string("tls")});
            // "TLSv1.3" is "1.3" in OpenTelemetry's terms.
            std::string_view version = t.version;
            if (version.starts_with("TLSv"))
                version.remove_prefix(4);
            attrs.push_back({"tls.protocol.version", std::string(version)});
            attrs.push_back({"tls.cipher", std::string(t.cipher)});
            attrs.push_back({"tls.resumed", t.resumed});
            if (!t.alpn.empty())
                attrs.push_back({"tls.next_protocol", std::string(t.alpn)});
            if (!t.peer_subject.empty())
                attrs.push_back({"tls.server.subject", std::string(t.peer_subject)});
        }
        end_phase(a.tls, e, t.error);
    }

    void handle(const event& e, const got_conn& g)
    {
        auto& attrs = attempt(e.attempt, e.at).s.attributes;
        attrs.push_back({"roundtrip.connection.id", std::int64_t(e.conn)});
        attrs.push_back({"roundtrip.connection.reused", g.reused});
        if (g.was_idle)
            attrs.push_back({"roundtrip.connection.idle_us", micros(g.idle_time)});
        attrs.push_back({"network.peer.address", address(g.remote)});
        attrs.push_back({"network.peer.port", std::int64_t(g.remote.port())});
    }

    void handle(const event& e, const response_headers& h)
    {
        auto& attrs = attempt(e.attempt, e.at).s.attributes;
        attrs.push_back({"http.response.status_code", std::int64_t(h.status)});
        attrs.push_back({"network.protocol.version", std::string(h.version == 10 ? "1.0" : "1.1")});
    }

    void handle(const event& e, const attempt_done& d)
    {
        if (attempt_trace* a = find_open(e.attempt))
            end_attempt(*a, e.at, d.error, d.status);
    }

    // A middleware's own event (a retry's decision, say) becomes an event of the call span, its
    // fields attributes under the middleware's prefix.
    void handle(const event& e, const middleware_event& m)
    {
        if (call_ended_)
            return;
        try {
            span_event out{std::string(m.name()), wall(e.at), {}};
            attribute_writer fields(out.attributes, m.attribute_prefix());
            m.write_fields(fields);
            call_.events.push_back(std::move(out));
        } catch (...) {
            // Out of memory, or a plugin's write_fields broke its promise: the span event is lost.
        }
    }

    // A response body's end: response_body_done says how its read ended, and the connection's fate
    // (put_idle_conn or conn_not_pooled) always follows. A buffered body ends before finish(); a
    // streamed one, which ends the call, usually after it.
    void handle(const event& e, const response_body_done& b) { body_of(e.attempt).error = b.error; }
    void handle(const event& e, const put_idle_conn&) { body_fate(e, false); }
    void handle(const event& e, const conn_not_pooled& n) { body_fate(e, n.reason == not_pooled_reason::body_not_drained); }

    body_end& body_of(std::uint32_t attempt)
    {
        for (auto& b : bodies_)
            if (b.attempt == attempt)
                return b;
        return bodies_.emplace_back(body_end{attempt});
    }

    void body_fate(const event& e, bool dropped)
    {
        body_end& b = body_of(e.attempt);
        b.ended = true;
        b.dropped = dropped;
        if (body_attempt_ == e.attempt) // set by finish(): the call waits for this body
            end_with_body(b, e.at);
    }

    void end_with_body(const body_end& b, clock::time_point at)
    {
        if (b.dropped) // the caller's choice, not a failure: the error of a read cut short says nothing
            set(call_, "roundtrip.response.body_dropped", true);
        else if (b.error && call_.status != status_code::error)
            set_outcome(call_, b.error, 0);
        end_call(at);
    }

    std::shared_ptr<const tracer> owner_; // a streamed body's events may outlive the client's chain
    const tracing_options& options_;      // owner_'s
    const call_identity id_;
    span call_;
    bool call_ended_ = false;
    std::deque<attempt_trace> attempts_;
    std::optional<std::uint32_t> body_attempt_; // set by finish(): the attempt whose streamed body ends the call
    std::vector<body_end> bodies_;              // how each attempt's body ended, as far as known
    const clock::time_point steady_origin_ = clock::now();
    const wall_clock::time_point wall_origin_ = wall_clock::now();
};

// The middleware's state, shared by its calls.
struct tracer : std::enable_shared_from_this<tracer> {
    explicit tracer(tracing_options o) : options(std::move(o)) {}
    asio::awaitable<result> handle(request req, next next) const;
    tracing_options options;
};

call_trace::call_trace(std::shared_ptr<const tracer> owner, call_identity id, span call)
    : owner_(std::move(owner)), options_(owner_->options), id_(std::move(id)), call_(std::move(call))
{
}

// The caller's context from the request's `traceparent`, if valid, with every `tracestate` field
// joined as W3C asks. Without a valid parent a new trace starts, and the caller's `tracestate`,
// which belongs to another trace, is removed.
std::optional<span_context> take_parent(request& req)
{
    std::optional<span_context> parent;
    if (const auto value = req.headers["traceparent"]; !value.empty())
        parent = parse_traceparent(value);
    if (!parent) {
        req.headers.erase("tracestate");
        return std::nullopt;
    }
    const auto [first, last] = req.headers.equal_range("tracestate");
    for (auto field = first; field != last; ++field) {
        if (!parent->trace_state.empty())
            parent->trace_state += ',';
        parent->trace_state.append(field->value());
    }
    return parent;
}

asio::awaitable<result> tracer::handle(request req, next next) const
{
    const auto parent = take_parent(req);
    span_context context{parent ? parent->trace : new_trace_id(), new_span_id(), false, {}};
    context.sampled = options.sampler.should_sample(parent ? &*parent : nullptr, context.trace);
    if (!context.sampled || !options.exporter) {
        // Unsampled: the context travels, nothing is recorded. One header serves every attempt.
        req.headers.set("traceparent", format_traceparent(context));
        co_return co_await next(std::move(req));
    }
    if (parent)
        context.trace_state = parent->trace_state;

    call_identity id;
    id.context = context;
    const bool known = known_method(req.method);
    id.name = known ? req.method : "HTTP";
    id.request_attributes.push_back({"http.request.method", known ? req.method : "_OTHER"});
    if (!known)
        id.request_attributes.push_back({"http.request.method_original", req.method});
    id.request_attributes.push_back({"url.full", options.redaction.url(req.url)});

    span call;
    call.name = id.name;
    call.kind = span_kind::internal;
    call.context = std::move(context);
    if (parent)
        call.parent = parent->span;
    call.start = wall_clock::now();
    call.attributes = id.request_attributes;
    auto trace = std::make_shared<call_trace>(shared_from_this(), std::move(id), std::move(call));
    req.observe(trace, observer_hooks::events_and_headers);

    // next never throws: a cancelled retry backoff beneath arrives as a result, and the spans end.
    result r = co_await next(std::move(req));
    trace->finish(r);
    co_return r;
}

} // namespace

layer tracing(tracing_options options)
{
    auto shared = std::make_shared<const tracer>(std::move(options));
    return [shared](request req, next next) -> asio::awaitable<result> {
        return shared->handle(std::move(req), next);
    };
}

} // namespace roundtrip
