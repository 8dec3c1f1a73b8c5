// The metrics middleware: OpenTelemetry's HTTP client metrics and roundtrip's pool metrics, counted
// from the lifecycle events, for a Prometheus text exposition (metrics/prometheus.hpp), the OTLP
// exporter (metrics/otlp_exporter.hpp) or any exporter that reads a snapshot (metrics/snapshot.hpp).
#pragma once

#include <roundtrip/events.hpp>
#include <roundtrip/middleware/metrics/snapshot.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

namespace roundtrip {

/// The attributes of one measurement, as the metrics middleware chose them, handed to
/// `metrics_options::attributes` to add or drop some before the series is found. Holds at most
/// `capacity` attributes (an attribute set beyond it is ignored), inline: building one allocates
/// nothing. Keys and values are views: what a hook sets must outlive the call (a literal, or a string
/// the hook's owner keeps).
class attribute_list {
public:
    static constexpr std::size_t capacity = 16;

    struct entry {
        std::string_view key;
        std::string_view text;  ///< The value, when not `integer`.
        std::int64_t number;    ///< The value, when `integer`.
        bool integer;
    };

    /// Sets `key` to a text value, replacing an earlier value of the key.
    void set(std::string_view key, std::string_view value) noexcept;
    /// Sets `key` to an integer value (a port, a status), replacing an earlier value of the key.
    void set(std::string_view key, std::int64_t value) noexcept;
    /// Removes `key`, if present.
    void drop(std::string_view key) noexcept;
    /// Returns the entry of `key`, or null.
    const entry* find(std::string_view key) const noexcept;

    const entry* begin() const noexcept { return items_.data(); }
    const entry* end() const noexcept { return items_.data() + size_; }
    std::size_t size() const noexcept { return size_; }

private:
    entry* slot(std::string_view key) noexcept;
    std::array<entry, capacity> items_; // the first size_ are set: no cost for the rest
    std::size_t size_ = 0;
};

/// Names the field of a middleware's own event (`custom_event`) whose value it is counted by: the
/// retry middleware's `retry_scheduled` by `cause`. The field must have a small set of values — an
/// enum's name (a text field) or an error (its class) — since each value is a series of its own.
/// Both are views, of literals usually: they must outlive the metrics.
struct event_field {
    std::string_view event; ///< The event's name (`T::event_name`).
    std::string_view field; ///< The field's key; its value becomes the attribute `<prefix>.<field>`,
                            ///< the prefix being the event's `attribute_prefix` (or `roundtrip`).
};

/// `metrics_options` configure the metrics middleware.
struct metrics_options {
    /// Called with each measurement's attributes before its series is looked up, with the
    /// instrument's name: adds attributes (a deployment's `service.tier`) or drops some (`server.port`
    /// for a service that talks to one port). It must be a function of its input alone: each client
    /// calls it once for an attribute set and remembers the result. Runs on the clients' strands,
    /// possibly on several threads at once when clients share the metrics: keep it free of shared
    /// mutable state. Each distinct attribute set is a series kept for the metrics'
    /// life, so never add unbounded values (ids, URLs, times). Empty: no hook.
    std::function<void(std::string_view instrument, attribute_list& attributes)> attributes;

    /// Middleware events counted in `roundtrip.client.middleware.events` with an attribute from one
    /// of their fields. Every middleware event is counted by name (`roundtrip.event`); these add the
    /// field. Default: the retry middleware's decisions by cause and by reason to give up, the
    /// redirect middleware's refusals and the cookies middleware's, each by reason (closed sets; a
    /// cookie's name, which the server chooses, is never one).
    std::vector<event_field> event_fields = {{"retry_scheduled", "cause"},
                                             {"retry_given_up", "reason"},
                                             {"redirect_refused", "reason"},
                                             {"cookie_refused", "reason"}};
};

namespace detail {
struct metrics_state;
}

/// `http_metrics` holds the instruments of one or more clients and turns their lifecycle events into
/// measurements. Give each client an observer of its own:
///
///     auto metrics = std::make_shared<roundtrip::http_metrics>();
///     roundtrip::client c(roundtrip::client_options{.observers = {metrics->new_observer()}});
///     ...
///     std::string text = roundtrip::prometheus_text(metrics->collect());
///
/// The instruments follow OpenTelemetry's semantic conventions for HTTP clients where they name one
/// (`http.client.request.duration`, `http.client.open_connections`, ...) and are roundtrip's own,
/// under `roundtrip.client.`, for what no convention covers (why connections close, why responses are
/// not pooled, reuse). docs/metrics.md lists each with its unit, attributes and the events it comes
/// from. Attributes never carry a URL's path or query, or credentials: `server.address` and
/// `server.port` are the URL's host and port.
///
/// Recording allocates only for a series seen for the first time and for a new connection; in a
/// steady state it is a few atomic additions per measurement. Thread safety: `collect` and
/// `new_observer` may be called from any thread, while clients record.
class http_metrics {
public:
    explicit http_metrics(metrics_options options = {});
    ~http_metrics();
    http_metrics(const http_metrics&) = delete;
    http_metrics& operator=(const http_metrics&) = delete;

    /// Returns a new observer that records one client's events: put it in that client's
    /// `client_options::observers` (an observer of the whole client is needed, since connections
    /// closed in the pool belong to no call). One observer per client: it keeps the client's
    /// attempts and connections in progress without a lock, relying on the client's strand. It may
    /// outlive these metrics' owner: it shares the instruments.
    std::shared_ptr<observer> new_observer();

    /// Returns every series measured so far, cumulative since construction.
    metrics_snapshot collect() const;

private:
    std::shared_ptr<detail::metrics_state> state_;
};

} // namespace roundtrip
