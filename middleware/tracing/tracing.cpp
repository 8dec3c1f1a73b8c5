// See tracing.hpp. The middleware starts the call's span and hands the rest to a `call_trace`, an
// observer of the call's attempts that turns their lifecycle events into spans.
#include <roundtrip/middleware/tracing.hpp>

#include <roundtrip/error.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace roundtrip {
namespace {

using wall_clock = std::chrono::system_clock;

// One attempt of a traced call: its span while it is open, and the phases open in it.
struct attempt_trace {
    std::uint32_t number = 0;
    span s;
    bool ended = false;
    std::optional<span> wait, dns, tls;
    std::vector<std::pair<endpoint, span>> connects; // one per address being connected to
};

// The middleware's state, shared by its calls.
struct tracer : std::enable_shared_from_this<tracer> {
    explicit tracer(tracing_options o) : options(std::move(o)) {}
    asio::awaitable<result> handle(request req, next next) const;
    tracing_options options;
};

// The spans of one sampled call. Everything runs on the client's strand: the middleware's coroutine
// and the events, one at a time, so nothing here needs a lock.
class call_trace final : public observer {
public:
    call_trace(std::shared_ptr<const tracer> owner, span call)
        : owner_(std::move(owner)), options_(owner_->options), call_(std::move(call))
    {
    }

    void on_event(const event& e) noexcept override
    {
        std::visit([&](const auto& data) { handle(e, data); }, e.data);
    }

    void on_attempt_headers(attempt_id id, header_fields& headers) noexcept override
    {
        headers.set("traceparent", format_traceparent(attempt(id.attempt, clock::now()).s.context));
    }

