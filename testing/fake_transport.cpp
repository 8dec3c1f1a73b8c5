// The fake transport: each attempt plays one scripted answer through the phases of a real one,
// emitting the same events, over connections that exist only as ids in an idle pool.
#include <roundtrip/testing/fake_transport.hpp>

#include <roundtrip/attempt_events.hpp>
#include <roundtrip/body_source.hpp>
#include <roundtrip/error.hpp>
#include <roundtrip/request.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <optional>
#include <mutex>
#include <thread>

namespace roundtrip::testing {

namespace {

// Where a request goes, as the transport reads its URL.
struct destination {
    std::string scheme;
    std::string host; // without brackets
    std::uint16_t port = 0;
    bool ip_literal = false;

    std::string pool_key() const { return scheme + "://" + host + ":" + std::to_string(port); }
};

// The request's origin, read as the transport reads it (origin_of).
bool parse(const request& req, destination& d)
{
    std::optional<origin> o = origin_of(req);
    if (!o)
        return false;
    error_code not_an_ip;
    asio::ip::make_address(o->host, not_an_ip);
    d = destination{std::move(o->scheme), std::move(o->host), o->port, !not_an_ip};
    return true;
}

struct fake_conn {
    std::uint64_t id = 0;
    std::uint64_t served = 0; // requests completed on it
    clock::time_point opened;
    clock::time_point idle_since;
};

// The bytes roundtrip's transport would write for `req` with these headers: the request line, Host,
// the fields, Content-Length, the blank line and the body.
std::uint64_t wire_size(const request& req, const header_fields& headers, std::size_t body)
{
    std::uint64_t n = req.method.size() + 1 + 11; // "GET " + target + " HTTP/1.1\r\n"
    auto u = boost::urls::parse_uri(req.url);
    n += u ? std::max<std::size_t>(u->encoded_target().size(), 1) : 1;
    n += 6 + (u ? u->encoded_host_and_port().size() : 0) + 2; // "Host: " + the URL's authority + "\r\n"
    for (const auto& f : headers)
        n += f.name_string().size() + 2 + f.value().size() + 2;
    if (body > 0)
        n += 16 + std::to_string(body).size() + 2;
    return n + 2 + body;
}

// Runs `handler` on its associated executor (`fallback` when it has none), through `call(handler)`.
// The executor is held with outstanding work until the hand-off returns: the caller's io_context
// cannot run out of work, and a client that owns it cannot be destroyed, while this thread still
// refers to its executor.
template <class Handler, class Call>
void complete(Handler handler, const executor& fallback, Call call)
{
    auto ex = asio::prefer(asio::get_associated_executor(handler, fallback), asio::execution::outstanding_work.tracked);
    ex.execute([h = std::move(handler), call = std::move(call)]() mutable { call(h); });
}

} // namespace

struct fake_transport::owned_thread {
    asio::io_context context;
    asio::executor_work_guard<asio::io_context::executor_type> work{context.get_executor()};
    std::thread thread{[this] { context.run(); }};

    ~owned_thread()
    {
        work.reset();
        context.stop();
        thread.join();
    }
};

struct fake_transport::state : std::enable_shared_from_this<state> {
    executor strand; // for round trips outside a client call; a call's attempts run on its client's strand
    fake_options options;

    // Guards everything below: clients on different strands may share one fake. Never held while
    // events are delivered.
    mutable std::mutex mutex;
    std::deque<answer> script;
    std::function<answer(const request&, std::uint32_t)> respond;
    std::vector<received_request> log;
    std::size_t attempts = 0;
    std::size_t connections = 0;
    std::map<std::string, std::vector<fake_conn>> idle;
    std::uint64_t last_conn_id = 0;

    // The most recently used idle connection of `key`, if any. `made_up_if_none`: one that served a
    // request earlier, for the stale-connection fault on an empty pool.
    std::optional<fake_conn> take_idle(const std::string& key, bool made_up_if_none)
    {
        std::lock_guard lock(mutex);
        auto& pool = idle[key];
        if (pool.empty()) {
            if (!made_up_if_none)
                return std::nullopt;
            return fake_conn{++last_conn_id, 1, clock::now(), clock::now()};
        }
        fake_conn c = pool.back();
        pool.pop_back();
        return c;
    }

