// The transport: one coroutine per round trip on the transport's strand. It validates the request,
// gets a connection from the pool (or dials one: dialer.cpp), runs the HTTP/1.1 exchange
// (http1_exchange.hpp), gives the connection back, and retries transparently when that is safe,
// emitting each step as an event.
#include "ascii.hpp"
#include "call_state.hpp"
#include "chain.hpp"
#include "completion.hpp"
#include "conn_broker.hpp"
#include "connection.hpp"
#include "dialer.hpp"
#include "error_from_exception.hpp"
#include "proxy_route.hpp"
#include "event_sink.hpp"
#include "http1_exchange.hpp"
#include "streamed_body.hpp"
#include "target.hpp"
#include "time.hpp"

#include <roundtrip/error.hpp>
#include <roundtrip/transport.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/intrusive/list.hpp>

#include <sys/un.h>

#include <map>
#include <optional>
#include <set>

namespace roundtrip {
namespace detail {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

} // namespace

using lease = conn_lease<conn_ptr>;

// An attempt that found no idle connection: it waits in the pool's FIFO, maybe with a dial of its own,
// and takes whichever comes first (late binding). Completed once (conn_broker::finish): by a
// connection, its dial's error, its deadline, or cancellation. Only touched on the strand.
struct conn_wait : broker_waiter, std::enable_shared_from_this<conn_wait> {
    using handler_type = asio::any_completion_handler<void(error_code, lease)>;

    conn_wait(executor strand, event_sink s, const target& t, std::string k, clock::time_point deadline,
              bool fresh)
        : sink(std::move(s)), where(t), deadline(deadline), timer(strand)
    {
        key = std::move(k);
        wants_new = fresh;
    }

    template <class Token>
    auto async_wait(Token&& token)
    {
        return asio::async_initiate<Token, void(error_code, lease)>(
            [this](auto handler) {
                // Boost 1.81's any_completion_handler must not be move-assigned: emplace only.
                this->handler.emplace(std::move(handler));
            },
            token);
    }

    event_sink sink;
    const target& where;          // the attempt's target, alive while the attempt waits
    std::shared_ptr<tls_context> tls; // https: the configuration a dial for it uses
    clock::time_point deadline;
    asio::steady_timer timer;     // the call's deadline, while waiting
    std::optional<handler_type> handler;
    bool waits_for_slot = false;  // at max_conns_per_host: wait_for_conn_start was emitted
    clock::time_point wait_started; // when it was
};

class transport_impl;

// One attempt in progress: what `close()` and the caller's cancellation act on.
// Only touched on the transport's strand.
struct attempt_record : boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>>,
                        cancellable_attempt {
    // `r` outlives the record: the inline round trip's parameter, or owned_attempt's storage.
    attempt_record(transport_impl& t, request& r) : owner(t), req(r) {}

    void cancel() noexcept override; // for a call that awaits the transport inline

    transport_impl& owner;

    request& req;
    std::shared_ptr<tls_context> tls; // https: the request's TLS configuration, else the transport's
    bool owns_call = false;           // the transport is used alone: it made the call's state
    stop_state stop;                  // cancel() records why the attempt ended
    source_read body_read;            // the request's body source, while an exchange reads it
    std::shared_ptr<conn_wait> waiting; // while waiting for a connection
    connection* conn = nullptr;         // while exchanging
    clock::time_point asked;            // the current attempt's get_conn, when someone listens
};

// An attempt started as an operation of its own (transport_impl::start): it owns its request.
struct owned_attempt {
    owned_attempt(transport_impl& t, request r) : storage(std::move(r)), record(t, storage) {}

