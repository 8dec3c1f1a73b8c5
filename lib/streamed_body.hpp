// A response body left on its connection for the caller (`request::stream_response`): reads hop to
// the transport's strand and go through the same parser-driving loop as buffered bodies; the end of
// the body gives the connection back, and a reader dropped early drains a little or closes.
//
// The caller's body_reader may outlive the client, its transport and its io_context. So a body that
// ends — read to its end, failed, or cut by the transport's close() — detaches: later reads are
// answered from the bytes it still holds, then with how it ended, without touching the strand; and
// the body lets go of the strand and the transport while their io_context still runs (holding either
// past it would be a use-after-free).
#pragma once

#include "connection.hpp"
#include "event_sink.hpp"
#include "http1_exchange.hpp"

#include <roundtrip/body_reader.hpp>

#include <boost/intrusive/list_hook.hpp>

#include <memory>
#include <mutex>
#include <string>

namespace roundtrip::detail {

class streamed_body final
    : public body_channel,
      public std::enable_shared_from_this<streamed_body>,
      public boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>> {
public:
    // What a dropped reader may still drain so that its connection is pooled (OkHttp discards for
    // 100 ms; a body longer than a few reads costs more than a new connection).
    static constexpr std::uint64_t drain_bytes = 64 * 1024;
    static constexpr auto drain_time = std::chrono::milliseconds(100);

    // Takes over `c`, whose response head was read and whose body waits in `c->in`.
    streamed_body(executor strand, std::shared_ptr<connection_home> home, conn_ptr c, event_sink sink,
                  const http1::exchange_scope& x);

    void read_some(asio::mutable_buffer into, read_handler handler) override;
    void release() noexcept override;
    void discard() noexcept override;
    executor get_executor() const noexcept override;

    // The transport is closing: ends the body (a read in progress ends with error::canceled), which
    // detaches it. On the strand.
    void close();

private:
    asio::awaitable<std::pair<error_code, std::size_t>> read_body(asio::mutable_buffer into);
    asio::awaitable<void> drain();
    std::size_t take_from_tail(asio::mutable_buffer into);
    std::pair<error_code, std::size_t> read_detached(asio::mutable_buffer into);
    void end(error_code ec, std::optional<not_pooled_reason> refused);
    void give_up(bool discarded) noexcept;
    void without_reader();
    void let_go_if_detached();

    // Guards the detached state, strand_ and home_, which threads other than the strand read.
    mutable std::mutex gate_;
    bool detached_ = false; // ended: from then on tail_ and end_ no longer change
    executor strand_;                       // empty once detached and idle
    std::shared_ptr<connection_home> home_; // empty once detached and idle
    // Only touched on the strand:
    conn_ptr conn_;                // until the body ends
    event_sink sink_;
    http1::read_scope reads_;
    bool close_after_;
    stop_state stop_;              // close() cancels reads here
    std::string tail_;             // body bytes received and not yet read by the caller
    std::size_t tail_read_ = 0;
    std::uint64_t received_ = 0;   // body bytes received so far
    error_code end_;               // how the body ended, once conn_ is gone
    bool reading_ = false;
    bool draining_ = false;
    bool ever_read_ = false;
    bool released_ = false;
    bool discarded_ = false; // given up on purpose (body_reader::discard): drained even if never read
#ifndef NDEBUG
    std::string debug_name_; // "call 7 (GET example.com:8080)", for the unread-body warning
#endif
};

} // namespace roundtrip::detail
