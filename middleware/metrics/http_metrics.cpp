// See metrics.hpp. A `client_metrics` observer per client follows that client's attempts (from
// get_conn to attempt_done) and connections (from their dial to conn_closed) and adds each
// measurement to the shared instruments.
#include "instruments.hpp"

#include <roundtrip/error.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <deque>
#include <unordered_map>

namespace roundtrip {
namespace detail {
namespace {

// OpenTelemetry's bucket boundaries, in seconds: for request durations (also time in queue and the
// connect phases), and for connection durations.
const std::vector<double> request_bounds = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
                                            0.5,   0.75, 1,     2.5,  5,     7.5, 10};
const std::vector<double> connection_bounds = {0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300};
// How long a connection sat idle before reuse: from a keep-alive loop's sub-millisecond to the
// default idle timeout of 90 s.
const std::vector<double> idle_bounds = {0.001, 0.01, 0.1, 1, 5, 15, 30, 60, 90, 300};

} // namespace

metrics_state::metrics_state(metrics_options o)
    : options(std::move(o)),
      request_duration({"http.client.request.duration", "s", "Duration of HTTP client requests.",
                        instrument_kind::histogram, request_bounds}),
      active_requests({"http.client.active_requests", "{request}", "Number of active HTTP requests.",
                       instrument_kind::up_down_counter, {}}),
      open_connections({"http.client.open_connections", "{connection}",
                        "Number of outbound HTTP connections that are currently active or idle on the client.",
                        instrument_kind::up_down_counter, {}}),
      connection_duration({"http.client.connection.duration", "s",
                           "The duration of the successfully established outbound HTTP connections.",
                           instrument_kind::histogram, connection_bounds}),
      time_in_queue({"http.client.request.time_in_queue", "s",
                     "The amount of time requests spent on a queue waiting for an available connection.",
                     instrument_kind::histogram, request_bounds}),
      dns_duration({"dns.lookup.duration", "s", "Measures the time taken to perform a DNS lookup.",
                    instrument_kind::histogram, request_bounds}),
      attempts_waiting({"roundtrip.client.attempts_waiting", "{attempt}",
                        "Attempts waiting for a connection: for a dial, or at the host's connection limit.",
                        instrument_kind::up_down_counter, {}}),
      connect_duration({"roundtrip.client.connect.duration", "s",
                        "Duration of TCP connects, one per address tried; connects another address beat are not counted.",
                        instrument_kind::histogram, request_bounds}),
      tls_duration({"roundtrip.client.tls_handshake.duration", "s", "Duration of TLS handshakes.",
                    instrument_kind::histogram, request_bounds}),
      connections_acquired({"roundtrip.client.connection.acquired", "{attempt}",
                            "Connections attempts got: reused or new, and why the idle pool did not serve them.",
                            instrument_kind::counter, {}}),
      idle_time({"roundtrip.client.connection.idle_time", "s",
                 "How long a connection taken from the idle pool had been idle.", instrument_kind::histogram,
                 idle_bounds}),
      connections_closed({"roundtrip.client.connection.closed", "{connection}",
                          "Connections closed, by reason.", instrument_kind::counter, {}}),
      responses_not_pooled({"roundtrip.client.response.not_pooled", "{response}",
                            "Responses whose connection was not returned to the pool, by reason.",
                            instrument_kind::counter, {}}),
      transparent_retries({"roundtrip.client.transparent_retries", "{attempt}",
                           "Requests the transport resent by itself after a stale pooled connection.",
                           instrument_kind::counter, {}}),
      middleware_events({"roundtrip.client.middleware.events", "{event}",
                         "Events middleware reported about their calls (a retry's decision), by name.",
                         instrument_kind::counter, {}}),
      all{&request_duration,    &active_requests,      &open_connections, &connection_duration,
          &time_in_queue,       &dns_duration,         &attempts_waiting, &connect_duration,
          &tls_duration,        &connections_acquired, &idle_time,        &connections_closed,
          &responses_not_pooled, &transparent_retries, &middleware_events}
{
}

namespace {

// The method as OpenTelemetry records it: a known one as is, any other as "_OTHER", so that a client
// cannot flood a backend with series.
std::string_view method_attribute(std::string_view m) noexcept
{
    static constexpr std::string_view known[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                                 "CONNECT", "OPTIONS", "TRACE", "PATCH"};
    const auto it = std::find(std::begin(known), std::end(known), m);
    return it == std::end(known) ? std::string_view("_OTHER") : *it;
}

std::string_view bool_text(bool b) noexcept { return b ? "true" : "false"; }

// Where connections go: what the connection-level instruments are keyed by.
struct host_target {
    std::string scheme;
    std::string host;
    std::uint16_t port = 0;