    request storage;
    attempt_record record;
};

class transport_impl : public connection_home,
                       public inline_round_tripper,
                       public std::enable_shared_from_this<transport_impl> {
public:
    transport_impl(executor strand, transport_options options, observer_list observers)
        : strand_(strand), options_(std::move(options)), observers_(std::move(observers)),
          names_(std::make_shared<lookup_group>(
              strand, options_.dial.resolver ? options_.dial.resolver : std::make_shared<system_resolver>(),
              options_.dial)),
          proxy_(options_.dial.proxy ? options_.dial.proxy : proxy_from_environment()),
          broker_(*this, options_.pool), sweep_(strand), watchdog_(std::make_shared<watchdog>(strand))
    {
        const auto& tls = options_.tls;
        // Files named in the options are read now, so a bad one fails the client's construction;
        // the system trust store alone is loaded on first use, sparing http-only clients its cost.
        if (!tls.ca_file.empty() || !tls.ca_dir.empty() || !tls.ca_pem.empty() || !tls.cert_file.empty()
            || !tls.cert_pem.empty() || !tls.key_file.empty() || !tls.key_pem.empty() || !tls.key_log_file.empty())
            tls_ = std::make_shared<tls_context>(tls);
    }

    void start(request req, asio::any_completion_handler<void(result)> handler)
    {
        auto owned = std::make_shared<owned_attempt>(*this, std::move(req));
        std::shared_ptr<attempt_record> record(owned, &owned->record);
        if (!request_access::call(record->req)) {
            request_access::set_call(record->req, std::make_shared<call_state>());
            record->owns_call = true;
        }
        auto slot = asio::get_associated_cancellation_slot(handler);
        if (slot.is_connected())
            slot.assign([record, self = shared_from_this()](asio::cancellation_type type) {
                asio::dispatch(self->strand_, [record, self, type] {
                    if (honours(type, *request_access::call(record->req)))
                        self->cancel(*record);
                });
            });
        asio::co_spawn(strand_, run(shared_from_this(), record),
                       [strand = strand_, h = std::move(handler)](std::exception_ptr e, result r) mutable {
                           auto slot = asio::get_associated_cancellation_slot(h);
                           if (slot.is_connected())
                               slot.clear();
                           if (e)
                               r.error = error::canceled; // only an exception from Asio itself can get here
                           dispatch_completion(strand, std::move(h), std::move(r));
                       });
    }

    // The round trip of a request of a client whose strand is this transport's, awaited by the layer
    // above (chain.hpp). The attempt lives in a recycled slot (slot_lease), and the call's cancellation
    // reaches it through the call's state (the client cancels inline attempts before it cancels the
    // coroutine). Operations the round trip awaits must not throw because the coroutine was
    // cancelled: the attempt ends with error::canceled, its connection handled as after any
    // cancellation.
    //
    // Only a round trip awaited in the call's own coroutine runs inline: one whose cancellation is
    // another's — a branch of a middleware's parallel group, a coroutine layer beneath a
    // callback-style one — or a request a middleware built without the call's state, is started
    // as an operation of its own, cancelled through its handler's slot (start()).
    asio::awaitable<result> round_trip_inline(request req) override
    {
        const asio::cancellation_state state = co_await asio::this_coro::cancellation_state;
        const call_state* call_of_req = request_access::call(req).get();
        if (!call_of_req || state.slot() != call_of_req->coroutine_slot)
            co_return co_await start_as_operation(std::move(req));
        const auto self = shared_from_this(); // a client's close() may drop the last other owner
        const slot_lease slot(*this);
        attempt_record& a = slot->attempt.emplace(*this, req); // `req` outlives the slot in this frame
        result& r = slot->outcome;
        call_state& call = *request_access::call(a.req);
        call.inline_attempts.push_back(a);
        const bool threw_if_cancelled = co_await asio::this_coro::throw_if_cancelled();
        co_await asio::this_coro::throw_if_cancelled(false);
        try {
            co_await round_trip(a, r);
        } catch (...) {
            r = result{};
            r.error = error_from_exception(std::current_exception());
        }
        co_await asio::this_coro::throw_if_cancelled(threw_if_cancelled);
        co_return std::move(r);
    }

    // The round trip of `req` as an operation of its own, cancelled through its handler's slot.
    // Not a coroutine: round_trip_inline's frame holds only the awaitable it returns.
    asio::awaitable<result> start_as_operation(request&& req)
    {
        auto initiate = [self = shared_from_this()](auto handler, request r) {
            self->start(std::move(r), asio::any_completion_handler<void(result)>(std::move(handler)));
        };
        return asio::async_initiate<const asio::use_awaitable_t<>&, void(result)>(initiate, asio::use_awaitable,
                                                                                    std::move(req));
    }

    // What an inline round trip keeps besides its request, in a recycled slot rather than in its
    // coroutine frame: the frame then stays under the size Asio recycles (about 1 KiB), and a frame
    // Asio cannot recycle also evicts blocks the others would have reused.
    struct inline_slot {
        std::optional<attempt_record> attempt;
        result outcome;
    };

    // A slot for the duration of one inline round trip, taken from the spares and given back.
    class slot_lease {
    public:
        explicit slot_lease(transport_impl& t) : t_(t)
        {
            t_.spare_slots_.reserve(max_spare_slots); // the destructor's push_back never allocates
            if (t_.spare_slots_.empty()) {
                s_ = std::make_unique<inline_slot>();
            } else {
                s_ = std::move(t_.spare_slots_.back());
                t_.spare_slots_.pop_back();
            }
        }
        ~slot_lease()
        {
            s_->attempt.reset(); // leaves the transport's and the call's lists
            s_->outcome = result{};
            if (t_.spare_slots_.size() < max_spare_slots)
                t_.spare_slots_.push_back(std::move(s_));
        }
        slot_lease(const slot_lease&) = delete;
        slot_lease& operator=(const slot_lease&) = delete;
        inline_slot* operator->() const noexcept { return s_.get(); }

    private:
        transport_impl& t_;
        std::unique_ptr<inline_slot> s_;
    };

    // Ends one attempt's wait or exchange with error::canceled.
    void cancel(attempt_record& a)
    {
        a.stop.stop(stop_state::reason::canceled);
        a.body_read.abandon(error::canceled);
        if (a.waiting)
            broker_.finish(*a.waiting, error::canceled, {});
        if (a.conn)
            a.conn->stream.cancel();
    }

    void close()
    {
        asio::dispatch(strand_, [self = shared_from_this()] {
            self->closed_ = true;
            // Neither cancel() nor dial::cancel() completes anything inline, so the lists stay intact.
            for (auto& a : self->attempts_)
                self->cancel(a);
            for (auto& d : self->dials_)
                d->cancel();
            // Ending a body unlinks it: walk a copy.
            std::vector<std::shared_ptr<streamed_body>> bodies;
            for (auto& b : self->bodies_)
                bodies.push_back(b.shared_from_this());
            for (auto& b : bodies)
                b->close();
            self->broker_.drain(close_reason::client_closed);
            self->sweep_.cancel();
            watchdog::disarm(self->watch_round_);
            self->watchdog_->rest(); // a closed transport leaves no wait behind (io_context::run returns)
        });
    }

    void close_idle()
    {
        asio::dispatch(strand_, [self = shared_from_this()] { self->broker_.drain(close_reason::close_idle); });
    }

    pool_stats stats() const { return broker_.stats(); }

    executor strand_;

private:
    friend class conn_broker<transport_impl>;

    static asio::awaitable<result> run(std::shared_ptr<transport_impl> self, std::shared_ptr<attempt_record> a)
    {
        result r;
        try {
            co_await self->round_trip(*a, r);
        } catch (...) {
            r = result{};
            r.error = error_from_exception(std::current_exception()); // bad_alloc buffering a body, say
        }
        if (a->owns_call && a->req.body_stream)
            finish_body_source(*a->req.body_stream, *request_access::call(a->req), r.error);
        co_return r;
    }

    // The attempts of one round trip: the first, and transparent retries on another connection when a
    // reused one failed before any response byte and resending is safe. The outcome is written to
    // `r`, which lives in the caller's frame: a response returned through each coroutine level would
    // be moved twice per level.
    asio::awaitable<void> round_trip(attempt_record& a, result& r)
    {
        attempts_.push_back(a);
        const request& req = a.req;

        target t;
        if (auto ec = targets_.parse(req, t)) {
            r.error = ec;
            co_return;
        }
        if (options_.dial.unix_socket.size() >= sizeof(sockaddr_un::sun_path)) { // what the system can address
            r.error = error::invalid_config;
            co_return;
        }
        if (proxy_ && options_.dial.unix_socket.empty()) {
            if (auto ec = route(t)) {
                r.error = ec;
                co_return;
            }
        }
        if (t.tls && req.tls)
            a.tls = tls_access::context(*req.tls);
        else if (t.tls) {
            if (auto ec = make_tls()) {
                r.error = ec;
                co_return;
            }
            a.tls = tls_;
        }
        const std::shared_ptr<const std::string> shared_key = key_of(t, a.tls != tls_ ? a.tls.get() : nullptr);
        const std::string& key = *shared_key;

        for (int transparent_retries = 0;; ++transparent_retries) {
            r = result{};
            // The transport's own observer list, never the client's: a streamed body, a dial its
            // waiter gave up on or a draining connection may emit after the client is gone, and
            // the transport's list lives as long as they do.
            const event_sink sink(req, observers_);
            r.attempt.attempts = sink.attempt();
            a.asked = {}; // set at get_conn, which an attempt refused at once never reaches
            co_await attempt(a, t, key, sink, r, transparent_retries > 0);
            sink.emit(r.attempt.conn, [&] {
                const clock::duration took = a.asked == clock::time_point{} ? clock::duration{} : clock::now() - a.asked;
                return attempt_done{r.error, r.error ? 0u : r.response.status, took};
            });
            if (!attempt_events::retries_transparently(req, r) || a.stop.stopped() || closed_
                || transparent_retries >= attempt_events::max_transparent_retries || clock::now() >= req.deadline())
                co_return;
        }
    }

    // One attempt: get a connection, exchange, give the connection back.
    asio::awaitable<void> attempt(attempt_record& a, const target& t, const std::string& key,
                                  const event_sink& sink, result& r, bool transparent_retry)
    {
        if (closed_ || a.stop.stopped()) {
            r.error = error::canceled;
            co_return;
        }
        sink.emit(0, [&] {
            return get_conn{t.scheme(), t.host, t.port, a.req.method, a.req.url, transparent_retry};
        });
        a.asked = sink.active() ? clock::now() : clock::time_point{};
        // The idle pool first, without a coroutine of its own (on a keep-alive request that is the
        // whole of getting a connection); acquire() for everything that may wait.
        // (Not a conditional expression around the co_await: GCC 12 miscompiles one.)
        conn_ptr to_look_at;
        not_reused_reason not_reused = not_reused_reason::none;
        std::optional<lease> idle = broker_.take_idle(checkout_of(a.req, key), to_look_at, not_reused);
        error_code ec;
        lease got;
        if (idle)
            got = std::move(*idle);
        else
            std::tie(ec, got) = co_await acquire(a, t, key, sink, std::move(to_look_at), not_reused);
        if (ec) {
            r.error = as_roundtrip_error(ec);
            co_return;
        }
        connection& c = *got.conn;
        if (c.buffer.capacity() == 0 && !spare_buffers_.empty()) {
            c.buffer = std::move(spare_buffers_.back());
            spare_buffers_.pop_back();
        }
        const bool reused = c.requests_served > 0;
        r.attempt.conn = c.id;
        r.attempt.reused = reused;
        sink.emit(c.id, [&] {
            const auto why = got.was_idle ? not_reused_reason::none : not_reused;
            return got_conn{reused, got.was_idle, got.idle_time, c.local_endpoint(), c.remote, why,
                            got.late_bound};
        });

        a.conn = &c;
        const http1::exchange_scope scope{a.req,
                                          t,
                                          sink,
                                          options_.timeouts,
                                          a.req.limits ? *a.req.limits : options_.limits,
                                          a.stop,
                                          http1::wants_close(a.req) || !broker_.keep_alive_enabled(),
                                          *request_access::call(a.req),
                                          a.body_read};
        if (a.stop.stopped()) {
            // Cancelled between being granted the connection and using it: nothing was written, so
            // the connection is as good as it came; it goes back whole instead of being closed.
            a.conn = nullptr;
            r.error = error::canceled;
            give_back(std::move(got.conn), sink, std::nullopt);
            co_return;
        }
        http1::exchange_outcome out;
        try {
            const auto run_exchange = [&](auto& stream) { return http1::exchange(stream, c, scope, r); };
            out = co_await c.on_stream(run_exchange);
        } catch (...) {
            // bad_alloc buffering a body, say: the connection is lost, but its place in the pool is not.
            a.conn = nullptr;
            give_back(std::move(got.conn), sink, not_pooled_reason::broken);
            throw;
        }
        a.conn = nullptr;

        r.error = as_roundtrip_error(out.error);
        if (out.body_pending) {
            auto body = std::make_shared<streamed_body>(strand_, shared_from_this(), std::move(got.conn), sink, scope);
            bodies_.push_back(*body);
            r.response.body_stream = body_reader(std::move(body));
            co_return;
        }
        if (r.error)
            out.refused = http1::refusal_after_error(r.error);
        give_back(std::move(got.conn), sink, out.refused);
        co_return;
    }

    static checkout checkout_of(const request& req, const std::string& key)
    {
        return {key, req.new_connection, is_replayable(req)};
    }

    // A connection for an attempt that found none idle (take_idle): `to_look_at` first, if
    // take_idle left one, then a new one, or one another attempt returns first, or (at the host's
    // limit) the first to come back or be allowed.
    asio::awaitable<std::tuple<error_code, lease>> acquire(attempt_record& a, const target& t,
                                                                 const std::string& key, const event_sink& sink,
                                                                 conn_ptr to_look_at, not_reused_reason& not_reused)
    {
        const request& req = a.req;
        while (to_look_at) {
            conn_ptr c = std::move(to_look_at);
            if (const auto fault = co_await look_through_tls(c)) {
                broker_.close_unused(c, *fault);
                not_reused = not_reused_reason::idle_stale;
                std::optional<lease> next = broker_.take_idle(checkout_of(req, key), to_look_at, not_reused);
                if (next)
                    co_return std::tuple{error_code{}, std::move(*next)};
                continue;
            }
            const clock::time_point since = c->idle_since;
            co_return std::tuple{error_code{}, lease{std::move(c), true, clock::now() - since}};
        }
        if (a.stop.stopped() || closed_) // while a TLS look was read: no wait, no dial
            co_return std::tuple{error_code(error::canceled), lease{}};

        auto w = std::make_shared<conn_wait>(strand_, sink, t, key, req.deadline(), req.new_connection);
        w->tls = a.tls;
        if (w->deadline != clock::time_point::max()) {
            w->timer.expires_at(w->deadline);
            w->timer.async_wait([self = shared_from_this(), w](error_code ec) {
                // The timer may fire just as the wait ends another way (deliver's cancel() cannot
                // recall a handler already queued): only an open wait ends here.
                if (!ec && !w->done)
                    self->broker_.finish(*w, error::deadline_exceeded, {});
            });
        }
        broker_.wait(*w);
        a.waiting = w;
        auto [ec, lease] = co_await w->async_wait(use_tuple);
        a.waiting.reset();
        co_return std::tuple{ec, std::move(lease)};
    }

    // Dials a connection for `w`, counted already by the pool. If `w` gives up before the dial ends,
    // the connection goes to the pool (or to whoever waits) all the same.
    void start_dial(const std::shared_ptr<conn_wait>& w)
    {
        if (w->waits_for_slot) {
            w->waits_for_slot = false; // the wait for a slot ends here; the dial's events follow
            w->sink.emit(0, [&] { return wait_for_conn_done{{}, clock::now() - w->wait_started}; });
        }
        auto d = std::make_shared<dial>(strand_, watchdog_, options_.dial, names_, w->sink, w->where, ++last_conn_id_,
                                        options_.timeouts.connect, w->deadline,
                                        w->tls, w->key);
        dials_.insert(d);
        d->start([self = shared_from_this(), d, weak = std::weak_ptr<conn_wait>(w),
                  key = w->key](error_code ec, std::unique_ptr<connection> c) mutable {
            self->dials_.erase(d);
            const auto waiter = weak.lock();
            self->broker_.dialed(waiter.get(), key, ec, conn_ptr(std::move(c))); // keyed by the dial
        });
    }

    // Returns a connection after its exchange: to a waiter, to the idle pool, or closed with why.
    void give_back(conn_ptr c, const event_sink& sink, std::optional<not_pooled_reason> refused) override
    {
        c->in.parser.reset(); // a response's fields and body buffers go with it
        if (closed_ && !refused)
            refused = not_pooled_reason::keep_alive_disabled; // a closed transport keeps nothing
        broker_.give_back(std::move(c), sink, refused);
    }

    // conn_broker's ports: how the transport carries out what the broker decides.
    using conn_type = conn_ptr;
    using waiter_type = conn_wait;
    using sink_type = event_sink;

    static clock::time_point now() { return clock::now(); }

    void dial_for(conn_wait& w) { start_dial(w.shared_from_this()); }

    void waits_for_slot(conn_wait& w)
    {
        w.waits_for_slot = true;
        w.sink.emit(0, [] { return wait_for_conn_start{}; });
        w.wait_started = clock::now();
    }

    // Completes a wait off the current call stack.
    void deliver(conn_wait& w, error_code ec, lease got)
    {
        w.timer.cancel();
        if (w.waits_for_slot)
            w.sink.emit(0, [&] { return wait_for_conn_done{ec, clock::now() - w.wait_started}; });
        if (w.handler) {
            conn_wait::handler_type h(std::move(*w.handler));
            w.handler.reset();
            asio::post(strand_, [h = std::move(h), ec, got = std::move(got)]() mutable {
                std::move(h)(ec, std::move(got));
            });
        }
    }

    // A returned connection stays open, for a waiter or the idle pool.
    void kept(const conn_ptr& c, const event_sink& sink)
    {
        sink.emit(c->id, [] { return put_idle_conn{}; });
        c->stream.expires_never(); // idle, it has no operation to bound; a waiter's exchange sets its own
    }

    void went_idle(const conn_ptr& c)
    {
        ++c->idle_epoch;
        recycle_buffer(*c); // an idle connection holds no read buffer
        watch_later(c);
    }

    void left_idle(const conn_ptr& c)
    {
        ++c->idle_epoch; // a watcher's late end finds the epoch moved on
        if (c->watched) {
            c->watched = false;
            c->stream.cancel(); // its watcher ends, rather than waking at the response
        }
    }

    // One non-blocking system call: a FIN or bytes that arrived while it was idle make it unusable,
    // unless on TLS the bytes are only a session ticket, which look_through_tls finds out.
    static idle_verdict inspect_idle(const conn_ptr& c)
    {
        const auto fault = c->idle_fault();
        if (!fault)
            return {};
        if (fault == close_reason::stray_bytes_idle && c->tls)
            return {idle_verdict::kind::needs_look};
        return {idle_verdict::kind::stale, *fault};
    }

    // Closes a connection the pool let go while no attempt held it; only client observers hear of it.
    void close_unused(const conn_ptr& c, close_reason why)
    {
        shut_down(c);
        pool_sink().emit(c->id, [&] { return conn_closed{why, c->requests_served, clock::now() - c->created}; });
    }

    // Closes a connection that came back from an exchange and was not pooled.
    void close_returned(const conn_ptr& c, const event_sink& sink, not_pooled_reason why)
    {
        sink.emit(c->id, [&] { return conn_not_pooled{why}; });
        shut_down(c);
        sink.emit(c->id, [&] {
            return conn_closed{close_reason::not_pooled, c->requests_served, clock::now() - c->created};
        });
    }

    // A connection nobody took — its waiter gave up — goes back as after an exchange; its events go
    // to the client's observers only.
    void return_unowned(const conn_ptr& c) { give_back(c, pool_sink(), std::nullopt); }

    void sweep_at(clock::time_point at)
    {
        sweep_.expires_at(at);
        sweep_.async_wait([self = shared_from_this()](error_code ec) {
            if (!ec)
                self->broker_.sweep();
        });
    }

    // Takes the read buffer of a connection going idle, for the next connection that reads: freeing
    // and allocating 16 KiB on every request costs more than the rest of the pool's bookkeeping.
    void recycle_buffer(connection& c)
    {
        c.buffer.clear();
        if (c.buffer.capacity() <= 2 * http1::read_chunk && spare_buffers_.size() < max_spare_buffers)
            spare_buffers_.push_back(std::move(c.buffer)); // leaves c.buffer empty, without memory
        else
            c.buffer.shrink_to_fit();
    }

    // Has `c` watched once it has been idle for watch_delay. Arming a readiness wait re-registers the
    // socket with epoll (a system call): on a connection reused within milliseconds, as under load,
    // that would be one per request. A round of the watchdog arms the waits of the connections
    // still idle then.
    void watch_later(const conn_ptr& c)
    {
        if (c->watch_pending)
            return;
        c->watch_pending = true;
        unwatched_.push_back(c);
        if (!watch_round_.armed())
            watchdog_->arm(watch_round_, clock::now() + watch_delay);
    }

    // The watch round: every connection put idle since the last round that is idle still.
    void watch_idle() noexcept
    {
        std::vector<std::weak_ptr<connection>> due;
        due.swap(unwatched_);
        for (auto& weak : due)
            if (auto c = weak.lock()) {
                c->watch_pending = false;
                if (c->idle && !c->watched)
                    watch(c);
            }
        due.clear();
        if (unwatched_.empty())
            unwatched_.swap(due); // keeps the capacity: the next round's pushes do not allocate
    }

    // Watches an idle connection: readable means the server closed it or sent bytes nobody asked for.
    void watch(const conn_ptr& c)
    {
        c->watched = true;
        c->stream.socket().async_wait(
            asio::socket_base::wait_read,
            [self = shared_from_this(), weak = std::weak_ptr<connection>(c), epoch = c->idle_epoch](error_code ec) {
                auto conn = weak.lock();
                if (conn && conn->idle_epoch == epoch)
                    conn->watched = false; // an older wait's end says nothing about a newer one
                if (!conn || conn->idle_epoch != epoch || !conn->idle || ec == asio::error::operation_aborted)
                    return; // taken for a request, or closed, since
                const idle_verdict look =
                    ec ? idle_verdict{idle_verdict::kind::stale, close_reason::error} : inspect_idle(conn);
                if (look.what == idle_verdict::kind::usable)
                    return self->watch(conn); // readable, yet nothing there: keep watching
                self->broker_.take_out(conn);
                if (look.what == idle_verdict::kind::stale)
                    return self->broker_.close_unused(conn, look.why);
                // Bytes on a TLS connection may be a session ticket or a close_notify: let TLS say.
                asio::co_spawn(self->strand_, look_through_tls(conn),
                               [self, conn](std::exception_ptr e, std::optional<close_reason> tls_fault) mutable {
                                   if (e)
                                       tls_fault = close_reason::error;
                                   if (tls_fault)
                                       return self->broker_.close_unused(conn, *tls_fault);
                                   self->return_unowned(conn);
                               });
            });
    }

    // Reads what arrived on an idle TLS connection through TLS: records TLS handles itself (a TLS 1.3
    // session ticket) leave the connection usable; application data is stray bytes, and a
    // close_notify or a FIN means the server closed it.
    static asio::awaitable<std::optional<close_reason>> look_through_tls(conn_ptr c)
    {
        // The timer below bounds the look, not a deadline of the stream (a pooled one has none).
        c->stream.expires_never();
        asio::steady_timer enough(c->stream.get_executor());
        enough.expires_after(tls_look_time);
        enough.async_wait([weak = std::weak_ptr<connection>(c)](error_code ec) {
            if (auto conn = weak.lock(); conn && !ec)
                conn->stream.socket().cancel(); // nothing but TLS records came: stop reading
        });
        char byte;
        auto* tunneled = c->tunneled_tls();
        auto [ec, n] = tunneled ? co_await tunneled->async_read_some(asio::buffer(&byte, 1), use_tuple)
                                : co_await c->tls->async_read_some(asio::buffer(&byte, 1), use_tuple);
        enough.cancel();
        if (n > 0)
            co_return close_reason::stray_bytes_idle;
        if (ec == asio::error::operation_aborted)
            co_return std::nullopt;
        if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated)
            co_return close_reason::peer_closed_idle;
        co_return close_reason::error;
    }