    state(executor s, fake_options o) : strand(std::move(s)), options(std::move(o)) {}

    answer next_answer(const request& req, std::uint32_t attempt)
    {
        std::function<answer(const request&, std::uint32_t)> f;
        {
            std::lock_guard lock(mutex);
            ++attempts;
            if (!script.empty()) {
                answer a = std::move(script.front());
                script.pop_front();
                return a;
            }
            f = respond;
        }
        return f ? f(req, attempt) : answer{};
    }

    endpoint remote(const destination& d) const { return endpoint(options.address, d.port); }
    static endpoint local(const fake_conn& c)
    {
        return endpoint(asio::ip::make_address_v4("127.0.0.1"), static_cast<std::uint16_t>(40000 + c.id % 20000));
    }

    fake_conn open(const destination& d, const attempt_events& ev)
    {
        fake_conn c;
        {
            std::lock_guard lock(mutex);
            ++connections;
            c = fake_conn{++last_conn_id, 0, clock::now(), {}};
        }
        if (!d.ip_literal) {
            ev.emit(c.id, [&] { return dns_start{d.host}; });
            const clock::time_point resolving = clock::now();
            const endpoint found[] = {remote(d)};
            ev.emit(c.id, [&] { return dns_done{found, {}, clock::now() - resolving}; });
        }
        return c;
    }

    // Returns the connection to the idle pool, or closes it when the server will not keep it.
    void give_back(fake_conn c, const std::string& key, const attempt_events& ev, bool keep_alive)
    {
        ++c.served;
        if (!keep_alive) {
            ev.emit(c.id, [] { return conn_not_pooled{not_pooled_reason::connection_close}; });
            return close(c, ev);
        }
        ev.emit(c.id, [] { return put_idle_conn{}; });
        c.idle_since = clock::now();
        std::lock_guard lock(mutex);
        idle[key].push_back(c);
    }

    void close(const fake_conn& c, const attempt_events& ev)
    {
        ev.emit(c.id, [&] { return conn_closed{close_reason::not_pooled, c.served, clock::now() - c.opened}; });
    }

    // Closes the connection the attempt could not finish with.
    void fail(const fake_conn& c, const attempt_events& ev, not_pooled_reason why)
    {
        ev.emit(c.id, [&] { return conn_not_pooled{why}; });
        close(c, ev);
    }
    void fail(const fake_conn& c, const attempt_events& ev, error_code why, result& r)
    {
        fail(c, ev, not_pooled_reason::broken);
        r.error = why;
    }

    // Waits until `until` or the call's deadline; returns the error that ends the wait early:
    // deadline_exceeded, canceled, or `at_until` when `until` came first and is itself a failure.
    asio::awaitable<error_code> wait(clock::time_point until, const request& req, error_code at_until)
    {
        asio::steady_timer timer(co_await asio::this_coro::executor);
        const bool deadline_first = req.deadline() <= until;
        timer.expires_at(deadline_first ? req.deadline() : until);
        auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        if (ec)
            co_return error::canceled;
        co_return deadline_first ? error_code(error::deadline_exceeded) : at_until;
    }

    // Reads a streamed request body to its end, as the transport would while writing it.
    static asio::awaitable<error_code> read_body(body_source& source, std::string& into)
    {
        char chunk[4096];
        auto token = asio::as_tuple(asio::use_awaitable);
        // Named, not a temporary in the co_await operand: GCC 12 destroys such a lambda twice.
        const auto read = [&](auto handler) { source.async_read_some(asio::buffer(chunk), std::move(handler)); };
        for (;;) {
            auto [ec, n] = co_await asio::async_initiate<decltype(token), void(error_code, std::size_t)>(read, token);
            if (ec == asio::error::eof)
                co_return error_code{};
            if (ec)
                co_return as_roundtrip_error(ec);
            into.append(chunk, n);
        }
    }

    // Plays one attempt into `r`; `asked` is set when it emitted get_conn.
    asio::awaitable<void> attempt(const request& req, const destination& d, const attempt_events& ev, result& r,
                                  clock::time_point& asked, bool transparent_retry);
    static asio::awaitable<result> round_trip(std::shared_ptr<state> self, request req);