    void add_to(attribute_list& a) const noexcept
    {
        a.set("server.address", host);
        a.set("server.port", std::int64_t(port));
        a.set("url.scheme", scheme);
    }
};

// An attempt between get_conn and attempt_done.
struct attempt_state {
    std::uint64_t call = 0;
    std::uint32_t attempt = 0;
    bool in_use = false;
    host_target target;
    std::string_view method; // method_attribute's: a static string
    clock::time_point asked, head;
    bool waiting = false; // counted in attempts_waiting until got_conn
    unsigned status = 0, version = 11;
    series* active = nullptr;
    series* waiting_series = nullptr;
    // Series the slot's last attempts to the same target used, resolved when first needed: a slot
    // reused for the same method and target (a keep-alive loop's) records without attribute lists.
    series* acquired_idle = nullptr;       // connection.acquired{reused, none}
    series* idle_time = nullptr;           // connection.idle_time
    series* duration = nullptr;            // request.duration for a response of `duration_status`
    unsigned duration_status = 0, duration_version = 0;
};

// A connection being dialed: where it goes, until it opens or fails.
struct dial_state {
    std::uint64_t conn = 0;
    host_target target;
    unsigned connecting = 0; // connects started and not done
    bool connected = false;  // a connect succeeded
};

// An open connection: active or idle, counted in open_connections under one of its two series.
struct open_state {
    host_target target;
    bool idle = false;
    series* active = nullptr;
    series* idle_series = nullptr;
};

// Reads one field of a middleware event: an enum's name (text) or an error's class.
class field_reader final : public field_writer {
public:
    explicit field_reader(std::string_view key) : key_(key) {}
    std::optional<std::string_view> value;

private:
    void take(std::string_view k, std::string_view v)
    {
        if (k == key_ && !value)
            value = v;
    }
    void boolean(std::string_view, bool) override {}
    void number(std::string_view, std::uint64_t) override {}
    void signed_number(std::string_view, std::int64_t) override {}
    void real(std::string_view, double) override {}
    void text(std::string_view k, std::string_view v) override { take(k, v); }
    void duration(std::string_view, clock::duration) override {}
    void error(std::string_view k, const error_code& v) override { take(k, v ? error_class(v) : "none"); }
    void address(std::string_view, const endpoint&) override {}
    void addresses(std::string_view, std::span<const endpoint>) override {}

    std::string_view key_;
};

// An attribute set a client saw, and its series. Keys are the observer's literals (or strings it
// keeps); values are copied.
struct remembered {
    const instrument* inst = nullptr;
    std::size_t size = 0;
    std::array<std::string_view, attribute_list::capacity> keys;
    std::array<std::string, attribute_list::capacity> texts;
    std::array<std::int64_t, attribute_list::capacity> numbers{};
    std::uint32_t integers = 0; // bit i: attribute i is a number
    series* s = nullptr;

    bool matches(const instrument& i, const attribute_list& a) const noexcept
    {
        if (&i != inst || a.size() != size)
            return false;
        std::size_t n = 0;
        for (const auto& e : a) {
            if (e.key != keys[n] || e.integer != bool(integers & (1u << n))
                || (e.integer ? e.number != numbers[n] : e.text != texts[n]))
                return false;
            ++n;
        }
        return true;
    }