    // Events of connections no call owns go to the client's observers only.
    event_sink pool_sink() const { return event_sink(&observers_, nullptr, 0, 0); }

    // Makes the transport's TLS configuration (tls_) unless it exists: at the first https attempt, or
    // the first through an https:// proxy. Settings that do not load fail the attempt.
    error_code make_tls()
    {
        try {
            if (!tls_)
                tls_ = std::make_shared<tls_context>(options_.tls);
        } catch (const boost::system::system_error& e) {
            return e.code();
        }
        return {};
    }

    // The pool key of `t`, shared with the previous round trip when it is the same (building one
    // allocates).
    std::shared_ptr<const std::string> key_of(const target& t, const tls_context* own_tls)
    {
        const std::uint64_t tls_id = own_tls ? own_tls->id() + 1 : 0;
        if (!last_key_ || last_key_.tls != t.tls || last_key_.port != t.port || last_key_.tls_id != tls_id
            || last_key_.host != t.host || last_key_.route != t.route) {
            last_key_.key = std::make_shared<const std::string>(pool_key(t, own_tls));
            last_key_.tls = t.tls;
            last_key_.port = t.port;
            last_key_.tls_id = tls_id;
            last_key_.host = t.host;
            last_key_.route = t.route;
        }
        return last_key_.key;
    }

