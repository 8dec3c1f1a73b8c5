// The client: one strand for all of its work, a chain over a transport, and the calls in flight
// (so that close() can cancel them).
#include "call_state.hpp"
#include "chain.hpp"
#include "completion.hpp"
#include "error_from_exception.hpp"
#include "event_sink.hpp"
#include "time.hpp"

#include <roundtrip/body_source.hpp>
#include <roundtrip/client.hpp>
#include <roundtrip/error.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/recycling_allocator.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/assert.hpp>
#include <boost/intrusive/list.hpp>

#include <future>
#include <optional>
#include <thread>

namespace roundtrip {
namespace detail {

// One call in flight. Only touched on the client's strand, except `signal`'s slot, which co_spawn
// connects when the call starts.
struct call_record
    : boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>> {
    explicit call_record(request&& r) : req(std::move(r)) {}

    call_state state;
    asio::cancellation_signal signal; // cancels the call's coroutine: the caller's slot and close()
    // The request until the chain takes it, and the call's outcome. Here rather than in the call's
    // coroutine frame: with them that frame is too large for Asio to recycle (a malloc per call).
    request req;
    result outcome;
};

// A strand of an io_context's own executor type when the client is given one: a strand of the
// type-erased any_io_executor would query its inner executor, allocating, on every hop (measured:
// most of a request's heap allocations).
executor make_client_strand(const executor& ex)
{
    if (auto* io = ex.target<asio::io_context::executor_type>())
        return asio::make_strand(*io);
    return asio::make_strand(ex);
}

class client_impl : public std::enable_shared_from_this<client_impl> {
public:
    client_impl(executor ex, client_options options)
        : strand_(make_client_strand(ex)), observers_(collect_observers(options)),
          given_bottom_(std::move(options.bottom)), own_transport_(make_own_transport(options)),
          chain_(options.middleware, bottom(),
                 own_transport_ ? transport_access::inline_bottom(*own_transport_) : nullptr, strand_),
          timeout_(options.timeout)
    {
    }

    // `delivers_itself`: the handler runs itself on its own executor (unwrap_result), so it is
    // invoked as it is; any other is dispatched to its associated executor.
    void start(request&& req, asio::any_completion_handler<void(result)> handler, bool delivers_itself)
    {
        // From Asio's per-thread recycling cache, as coroutine frames are: a call would otherwise be
        // the one heap allocation a keep-alive request makes for roundtrip's own bookkeeping.
        auto call = std::allocate_shared<call_record>(asio::recycling_allocator<call_record>(), std::move(req));
        auto user_slot = asio::get_associated_cancellation_slot(handler);
        if (user_slot.is_connected())
            user_slot.assign([call, strand = strand_](asio::cancellation_type type) {
                // co_spawn passes terminal cancellation only: the type is judged here.
                asio::dispatch(strand, [call, type] {
                    if (honours(type, call->state))
                        cancel(*call);
                });
            });
        asio::co_spawn(strand_, run(shared_from_this(), call),
                       asio::bind_cancellation_slot(
                           call->signal.slot(),
                           [call, strand = strand_, h = std::move(handler),
                            delivers_itself](std::exception_ptr e) mutable {
                               auto slot = asio::get_associated_cancellation_slot(h);
                               if (slot.is_connected())
                                   slot.clear();
                               result r = std::move(call->outcome);
                               if (e)
                                   r.error = error_from_exception(e);
                               call->unlink();
                               if (delivers_itself)
                                   std::move(h)(std::move(r));
                               else
                                   dispatch_completion(strand, std::move(h), std::move(r));
                           }));
    }

    void close()
    {
        asio::dispatch(strand_, [self = shared_from_this()] {
            self->closed_ = true;
            // Cancelling never completes a call inline, so the list stays intact while we walk it.
            for (auto& c : self->calls_)
                cancel(c);
            if (self->own_transport_)
                self->own_transport_->close();
        });
    }

    executor strand_; // a strand of the executor the client was given

    // Whether the calling thread runs the client's strand now.
    bool on_strand() const noexcept
    {
        if (auto* s = strand_.target<asio::strand<asio::io_context::executor_type>>())
            return s->running_in_this_thread();
        if (auto* s = strand_.target<client_strand>())
            return s->running_in_this_thread();
        return false;
    }

    // The round tripper beneath the chain: the one the options gave, else the client's own transport.
    round_tripper& bottom() noexcept
    {
        return own_transport_ ? static_cast<round_tripper&>(*own_transport_) : *given_bottom_;
    }

    // The bottom as a pooling transport, if it is one: what stats() and close_idle() reach.
    roundtrip::transport* pooling_bottom() noexcept
    {
        return own_transport_ ? &*own_transport_ : dynamic_cast<roundtrip::transport*>(given_bottom_.get());
    }

private:
    // Called after given_bottom_ took options.bottom.
    std::optional<roundtrip::transport> make_own_transport(client_options& options) const
    {
        if (given_bottom_)
            return std::nullopt;
        return std::optional<roundtrip::transport>(std::in_place, strand_, std::move(options.transport), observers_);
    }