    // Copies the list; `inst` is set by the caller once `s` is known.
    void remember(const attribute_list& a)
    {
        inst = nullptr;
        size = 0;
        integers = 0;
        for (const auto& e : a) {
            keys[size] = e.key;
            texts[size].assign(e.text);
            numbers[size] = e.number;
            if (e.integer)
                integers |= 1u << size;
            ++size;
        }
    }
};
// How many attribute sets each client remembers: the sets of a few hosts' traffic.
constexpr std::size_t memo_size = 64;

// At most this many dials are remembered: a dial whose first address failed may go on with the next,
// so one that failed is not forgotten at once; the oldest are forgotten past this bound.
constexpr std::size_t max_dials_remembered = 1024;

class client_metrics final : public observer {
public:
    explicit client_metrics(std::shared_ptr<metrics_state> state) : m_(std::move(state)) {}

    // A client torn down without its last events (its io_context stopped first) takes its attempts
    // and connections out of the shared gauges, which would otherwise count them forever.
    ~client_metrics() override
    {
        for (const auto& a : attempts_)
            if (a.in_use) {
                a.active->add(-1);
                if (a.waiting)
                    a.waiting_series->add(-1);
            }
        for (const auto& [id, c] : open_)
            (c.idle ? c.idle_series : c.active)->add(-1);
    }

    void on_event(const event& e) noexcept override
    {
        try {
            std::visit([&](const auto& data) { handle(e, data); }, e.data);
        } catch (...) {
            // Out of memory for a new series, or a hook that threw: this measurement is lost.
        }
    }

private:
    // The series of `inst` for `attrs`, after the user's hook had its say.
    // The client's requests mostly repeat a few attribute sets, so each client remembers the series
    // of the sets it saw last: found again by comparing the list, without building a key, hashing or
    // taking the instrument's lock. (The hook is a function of its input, so its result is
    // remembered too.)
    series& at(instrument& inst, attribute_list& attrs)
    {
        for (const remembered& r : memo_)
            if (r.matches(inst, attrs))
                return *r.s;
        remembered& r = memo_.size() < memo_size ? memo_.emplace_back() : memo_[next_forgotten_++ % memo_size];
        r.remember(attrs); // before the hook changes the list
        if (m_->options.attributes)
            m_->options.attributes(inst.info().name, attrs);
        r.s = &inst.at(attrs, key_);
        r.inst = &inst; // complete: it may match from now on
        return *r.s;
    }

    series& host_series(instrument& inst, const host_target& t)
    {
        attribute_list a;
        t.add_to(a);
        return at(inst, a);
    }

    attempt_state* find_attempt(const event& e) noexcept
    {
        for (auto& a : attempts_)
            if (a.in_use && a.call == e.call && a.attempt == e.attempt)
                return &a;
        return nullptr;
    }

    dial_state* find_dial(std::uint64_t conn) noexcept
    {
        for (auto& d : dials_)
            if (d.conn == conn)
                return &d;
        return nullptr;
    }

    void forget_dial(std::uint64_t conn) noexcept
    {
        const auto it = std::find_if(dials_.begin(), dials_.end(), [&](const dial_state& d) { return d.conn == conn; });
        if (it != dials_.end())
            dials_.erase(it);
    }

    // The dial of the event's connection, remembered from its first event (which comes while the
    // attempt that started it is in progress).
    dial_state* dial_of(const event& e)
    {
        if (dial_state* d = find_dial(e.conn))
            return d;
        const attempt_state* a = find_attempt(e);
        if (!a || e.conn == 0)
            return nullptr;
        if (dials_.size() == max_dials_remembered)
            dials_.pop_front();
        return &dials_.emplace_back(dial_state{e.conn, a->target});
    }