    // "http://example.com:80": the host lowercased and the port always spelled, so that one server
    // has one pool however its URLs spell it. Connections made with a request's own TLS configuration
    // (`own_tls`) are keyed apart: "https://example.com:443#tls7"; so are those through a Unix-domain
    // socket: "http://localhost:80#unix:/run/app.sock", and those through a proxy, by the proxy and
    // the number of its credentials: "https://example.com:443#proxy=http://proxy:3128#auth1".
    std::string pool_key(const target& t, const tls_context* own_tls) const
    {
        const bool bracketed = t.host_is_ip && t.ip.is_v6();
        std::string key = t.tls ? "https://" : "http://";
        if (bracketed)
            key += '[';
        for (char ch : t.host)
            key += ascii_lower(ch);
        key += bracketed ? "]:" : ":";
        key += std::to_string(t.port);
        if (own_tls)
            key.append("#tls").append(std::to_string(own_tls->id()));
        if (!options_.dial.unix_socket.empty())
            key.append("#unix:").append(options_.dial.unix_socket);
        if (t.route)
            key.append(t.route->key_suffix);
        return key;
    }

    // Asks the proxy selector about `t` and routes it: through the proxy chosen (an http URL then
    // goes to an HTTP(S) proxy in absolute form, through a SOCKS5 one in a tunnel), or directly. A route is made once per proxy the selector hands out.
    error_code route(target& t)
    {
        proxy_choice chosen = proxy_(t.scheme(), t.host, t.port);
        if (chosen.error)
            return chosen.error;
        if (!chosen.via)
            return {};
        if (chosen.via->host.empty() || chosen.via->port == 0) // a proxy built in code, not parsed
            return error::invalid_config;
        const bool socks = is_socks(*chosen.via);
        if (socks && (chosen.via->username.size() > 255 || chosen.via->password.size() > 255 // RFC 1929's bytes
                      || (chosen.via->username.empty() && !chosen.via->password.empty()))) // its ULEN is 1 to 255
            return error::invalid_config;
        if (chosen.via->kind == proxy::protocol::socks5h && t.host.size() > 255) // the name's length is one byte
            return error::invalid_url;
        if (!last_route_ || last_route_->via != chosen.via) {
            // Length-prefixed: "a:b" + "c" and "a" + "b:c" are other credentials.
            std::uint64_t& credentials = credential_ids_[std::to_string(chosen.via->username.size()) + ":"
                                                         + chosen.via->username + chosen.via->password];
            if (credentials == 0)
                credentials = credential_ids_.size();
            const bool over_tls = chosen.via->kind == proxy::protocol::https;
            if (over_tls)
                if (auto ec = make_tls())
                    return ec;
            last_route_ = std::make_shared<const proxy_route>(std::move(chosen.via), credentials,
                                                              over_tls ? tls_ : nullptr);
        }
        t.route = last_route_;
        if (!t.tls && !socks) { // http through an HTTP proxy: it gets the whole URL, without user info or fragment
            std::string absolute = "http://";
            absolute.append(t.host_header).append(t.path);
            t.owned_path = std::move(absolute);
            t.path = t.owned_path;
            t.absolute_form = true;
        }
        return {};
    }