    // A streamed response body served from memory. Its end returns the connection, as the transport's
    // streamed bodies do.
    class memory_body final : public detail::body_channel {
    public:
        memory_body(std::shared_ptr<state> s, executor ex, fake_conn c, std::string key, attempt_events ev,
                    std::string body, bool keep_alive)
            : s_(std::move(s)), ex_(std::move(ex)), c_(c), key_(std::move(key)), ev_(std::move(ev)),
              body_(std::move(body)), keep_alive_(keep_alive)
        {
        }

        void read_some(asio::mutable_buffer into, read_handler handler) override
        {
            // Posted, never run inline: the handler must not run inside this call.
            asio::post(ex_, [this, self = shared(), into, h = std::move(handler)]() mutable {
                const std::size_t n = std::min(into.size(), body_.size() - at_);
                std::memcpy(into.data(), body_.data() + at_, n);
                at_ += n;
                const error_code ec = n == 0 && into.size() > 0 ? error_code(asio::error::eof) : error_code{};
                if (at_ == body_.size())
                    end();
                complete(std::move(h), ex_, [ec, n](auto& done) { std::move(done)(ec, n); });
            });
        }

        // A reader dropped without a single read closes the connection at once; otherwise (or when
        // the body is discarded on purpose) what is left is drained when it is within the transport's
        // bound, 64 KiB, and the connection pooled.
        void release() noexcept override { give_up(false); }
        void discard() noexcept override { give_up(true); }

        executor get_executor() const noexcept override { return ex_; }

        void bind(std::weak_ptr<memory_body> self) { self_ = std::move(self); }

    private:
        static constexpr std::size_t drain_bytes = 64 * 1024;

        std::shared_ptr<memory_body> shared() { return self_.lock(); }

        void give_up(bool discarded) noexcept
        {
            try {
                asio::post(ex_, [self = shared(), discarded] {
                    if (self->ended_)
                        return;
                    if ((self->at_ == 0 && !discarded) || self->body_.size() - self->at_ > drain_bytes)
                        return self->end(error::canceled);
                    self->at_ = self->body_.size();
                    self->end();
                });
            } catch (...) {
                // Out of memory: the connection stays unreturned, as a leaked one would.
            }
        }

        // The body's end: read (or drained) to its last byte, or given up with `why`.
        void end(error_code why = {})
        {
            if (ended_)
                return;
            ended_ = true;
            ev_.emit(c_.id, [&] { return response_body_done{at_, why}; });
            if (why)
                return s_->fail(c_, ev_, not_pooled_reason::body_not_drained);
            s_->give_back(c_, key_, ev_, keep_alive_);
        }