    // The connection opens (got_conn, or put_idle_conn for one a dial brought when nobody waited).
    open_state& open(std::uint64_t conn, const host_target& t)
    {
        if (auto it = open_.find(conn); it != open_.end())
            return it->second;
        // Everything that may throw first: a connection is counted whole or not at all.
        open_state o{t, false, nullptr, nullptr};
        attribute_list a;
        t.add_to(a);
        a.set("http.connection.state", "active");
        o.active = &at(m_->open_connections, a);
        a.set("http.connection.state", "idle");
        o.idle_series = &at(m_->open_connections, a);
        open_state& made = open_.emplace(conn, std::move(o)).first->second;
        made.active->add(1);
        forget_dial(conn);
        return made;
    }

    template <class Event>
    void handle(const event&, const Event&)
    {
    }

    void handle(const event& e, const get_conn& g)
    {
        const std::string_view method = method_attribute(g.method);
        auto free = std::find_if(attempts_.begin(), attempts_.end(), [](const attempt_state& a) { return !a.in_use; });
        attempt_state* slot = free != attempts_.end() ? &*free : nullptr;
        const bool same_target = slot && slot->active && slot->method == method && slot->target.port == g.port
                                 && slot->target.host == g.host && slot->target.scheme == g.scheme;
        // The series first: an attempt is tracked whole or not at all.
        series* active = same_target ? slot->active : nullptr;
        series* waiting = same_target ? slot->waiting_series : nullptr;
        series* resent = nullptr;
        if (!same_target || g.transparent_retry) {
            attribute_list attrs;
            attrs.set("http.request.method", method);
            attrs.set("server.address", g.host);
            attrs.set("server.port", std::int64_t(g.port));
            attrs.set("url.scheme", g.scheme);
            active = &at(m_->active_requests, attrs);
            attrs.drop("http.request.method");
            waiting = &at(m_->attempts_waiting, attrs);
            if (g.transparent_retry)
                resent = &at(m_->transparent_retries, attrs);
        }

        attempt_state& a = slot ? *slot : attempts_.emplace_back();
        if (!same_target) {
            a.target.scheme.assign(g.scheme);
            a.target.host.assign(g.host);
            a.target.port = g.port;
            a.method = method;
            a.acquired_idle = a.idle_time = a.duration = nullptr;
        }
        a.call = e.call;
        a.attempt = e.attempt;
        a.asked = e.at;
        a.head = {};
        a.status = 0;
        a.version = 11;
        a.active = active;
        a.waiting_series = waiting;
        a.in_use = true;
        a.active->add(1);
        a.waiting_series->add(1);
        a.waiting = true;
        if (resent)
            resent->add(1);
    }

    void handle(const event& e, const dns_start&) { dial_of(e); }
    void handle(const event& e, const dns_done& d)
    {
        const dial_state* dial = dial_of(e);
        if (!dial)
            return;
        // Only lookups have a duration to record: an answer from the cache or a pin was none.
        if (d.source == dns_source::lookup || d.source == dns_source::coalesced) {
            attribute_list attrs;
            attrs.set("dns.question.name", dial->target.host);
            if (d.error)
                attrs.set("error.type", error_class(d.error));
            m_->dns_duration.record(at(m_->dns_duration, attrs), d.took);
        }
        if (d.error)
            forget_dial(e.conn);
    }

    void handle(const event& e, const connect_start&)
    {
        if (dial_state* dial = dial_of(e))
            ++dial->connecting;
    }
    void handle(const event& e, const connect_done& c)
    {
        dial_state* dial = find_dial(e.conn);
        if (!dial)
            return;
        if (dial->connecting > 0)
            --dial->connecting;
        dial->connected = dial->connected || !c.error;
        // The dial failed when its last connect did and none succeeded: the dialer starts the next
        // address as it reports a failure, so a dial that goes on has a connect in progress.
        const bool failed = !dial->connected && dial->connecting == 0;
        if (c.error != condition::canceled) { // canceled: another address won the race, not a cost
            attribute_list attrs;
            dial->target.add_to(attrs);
            if (c.error)
                attrs.set("error.type", error_class(c.error));
            m_->connect_duration.record(at(m_->connect_duration, attrs), c.took);
        }
        if (failed)
            forget_dial(e.conn);
    }