    // Transparent retries of one round trip, each after a reused connection failed: a bound against a
    // pool full of connections the server closed at once.

    // Read buffers kept for reuse: enough for the connections that go idle between two requests at
    // once, a bounded amount of memory (at most 32 KiB each).
    static constexpr std::size_t max_spare_buffers = 16;

    // How long a connection is idle before a readiness wait watches it.
    static constexpr auto watch_delay = std::chrono::milliseconds(50);

    // How long a look at an idle TLS connection waits for application data after TLS records.
    static constexpr auto tls_look_time = std::chrono::milliseconds(20);

    transport_options options_;
    observer_list observers_;
    std::shared_ptr<lookup_group> names_; // pins, the DNS cache and shared lookups, for the dials
    proxy_selector proxy_;                // null: no proxy, at no cost per request
    std::shared_ptr<const proxy_route> last_route_; // route()'s memory
    std::map<std::string, std::uint64_t> credential_ids_; // "<user's length>:<user><password>" -> its number in pool keys
    std::shared_ptr<tls_context> tls_; // from options_.tls: made at construction, or by make_tls()
    conn_broker<transport_impl> broker_;
    // Only touched on the strand:
    asio::steady_timer sweep_;      // closes idle connections as they expire
    std::shared_ptr<watchdog> watchdog_; // the deadlines of every connection's operations
    std::vector<boost::beast::flat_buffer> spare_buffers_; // see recycle_buffer
    static constexpr std::size_t max_spare_slots = 64;
    std::vector<std::unique_ptr<inline_slot>> spare_slots_; // see slot_lease
    target_cache targets_;
    struct { // key_of's memory
        std::shared_ptr<const std::string> key;
        bool tls = false;
        std::uint16_t port = 0;
        std::uint64_t tls_id = 0;
        std::string host;
        std::shared_ptr<const proxy_route> route;
        explicit operator bool() const noexcept { return key != nullptr; }
    } last_key_;
    // Connections put idle since the last watch round, and the round itself.
    std::vector<std::weak_ptr<connection>> unwatched_;
    struct watch_round_entry : deadline_entry {
        explicit watch_round_entry(transport_impl& t) : transport(t) {}
        transport_impl& transport;
        void expired() noexcept override { transport.watch_idle(); }
    } watch_round_{*this};
    std::uint64_t last_conn_id_ = 0;
    bool closed_ = false;
    boost::intrusive::list<attempt_record, boost::intrusive::constant_time_size<false>> attempts_;
    std::set<std::shared_ptr<dial>> dials_; // in flight, for close()
    boost::intrusive::list<streamed_body, boost::intrusive::constant_time_size<false>> bodies_; // unfinished
};

void attempt_record::cancel() noexcept { owner.cancel(*this); }

inline_round_tripper* transport_access::inline_bottom(transport& t) noexcept { return t.impl_.get(); }

} // namespace detail

transport::transport(executor ex, transport_options options, std::vector<std::shared_ptr<observer>> observers)
    : impl_(std::make_shared<detail::transport_impl>(ex, std::move(options), std::move(observers)))
{
}

transport::~transport() { impl_->close(); }

void transport::close() { impl_->close(); }

void transport::close_idle() { impl_->close_idle(); }

pool_stats transport::stats() const { return impl_->stats(); }

executor transport::get_executor() const noexcept { return impl_->strand_; }

void transport::do_round_trip(request req, asio::any_completion_handler<signature> handler)
{
    impl_->start(std::move(req), std::move(handler));
}

} // namespace roundtrip