    // Ends a call: first the attempts it runs inline (so that they end with error::canceled, their
    // connections handled as cancellation wants), then its coroutine (a middleware's wait, or an
    // attempt a bottom of another kind runs).
    static void cancel(call_record& call)
    {
        call.state.cancel_inline_attempts();
        call.signal.emit(asio::cancellation_type::terminal);
    }

    static observer_list collect_observers(const client_options& options)
    {
        observer_list all = options.observers;
        for (auto& o : chain::client_observers(options.middleware))
            all.push_back(std::move(o));
        return all;
    }

    // The call's coroutine: its outcome goes to call->outcome.
    static asio::awaitable<void> run(std::shared_ptr<client_impl> self, std::shared_ptr<call_record> call)
    {
        result& r = call->outcome;
        request& req = call->req;
        if (self->closed_) {
            r.error = error::canceled;
            if (req.body_stream) // its writer must hear of it, as after any call
                finish_body_source(*req.body_stream, call->state, r.error);
            co_return;
        }
        self->calls_.push_back(*call);
        call->state.id = ++self->last_call_id_;
        call->state.client_observers = &self->observers_;
        call->state.strand = &self->strand_;
        call->state.coroutine_slot = (co_await asio::this_coro::cancellation_state).slot();
        const clock::duration timeout = req.timeout > clock::duration::zero() ? req.timeout : self->timeout_;
        if (timeout > clock::duration::zero())
            req.set_deadline(bounded(timeout, req.deadline()));
        request_access::set_call(req, std::shared_ptr<call_state>(call, &call->state));

        const event_sink sink(&self->observers_, nullptr, call->state.id, 0);
        sink.emit(0, [&] { return call_start{req.method, req.url}; });
        const clock::time_point started = sink.active() ? clock::now() : clock::time_point{};
        const std::shared_ptr<body_source> body = req.body_stream;
        try {
            r = co_await self->chain_.first()(std::move(req)); // errors are results; this catches only
        } catch (...) {                                        // what no layer could (bad_alloc)
            r = result{};
            r.error = error_from_exception(std::current_exception());
        }
        r.error = as_roundtrip_error(r.error); // a middleware's system_error, say
        if (body)
            finish_body_source(*body, call->state, r.error);
        sink.emit(0, [&] { return call_done{r.error, r.error ? 0u : r.response.status, clock::now() - started}; });
    }

    observer_list observers_;
    std::shared_ptr<round_tripper> given_bottom_; // client_options::bottom
    std::optional<roundtrip::transport> own_transport_; // when none was given
    chain chain_;
    clock::duration timeout_;
    // Only touched on the strand:
    std::uint64_t last_call_id_ = 0;
    bool closed_ = false;
    boost::intrusive::list<call_record, boost::intrusive::constant_time_size<false>> calls_;
};

// The thread and io_context of a client built without an executor.
struct owned_context {
    asio::io_context io{1};
    asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
    std::thread thread{[this] { io.run(); }};

    // Also when the client's construction throws (an unreadable TLS file): the thread must end.
    ~owned_context()
    {
        work.reset();
        if (thread.joinable())
            thread.join();
    }
};

} // namespace detail

client::client(client_options options)
    : owned_(std::make_unique<detail::owned_context>()),
      impl_(std::make_shared<detail::client_impl>(owned_->io.get_executor(), std::move(options)))
{
}

client::client(executor ex, client_options options)
    : impl_(std::make_shared<detail::client_impl>(std::move(ex), std::move(options)))
{
}

client::~client()
{
    impl_->close();
    if (owned_) {
        BOOST_ASSERT_MSG(owned_->thread.get_id() != std::this_thread::get_id(),
                         "roundtrip::client destroyed from a handler on its own thread: it would join itself");
        // Calls complete with `canceled` on the owned thread; then nothing is left to run.
        impl_.reset();
        owned_->work.reset();
        owned_->thread.join();
    }
}

void client::do_round_trip(request req, asio::any_completion_handler<signature> handler)
{
    impl_->start(std::move(req), std::move(handler), false);
}

void client::send_delivering(request&& req, asio::any_completion_handler<signature> handler)
{
    impl_->start(std::move(req), std::move(handler), true);
}

result client::round_trip(request req)
{
    BOOST_ASSERT_MSG(!impl_->on_strand(),
                     "roundtrip::client: a blocking send on the client's own strand would wait for itself");
    std::promise<result> done;
    auto outcome = done.get_future();
    async_round_trip(std::move(req), [&done](result r) { done.set_value(std::move(r)); });
    return outcome.get();
}

response client::send(request req, error_code& ec)
{
    result r = round_trip(std::move(req));
    ec = r.error;
    return std::move(r.response);
}

response client::send(request req)
{
    error_code ec;
    response resp = send(std::move(req), ec);
    if (ec)
        throw call_failed(ec);
    return resp;
}

void client::close() { impl_->close(); }

void client::close_idle()
{
    if (auto* t = impl_->pooling_bottom())
        t->close_idle();
}

pool_stats client::stats() const
{
    auto* t = impl_->pooling_bottom();
    return t ? t->stats() : pool_stats{};
}

executor client::get_executor() const noexcept { return impl_->strand_; }

} // namespace roundtrip