    void handle(const event& e, const tls_handshake_start&) { dial_of(e); }
    void handle(const event& e, const tls_handshake_done& t)
    {
        const dial_state* dial = dial_of(e);
        if (!dial)
            return;
        attribute_list attrs;
        dial->target.add_to(attrs);
        if (t.error)
            attrs.set("error.type", error_class(t.error));
        m_->tls_duration.record(at(m_->tls_duration, attrs), t.took);
        if (t.error)
            forget_dial(e.conn);
    }

    void handle(const event& e, const got_conn& g)
    {
        attempt_state* a = find_attempt(e);
        if (!a)
            return;
        if (a->waiting) {
            a->waiting_series->add(-1);
            a->waiting = false;
        }
        if (!g.was_idle) {
            attribute_list attrs;
            attrs.set("http.request.method", a->method);
            a->target.add_to(attrs);
            attrs.set("network.protocol.version", "1.1");
            m_->time_in_queue.record(at(m_->time_in_queue, attrs), e.at - a->asked);
        }

        const auto acquired = [&] {
            attribute_list how;
            a->target.add_to(how);
            how.set("roundtrip.connection.reused", bool_text(g.reused));
            how.set("roundtrip.not_reused_reason", to_string(g.not_reused));
            return &at(m_->connections_acquired, how);
        };
        if (g.was_idle && g.reused) { // the keep-alive case: the slot's series, once resolved
            if (!a->acquired_idle)
                a->acquired_idle = acquired();
            a->acquired_idle->add(1);
        } else {
            acquired()->add(1);
        }
        if (g.was_idle) {
            if (!a->idle_time)
                a->idle_time = &host_series(m_->idle_time, a->target);
            m_->idle_time.record(*a->idle_time, g.idle_time);
        }

        open_state& c = open(e.conn, a->target);
        if (c.idle) {
            c.idle_series->add(-1);
            c.active->add(1);
            c.idle = false;
        }
    }

    void handle(const event& e, const response_headers& h)
    {
        if (attempt_state* a = find_attempt(e)) {
            a->head = e.at;
            a->status = h.status;
            a->version = h.version;
        }
    }

    void handle(const event& e, const attempt_done& d)
    {
        attempt_state* a = find_attempt(e);
        if (!a)
            return;
        // The attempt's state is let go first: a lost measurement below must not keep it.
        a->in_use = false;
        a->active->add(-1);
        if (a->waiting)
            a->waiting_series->add(-1);
        a->waiting = false;
        const clock::time_point until = a->head != clock::time_point{} ? a->head : e.at;
        if (!d.error && a->duration && a->status == a->duration_status && a->version == a->duration_version) {
            m_->request_duration.record(*a->duration, until - a->asked); // as the slot's last response
            return;
        }

        attribute_list attrs;
        attrs.set("http.request.method", a->method);
        a->target.add_to(attrs);
        char status_text[8];
        if (!d.error && a->status != 0) {
            attrs.set("http.response.status_code", std::int64_t(a->status));
            attrs.set("network.protocol.version", a->version == 10 ? "1.0" : "1.1");
        }
        // error.type as the tracing middleware sets it: the error's class, or a status of 400 and
        // above as its number.
        if (d.error) {
            attrs.set("error.type", error_class(d.error));
        } else if (a->status >= 400) {
            const auto end = std::to_chars(status_text, status_text + sizeof status_text, a->status).ptr;
            attrs.set("error.type", std::string_view(status_text, end - status_text));
        }
        series& s = at(m_->request_duration, attrs);
        if (!d.error) { // a response's attributes are its status and version: remembered for the next
            a->duration = &s;
            a->duration_status = a->status;
            a->duration_version = a->version;
        }
        m_->request_duration.record(s, until - a->asked);
    }