        std::shared_ptr<state> s_;
        executor ex_; // where the attempt ran: the client's strand
        fake_conn c_;
        std::string key_;
        attempt_events ev_;
        std::string body_;
        bool keep_alive_;
        std::size_t at_ = 0;
        bool ended_ = false;
        std::weak_ptr<memory_body> self_;
    };
};

namespace {

bool has_field(const std::vector<std::pair<std::string, std::string>>& fields, std::string_view name)
{
    return std::any_of(fields.begin(), fields.end(), [&](const auto& f) {
        return boost::beast::iequals(f.first, name);
    });
}

} // namespace

asio::awaitable<void> fake_transport::state::attempt(const request& req, const destination& d,
                                                     const attempt_events& ev, result& r, clock::time_point& asked,
                                                     bool transparent_retry)
{
    ev.emit(0, [&] { return get_conn{d.scheme, d.host, d.port, req.method, req.url, transparent_retry}; });
    asked = clock::now();
    answer a = next_answer(req, ev.attempt());
    const std::string key = d.pool_key();

    // A connection: an idle one (a stale one is always idle, made up if the pool has none), or new.
    fake_conn c;
    bool was_idle = false;
    auto not_reused = req.new_connection ? not_reused_reason::new_connection_requested : not_reused_reason::no_idle;
    if (a.fault == fault::stale_pooled_connection && req.new_connection)
        a.fault = fault::none; // a request that wants a new connection never gets a pooled one
    // A refused connect is a new connection's: the idle pool is passed over, as for new_connection.
    std::optional<fake_conn> pooled;
    if (!req.new_connection && a.fault != fault::refuse_connect)
        pooled = take_idle(key, a.fault == fault::stale_pooled_connection);
    if (pooled) {
        c = *pooled;
        was_idle = true;
        not_reused = not_reused_reason::none;
    } else {
        c = open(d, ev);
        const endpoint to = remote(d);
        ev.emit(c.id, [&] { return connect_start{to}; });
        const clock::time_point connecting = clock::now();
        if (a.fault == fault::refuse_connect) {
            ev.emit(c.id, [&] { return connect_done{to, asio::error::connection_refused, clock::now() - connecting}; });
            r.error = error::connection_refused;
            co_return;
        }
        ev.emit(c.id, [&] { return connect_done{to, {}, clock::now() - connecting}; });
        if (d.scheme == "https") {
            ev.emit(c.id, [&] { return tls_handshake_start{d.ip_literal ? std::string_view() : d.host}; });
            const clock::time_point handshaking = clock::now();
            const std::string subject = "CN = " + d.host;
            ev.emit(c.id, [&] {
                tls_handshake_done done{{}, "TLSv1.3", "TLS_AES_128_GCM_SHA256", "http/1.1", false, subject};
                done.took = clock::now() - handshaking;
                return done;
            });
        }
    }
    const bool reused = c.served > 0;
    r.attempt.conn = c.id;
    r.attempt.reused = reused;
    ev.emit(c.id, [&] {
        const clock::duration idle_for = was_idle ? clock::now() - c.idle_since : clock::duration{};
        return got_conn{reused, was_idle, idle_for, local(c), remote(d), not_reused, false};
    });

    received_request got{ev.call(), ev.attempt(), req.method, req.url, req.headers, req.body, req.new_connection};
    ev.stamp_headers(got.headers);
    attempt_events::request_write_started(req);
    r.attempt.progress = request_progress::possibly_processed;
    ev.emit(c.id, [] { return wrote_headers{}; });
    if (req.body_stream) {
        got.body.clear();
        error_code ec = co_await read_body(*req.body_stream, got.body);
        if (const auto announced = req.body_stream->length(); !ec && announced && *announced != got.body.size())
            ec = error::body_length_mismatch;
        if (ec) {
            ev.emit(c.id, [&] { return wrote_request{0, ec}; });
            fail(c, ev, ec, r);
            co_return;
        }
        attempt_events::request_body_sent(req); // the client tells the source its body went out
    }
    const std::uint64_t bytes = wire_size(req, got.headers, got.body.size());
    {
        std::lock_guard lock(mutex);
        log.push_back(std::move(got));
    }
    ev.emit(c.id, [&] { return wrote_request{bytes, {}}; });

    switch (a.fault) {
    case fault::reset_after_wrote_request:
        fail(c, ev, error::connection_reset, r);
        co_return;
    case fault::stale_pooled_connection:
        fail(c, ev, error::unexpected_eof, r);
        co_return;
    case fault::stall_before_first_byte:
        fail(c, ev,
             co_await wait(clock::now() + options.response_header_timeout, req, error::response_header_timeout), r);
        co_return;
    default:
        break;
    }
    if (a.delay > clock::duration{})
        if (auto ec = co_await wait(clock::now() + a.delay, req, {})) {
            fail(c, ev, ec, r);
            co_return;
        }

    r.attempt.progress = request_progress::response_started;
    ev.emit(c.id, [] { return got_first_response_byte{}; });
    response& resp = r.response;
    resp.status = a.status;
    if (const auto known = boost::beast::http::int_to_status(a.status); known != boost::beast::http::status::unknown)
        resp.reason = std::string(boost::beast::http::obsolete_reason(known)); // "Created", as servers send
    const bool bodiless = req.method == "HEAD" || a.status == 204 || a.status == 304 || a.status < 200;
    if (bodiless)
        a.body.clear();
    for (auto& [name, value] : a.headers)
        resp.headers.insert(name, value);
    if (!bodiless && !has_field(a.headers, "Content-Length"))
        resp.headers.set(boost::beast::http::field::content_length, std::to_string(a.body.size()));
    if (!a.keep_alive && !has_field(a.headers, "Connection"))
        resp.headers.set(boost::beast::http::field::connection, "close");
    ev.emit(c.id, [&] { return response_headers{a.status, 11}; });

    if (req.stream_response && !a.body.empty()) {
        auto body = std::make_shared<memory_body>(shared_from_this(), co_await asio::this_coro::executor, c, key, ev,
                                                  std::move(a.body), a.keep_alive);
        body->bind(body);
        resp.body_stream = body_reader(std::move(body));
        co_return;
    }
    ev.emit(c.id, [&] { return response_body_done{a.body.size(), {}}; });
    resp.body = std::move(a.body);
    give_back(c, key, ev, a.keep_alive);
    co_return;
}

asio::awaitable<result> fake_transport::state::round_trip(std::shared_ptr<state> self, request req)
{
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    result r;
    destination d;
    if (!parse(req, d)) {
        r.error = error::invalid_url; // refused before asking for a connection: no events, as the transport
        co_return r;
    }
    // As roundtrip's transport: a reused connection that failed before any response byte is retried on
    // another connection when resending is safe.
    for (int transparent_retries = 0;; ++transparent_retries) {
        const attempt_events ev(req, self->options.observers);
        r = result{};
        r.attempt.attempts = ev.attempt();
        clock::time_point asked;
        co_await self->attempt(req, d, ev, r, asked, transparent_retries > 0);
        ev.emit(r.attempt.conn, [&] {
            return attempt_done{r.error, r.error ? 0u : r.response.status, clock::now() - asked};
        });
        if (!attempt_events::retries_transparently(req, r)
            || transparent_retries >= attempt_events::max_transparent_retries || clock::now() >= req.deadline())
            co_return r;
    }
}

fake_transport::fake_transport(fake_options options)
    : thread_(std::make_unique<owned_thread>()),
      state_(std::make_shared<state>(asio::make_strand(thread_->context), std::move(options)))
{
}

fake_transport::fake_transport(executor ex, fake_options options)
    : state_(std::make_shared<state>(asio::make_strand(ex), std::move(options)))
{
}

fake_transport::~fake_transport() = default;

void fake_transport::push(answer a)
{
    std::lock_guard lock(state_->mutex);
    state_->script.push_back(std::move(a));
}

void fake_transport::respond_with(std::function<answer(const request&, std::uint32_t)> f)
{
    std::lock_guard lock(state_->mutex);
    state_->respond = std::move(f);
}

std::vector<received_request> fake_transport::requests() const
{
    std::lock_guard lock(state_->mutex);
    return state_->log;
}

std::size_t fake_transport::attempts() const
{
    std::lock_guard lock(state_->mutex);
    return state_->attempts;
}

std::size_t fake_transport::connections() const
{
    std::lock_guard lock(state_->mutex);
    return state_->connections;
}

executor fake_transport::get_executor() const noexcept
{
    return state_->strand;
}

void fake_transport::do_round_trip(request req, asio::any_completion_handler<signature> handler)
{
    // On the call's strand, as the transport runs: events reach observers there, and the call's state
    // is only touched there. Outside a client call, on the fake's own strand.
    executor runs_on = attempt_events::call_executor(req);
    if (!runs_on)
        runs_on = state_->strand;
    // Asio's per-operation cancellation is not thread-safe, and a caller outside a client may emit on
    // another executor: its slot only relays the cancellation to a signal emitted where the attempt runs.
    auto slot = asio::get_associated_cancellation_slot(handler);
    auto relay = std::make_shared<asio::cancellation_signal>();
    if (slot.is_connected())
        slot.assign([relay, runs_on](asio::cancellation_type type) {
            asio::post(runs_on, [relay, type] { relay->emit(type); });
        });
    // The completion given to co_spawn holds nothing of the caller's executor: a coroutine frame is
    // destroyed after its completion ran, and by then the caller may be gone.
    auto caller = std::make_shared<std::optional<asio::any_completion_handler<signature>>>();
    caller->emplace(std::move(handler)); // emplaced, never move-assigned (Boost 1.81)
    asio::co_spawn(runs_on, state::round_trip(state_, std::move(req)),
                   asio::bind_cancellation_slot(relay->slot(), [this_strand = state_->strand, caller, slot,
                                                                 relay](std::exception_ptr e, result r) {
                       if (e) {
                           r = result{};
                           r.error = error::io_failed;
                       }
                       asio::any_completion_handler<signature> h(std::move(**caller));
                       complete(std::move(h), this_strand, [slot, r = std::move(r)](auto& done) mutable {
                           if (slot.is_connected())
                               slot.clear(); // on the caller's executor, where it emits
                           std::move(done)(std::move(r));
                       });
                   }));
}

} // namespace roundtrip::testing