    // The middleware's call to `next` returned with `r`: ends what is still open, and the call's
    // span unless a streamed body is still to be read.
    void finish(const result& r)
    {
        for (auto& a : attempts_)
            if (!a.ended)
                end_attempt(a, clock::now(), r.error, r.error ? 0 : r.response.status);
        if (!r.error) {
            call_.attributes.push_back({"http.response.status_code", std::int64_t(r.response.status)});
            call_.attributes.push_back({"network.protocol.version", std::string(r.response.version == 10 ? "1.0" : "1.1")});
        }
        set_outcome(call_, r.error, r.error ? 0 : r.response.status);
        if (!r.error && r.response.body_stream.is_open() && body_finished_in_ != r.attempt.attempts) {
            body_attempt_ = r.attempt.attempts; // the call ends with its body's events
            return;
        }
        end_call(clock::now());
    }

private:
    // The attempt's trace, begun at `at` if this is its first sign.
    attempt_trace& attempt(std::uint32_t number, clock::time_point at)
    {
        for (auto& a : attempts_)
            if (a.number == number)
                return a;
        auto& a = attempts_.emplace_back();
        a.number = number;
        a.s = child(call_.name, span_kind::client, at);
        a.s.attributes.push_back({"http.request.method", method_of(call_)});
        if (const auto* url = call_.find("url.full"))
            a.s.attributes.push_back({"url.full", *url});
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

    span child(std::string name, span_kind kind, clock::time_point at) const
    {
        span s;
        s.name = std::move(name);
        s.kind = kind;
        s.context = {call_.context.trace, new_span_id(), true, call_.context.trace_state};
        s.parent = call_.context.span;
        s.start = wall(at);
        return s;
    }

    static attribute_value method_of(const span& call)
    {
        const auto* m = call.find("http.request.method");
        return m ? *m : attribute_value(std::string());
    }

    // `error.type` and the status: an error's class, or a status of 400 and above (a client span
    // counts 4xx as failures, OpenTelemetry says).
    static void set_outcome(span& s, const error_code& ec, unsigned status)
    {
        if (ec) {
            const std::string type(to_string(classify(ec)));
            s.attributes.push_back({"error.type", type});
            s.status = status_code::error;
            s.status_message = type;
        } else if (status >= 400) {
            s.attributes.push_back({"error.type", std::to_string(status)});
            s.status = status_code::error;
        }
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

    // A phase began: a span whose parent is the attempt's.
    std::optional<span> begin_phase(const event& e, std::string name)
    {
        if (options_.phases == phase_detail::none)
            return std::nullopt;
        auto& a = attempt(e.attempt, e.at);
        span s = child(std::move(name), span_kind::internal, e.at);
        s.parent = a.s.context.span;
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
        const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(s.end - s.start).count();
        s.attributes.push_back({"roundtrip.duration_us", std::int64_t(micros)});
        a->s.events.push_back({std::move(s.name), s.start, std::move(s.attributes)});
    }

    static std::string address(const endpoint& e) { return e.address().to_string(); }

    // Events with nothing to record.
    template <class Event>
    void handle(const event&, const Event&)
    {
    }

    void handle(const event& e, const get_conn& g)
    {
        auto& a = attempt(e.attempt, e.at);
        a.s.attributes.push_back({"server.address", std::string(g.host)});
        a.s.attributes.push_back({"server.port", std::int64_t(g.port)});
        if (!call_.find("server.address")) {
            call_.attributes.push_back({"server.address", std::string(g.host)});
            call_.attributes.push_back({"server.port", std::int64_t(g.port)});
        }
    }

    void handle(const event& e, const wait_for_conn_start&)
    {
        attempt(e.attempt, e.at).wait = begin_phase(e, "wait_for_connection");
    }
    void handle(const event& e, const wait_for_conn_done& d)
    {
        end_phase(attempt(e.attempt, e.at).wait, e, d.error);
    }

    void handle(const event& e, const dns_start& d)
    {
        auto& a = attempt(e.attempt, e.at);
        a.dns = begin_phase(e, "dns");
        if (a.dns)
            a.dns->attributes.push_back({"server.address", std::string(d.host)});
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
        auto& a = attempt(e.attempt, e.at);
        auto phase = begin_phase(e, "connect");
        if (!phase)
            return;
        phase->attributes.push_back({"network.peer.address", address(c.remote)});
        phase->attributes.push_back({"network.peer.port", std::int64_t(c.remote.port())});
        a.connects.emplace_back(c.remote, std::move(*phase));
    }
    void handle(const event& e, const connect_done& c)
    {
        auto& a = attempt(e.attempt, e.at);
        for (auto it = a.connects.begin(); it != a.connects.end(); ++it)
            if (it->first == c.remote) {
                std::optional<span> phase(std::move(it->second));
                a.connects.erase(it);
                return end_phase(phase, e, c.error);
            }
    }

    void handle(const event& e, const tls_handshake_start& t)
    {
        auto& a = attempt(e.attempt, e.at);
        a.tls = begin_phase(e, "tls_handshake");
        if (a.tls && !t.server_name.empty())
            a.tls->attributes.push_back({"tls.client.server_name", std::string(t.server_name)});
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
        if (g.was_idle) {
            const auto idle = std::chrono::duration_cast<std::chrono::microseconds>(g.idle_time).count();
            attrs.push_back({"roundtrip.connection.idle_us", std::int64_t(idle)});
        }
        attrs.push_back({"network.peer.address", address(g.remote)});
        attrs.push_back({"network.peer.port", std::int64_t(g.remote.port())});
    }

    void handle(const event& e, const response_headers& h)
    {
        attempt(e.attempt, e.at).s.attributes.push_back({"http.response.status_code", std::int64_t(h.status)});
    }

    void handle(const event& e, const attempt_done& d)
    {
        if (attempt_trace* a = find_open(e.attempt))
            end_attempt(*a, e.at, d.error, d.status);
    }

    void handle(const event& e, const retry_scheduled& r)
    {
        const auto delay = std::chrono::duration_cast<std::chrono::microseconds>(r.delay).count();
        call_.events.push_back({"retry_scheduled", wall(e.at),
                                {{"roundtrip.retry.failed_attempt", std::int64_t(r.failed_attempt)},
                                 {"roundtrip.retry.cause", std::string(to_string(r.cause))},
                                 {"roundtrip.retry.delay_us", std::int64_t(delay)}}});
    }
    void handle(const event& e, const retry_given_up& r)
    {
        call_.events.push_back({"retry_given_up", wall(e.at),
                                {{"roundtrip.retry.failed_attempt", std::int64_t(r.failed_attempt)},
                                 {"roundtrip.retry.reason", std::string(to_string(r.reason))}}});
    }

    // A response body's end: read to its end, failed, or given up. The connection's fate
    // (put_idle_conn or conn_not_pooled) always follows it, and ends a streamed body's call; a
    // buffered body ends before finish().
    void handle(const event& e, const response_body_done& b)
    {
        if (e.attempt == body_attempt_)
            body_error_ = b.error;
    }
    void handle(const event& e, const put_idle_conn&) { body_ended(e, false); }
    void handle(const event& e, const conn_not_pooled& n)
    {
        body_ended(e, n.reason == not_pooled_reason::body_not_drained);
    }
    void body_ended(const event& e, bool dropped)
    {
        if (body_attempt_ == 0) {
            body_finished_in_ = e.attempt;
            return;
        }
        if (e.attempt != body_attempt_ || call_ended_)
            return;
        if (dropped) // the caller's choice, not a failure: the error of a read cut short says nothing
            call_.attributes.push_back({"roundtrip.response.body_dropped", true});
        else if (body_error_)
            set_outcome(call_, body_error_, 0);
        end_call(e.at);
    }

    std::shared_ptr<const tracer> owner_; // a streamed body's events may outlive the client's chain
    const tracing_options& options_;      // owner_'s
    span call_;
    bool call_ended_ = false;
    std::vector<attempt_trace> attempts_;
    std::uint32_t body_attempt_ = 0;     // the attempt whose streamed body ends the call; 0 before finish()
    std::uint32_t body_finished_in_ = 0; // the last attempt whose body ended before finish()
    error_code body_error_;              // how the streamed body's read ended
    const clock::time_point steady_origin_ = clock::now();
    const wall_clock::time_point wall_origin_ = wall_clock::now();
};

// The caller's context from the request's `traceparent`, if valid.
std::optional<span_context> parent_of(const request& req)
{
    const auto value = req.headers["traceparent"];
    if (value.empty())
        return std::nullopt;
    auto parent = parse_traceparent(value);
    if (parent)
        parent->trace_state = std::string(req.headers["tracestate"]);
    return parent;
}

asio::awaitable<result> tracer::handle(request req, next next) const
{
    const auto parent = parent_of(req);
    span_context context{parent ? parent->trace : new_trace_id(), new_span_id(), false, {}};
    context.sampled = options.sampler.should_sample(parent ? &*parent : nullptr, context.trace);
    if (!context.sampled || !options.exporter) {
        // Unsampled: the context travels, nothing is recorded. One header serves every attempt.
        req.headers.set("traceparent", format_traceparent(context));
        co_return co_await next(std::move(req));
    }
    if (parent)
        context.trace_state = parent->trace_state;
    span call;
    call.name = req.method;
    call.kind = span_kind::internal;
    call.context = std::move(context);
    if (parent)
        call.parent = parent->span;
    call.start = wall_clock::now();
    call.attributes.push_back({"http.request.method", req.method});
    call.attributes.push_back({"url.full", options.redaction.url(req.url)});
    auto trace = std::make_shared<call_trace>(shared_from_this(), std::move(call));
    req.observe(trace, observer_hooks::events_and_headers);
    result r = co_await next(std::move(req));
    trace->finish(r);
    co_return r;
}

} // namespace

redaction tracing_options::default_redaction()
{
    roundtrip::redaction policy;
    for (const char* name : {"AWSAccessKeyId", "Signature", "sig", "X-Goog-Signature"})
        policy.redact_query(name);
    return policy;
}

layer tracing(tracing_options options)
{
    auto shared = std::make_shared<const tracer>(std::move(options));
    return [shared](request req, next next) -> asio::awaitable<result> {
        return shared->handle(std::move(req), next);
    };
}

} // namespace roundtrip