    void handle(const event& e, const put_idle_conn&)
    {
        if (auto it = open_.find(e.conn); it != open_.end()) {
            if (!it->second.idle) {
                it->second.active->add(-1);
                it->second.idle_series->add(1);
                it->second.idle = true;
            }
        } else if (const dial_state* dial = find_dial(e.conn)) { // a dial nobody waited for any more
            open_state& c = open(e.conn, dial->target);
            c.active->add(-1);
            c.idle_series->add(1);
            c.idle = true;
        }
    }

    // Where connection `conn` goes: an open one's target, or that of a dial that brought a
    // connection nobody used (refused by the pool, or closed with the client); null if unknown.
    const host_target* target_of(std::uint64_t conn) const noexcept
    {
        if (const auto it = open_.find(conn); it != open_.end())
            return &it->second.target;
        for (const auto& d : dials_)
            if (d.conn == conn)
                return &d.target;
        return nullptr;
    }

    void handle(const event& e, const conn_not_pooled& n)
    {
        const host_target* target = target_of(e.conn);
        if (!target)
            return;
        attribute_list attrs;
        target->add_to(attrs);
        attrs.set("roundtrip.not_pooled_reason", to_string(n.reason));
        at(m_->responses_not_pooled, attrs).add(1);
    }

    void handle(const event& e, const conn_closed& c)
    {
        // Forgotten first: a lost measurement below must not keep it.
        host_target target;
        if (const auto it = open_.find(e.conn); it != open_.end()) {
            const open_state o = std::move(it->second);
            open_.erase(it);
            (o.idle ? o.idle_series : o.active)->add(-1);
            target = o.target;
        } else if (const dial_state* dial = find_dial(e.conn)) { // a dial's connection that never served
            target = dial->target;
            forget_dial(e.conn);
        } else {
            return;
        }
        attribute_list attrs;
        target.add_to(attrs);
        m_->connection_duration.record(at(m_->connection_duration, attrs), c.lifetime);
        attrs.set("roundtrip.close_reason", to_string(c.reason));
        at(m_->connections_closed, attrs).add(1);
    }

    void handle(const event&, const middleware_event& m)
    {
        attribute_list attrs;
        attrs.set("roundtrip.event", m.name());
        std::optional<field_reader> field;
        for (const auto& counted : m_->options.event_fields)
            if (counted.event == m.name()) {
                field.emplace(counted.field);
                m.write_fields(*field);
                if (field->value) {
                    std::string& key = field_keys_[counted.event];
                    if (key.empty())
                        key.append(m.attribute_prefix().empty() ? "roundtrip" : m.attribute_prefix())
                            .append(".")
                            .append(counted.field);
                    attrs.set(key, *field->value);
                }
                break;
            }
        at(m_->middleware_events, attrs).add(1);
    }

    const std::shared_ptr<metrics_state> m_;
    std::string key_;                    // the lookup key's buffer, reused
    std::vector<remembered> memo_;
    std::size_t next_forgotten_ = 0;
    std::vector<attempt_state> attempts_; // reused: no allocation per attempt once warm
    std::deque<dial_state> dials_;
    std::unordered_map<std::uint64_t, open_state> open_;
    std::unordered_map<std::string_view, std::string> field_keys_; // counted event → its field's attribute key
};

} // namespace
} // namespace detail

http_metrics::http_metrics(metrics_options options) : state_(std::make_shared<detail::metrics_state>(std::move(options))) {}

http_metrics::~http_metrics() = default;

std::shared_ptr<observer> http_metrics::new_observer() { return std::make_shared<detail::client_metrics>(state_); }

metrics_snapshot http_metrics::collect() const
{
    metrics_snapshot s;
    s.start = state_->start;
    s.taken = std::chrono::system_clock::now();
    for (const detail::instrument* i : state_->all)
        if (metric m = i->collect(); !m.points.empty())
            s.metrics.push_back(std::move(m));
    return s;
}

} // namespace roundtrip
