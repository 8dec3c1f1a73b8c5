// See streamed_body.hpp.
#include "streamed_body.hpp"

#include "completion.hpp"

#include <roundtrip/error.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/system_executor.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace roundtrip {

namespace detail {

streamed_body::streamed_body(executor strand, std::shared_ptr<connection_home> home, conn_ptr c, event_sink sink,
                             const http1::exchange_scope& x)
    : strand_(std::move(strand)), home_(std::move(home)), conn_(std::move(c)), sink_(std::move(sink)),
      reads_(x.reads()), close_after_(x.close_after)
{
    reads_.stop = &stop_;
#ifndef NDEBUG
    debug_name_ = "call " + std::to_string(sink_.call()) + " (" + x.req.method + " " + x.where.host + ":"
                  + std::to_string(x.where.port) + ")";
#endif
}

void streamed_body::read_some(asio::mutable_buffer into, read_handler handler)
{
    std::unique_lock lock(gate_);
    if (detached_) {
        lock.unlock();
        auto [ec, n] = read_detached(into);
        return post_completion(std::move(handler), ec, n);
    }
    // Posted under the gate, so the body cannot let go of the strand in between.
    asio::post(strand_, [self = shared_from_this(), into, h = std::move(handler)]() mutable {
        if (self->detached_) { // ended or closed after this read was posted: the strand may be let go
            auto [ec, n] = self->read_detached(into);
            return post_completion(std::move(h), ec, n);
        }
        self->ever_read_ = true;
        self->reading_ = true;
        asio::co_spawn(self->strand_, self->read_body(into),
                       [self, h = std::move(h)](std::exception_ptr e, std::pair<error_code, std::size_t> r) mutable {
                           self->reading_ = false;
                           if (e && self->conn_) // only Asio itself can throw here
                               self->end(error::canceled, not_pooled_reason::broken);
                           dispatch_completion(self->strand_, std::move(h), e ? self->end_ : r.first, r.second);
                           if (self->released_)
                               self->without_reader();
                           self->let_go_if_detached();
                       });
    });
}

std::pair<error_code, std::size_t> streamed_body::read_detached(asio::mutable_buffer into)
{
    if (into.size() == 0)
        return {error_code{}, 0};
    if (tail_read_ < tail_.size())
        return {error_code{}, take_from_tail(into)};
    return {end_ ? end_ : error_code(asio::error::eof), 0};
}

executor streamed_body::get_executor() const noexcept
{
    std::lock_guard lock(gate_);
    if (detached_ && !strand_) // let go of with its transport: reads complete without it
        return executor(asio::system_executor());
    return strand_;
}

std::size_t streamed_body::take_from_tail(asio::mutable_buffer into)
{
    const std::size_t n = std::min(into.size(), tail_.size() - tail_read_);
    std::memcpy(into.data(), tail_.data() + tail_read_, n);
    tail_read_ += n;
    return n;
}

asio::awaitable<std::pair<error_code, std::size_t>> streamed_body::read_body(asio::mutable_buffer into)
{
    const auto end_of_body = [this] { return std::pair{end_ ? end_ : error_code(asio::error::eof), std::size_t{0}}; };
    if (into.size() == 0)
        co_return std::pair{error_code{}, std::size_t{0}};
    if (tail_read_ < tail_.size())
        co_return std::pair{error_code{}, take_from_tail(into)};
    if (!conn_)
        co_return end_of_body();
    if (stop_.canceled()) {
        end(error::canceled, not_pooled_reason::broken);
        co_return end_of_body();
    }
    auto& parser = *conn_->in.parser;
    if (parser.get().body().empty() && !parser.is_done()) {
        auto ready = [&parser] { return parser.is_done() || !parser.get().body().empty(); };
        const auto read_more = [&](auto& s) { return http1::read(s, *conn_, ready, reads_); };
        if (auto ec = co_await conn_->on_stream(read_more)) {
            end(ec, http1::refusal_after_error(ec));
            co_return end_of_body();
        }
    }
    // Swapping keeps both strings' storage: the parser refills the one the caller has emptied.
    tail_.clear();
    tail_.swap(parser.get().body());
    tail_read_ = 0;
    received_ += tail_.size();
    if (parser.is_done())
        end({}, http1::refusal_after_body(*conn_, close_after_));
    if (tail_.empty())
        co_return end_of_body();
    co_return std::pair{error_code{}, take_from_tail(into)};
}

void streamed_body::end(error_code ec, std::optional<not_pooled_reason> refused)
{
    end_ = as_roundtrip_error(ec);
    sink_.emit(conn_->id, [&] { return response_body_done{received_, end_}; });
    home_->give_back(std::move(conn_), sink_, refused);
    unlink();
    // From here reads are answered from what is left in tail_, without the strand.
    std::lock_guard lock(gate_);
    detached_ = true;
}

void streamed_body::release() noexcept { give_up(false); }

void streamed_body::discard() noexcept { give_up(true); }

void streamed_body::give_up(bool discarded) noexcept
{
    std::lock_guard lock(gate_);
    if (detached_)
        return; // ended already: nothing holds a connection
    try {
        asio::post(strand_, [self = shared_from_this(), discarded] {
            self->released_ = true;
            self->discarded_ = discarded;
            if (!self->reading_ && !self->detached_)
                self->without_reader();
        });
    } catch (...) {
        // Out of memory: the transport's close() still ends the connection.
    }
}

void streamed_body::without_reader()
{
    if (!conn_)
        return;
    if (!ever_read_ && !discarded_) {
#ifndef NDEBUG
        std::fprintf(stderr, "roundtrip: %s: streamed response body dropped unread; connection closed\n",
                     debug_name_.c_str());
#endif
        end(error::canceled, not_pooled_reason::body_not_drained);
        return let_go_if_detached();
    }
    draining_ = true;
    asio::co_spawn(strand_, drain(), [self = shared_from_this()](std::exception_ptr) {
        self->draining_ = false;
        if (self->conn_)
            self->end(error::canceled, not_pooled_reason::body_not_drained);
        self->let_go_if_detached();
    });
}

asio::awaitable<void> streamed_body::drain()
{
    auto& parser = *conn_->in.parser;
    if (auto left = parser.content_length_remaining(); left && *left > drain_bytes)
        co_return end(error::canceled, not_pooled_reason::body_not_drained);
    http1::read_scope bounded_reads = reads_;
    bounded_reads.deadline = std::min(reads_.deadline, clock::now() + drain_time);
    const std::uint64_t limit = received_ + drain_bytes;
    auto ready = [&parser] { return parser.is_done() || !parser.get().body().empty(); };
    while (!parser.is_done()) {
        const auto read_more = [&](auto& s) { return http1::read(s, *conn_, ready, bounded_reads); };
        if (auto ec = co_await conn_->on_stream(read_more))
            co_return end(stop_.canceled() ? ec : error_code(error::canceled), not_pooled_reason::body_not_drained);
        received_ += parser.get().body().size();
        parser.get().body().clear();
        if (received_ > limit)
            co_return end(error::canceled, not_pooled_reason::body_not_drained);
    }
    end({}, http1::refusal_after_body(*conn_, close_after_));
}

void streamed_body::close()
{
    stop_.stop(stop_state::reason::canceled);
    if (conn_ && (reading_ || draining_))
        conn_->stream.cancel(); // the read or drain ends with error::canceled; its completion lets go
    let_go_if_detached();
}

void streamed_body::let_go_if_detached()
{
    if (reading_ || draining_)
        return;
    if (stop_.canceled() && conn_) // closed: a read that ended without the socket (from buffered bytes) left it
        end(error::canceled, not_pooled_reason::broken);
    if (!detached_)
        return;
    executor strand;
    std::shared_ptr<connection_home> home;
    {
        std::lock_guard lock(gate_);
        strand.swap(strand_);
        home.swap(home_);
    }
    // Both go here, on the strand, while their io_context is certainly alive.
}

} // namespace detail
} // namespace roundtrip
