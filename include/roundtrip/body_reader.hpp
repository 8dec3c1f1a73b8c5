// A streamed response body: read by the caller a buffer at a time, while the connection waits.
#pragma once

#include <roundtrip/detail/config.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>

#include <cstddef>
#include <memory>

namespace roundtrip {

namespace detail {

// The transport's side of a streamed body; `body_reader` is its handle.
class body_channel {
public:
    using read_handler = asio::any_completion_handler<void(error_code, std::size_t)>;
    virtual ~body_channel() = default;
    virtual void read_some(asio::mutable_buffer into, read_handler handler) = 0;
    // The reader is gone: finish the body (drain or close) without it.
    virtual void release() noexcept = 0;
    // The reader gave the body up on purpose: drain what is bounded, even if it never read.
    virtual void discard() noexcept { release(); }
    virtual executor get_executor() const noexcept = 0;
};

} // namespace detail

/// A `body_reader` reads a response body that was left on its connection
/// (`request::stream_response`). It models Asio's AsyncReadStream, so `asio::async_read` and
/// `asio::async_read_until` work on it. After the last byte, a read completes with
/// `asio::error::eof`; any other error (a timeout, `error::unexpected_eof`, `error::protocol_error`,
/// `error::canceled` when the client closes) ends the body, and the connection is closed.
///
/// The connection returns to the pool as soon as the body's last byte has been received. Reads are
/// bounded by `timeouts::read_inactivity` and the call's deadline. A reader dropped before the end
/// drains what is left, up to 64 KiB and 100 ms, and pools the connection; beyond those bounds the
/// connection is closed (`conn_not_pooled{body_not_drained}`). A reader dropped without a single
/// read is closed the same way at once — and, in builds without NDEBUG, named in one line on stderr,
/// since an unread body is usually a bug.
///
/// Move-only. One read at a time; reads may be started from any thread. A default-constructed
/// reader (the `body_stream` of a buffered response) is at its end.
class body_reader {
public:
    using executor_type = executor;

    body_reader() = default;
    /// For transports: wraps the channel a streamed body is read through.
    explicit body_reader(std::shared_ptr<detail::body_channel> channel) noexcept : channel_(std::move(channel)) {}
    body_reader(body_reader&&) noexcept = default;
    body_reader& operator=(body_reader&& other) noexcept
    {
        close();
        channel_ = std::move(other.channel_);
        return *this;
    }
    ~body_reader() { close(); }

    /// Returns the executor reads complete on by default: the transport's.
    executor_type get_executor() const noexcept { return channel_ ? channel_->get_executor() : executor(); }

    /// Returns whether the reader holds a streamed body: false for a buffered response's reader, for
    /// a streamed response without a body (HEAD, 204, `Content-Length: 0`), and after `close()`.
    bool is_open() const noexcept { return channel_ != nullptr; }

    /// Reads some bytes into the first non-empty buffer of `buffers`.
    ///
    /// @param token A completion token for `void(error_code, std::size_t)`; the handler runs on its
    ///   associated executor, never inside this function.
    template <class MutableBufferSequence, asio::completion_token_for<void(error_code, std::size_t)> Token>
    auto async_read_some(const MutableBufferSequence& buffers, Token&& token)
    {
        asio::mutable_buffer first;
        for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers); ++it)
            if (asio::mutable_buffer b(*it); b.size() > 0) {
                first = b;
                break;
            }
        return asio::async_initiate<Token, void(error_code, std::size_t)>(
            [this](auto handler, asio::mutable_buffer into) { start_read(into, std::move(handler)); }, token, first);
    }

    /// Gives the body up, as destroying the reader does. Idempotent.
    void close() noexcept
    {
        if (auto c = std::move(channel_))
            c->release();
    }

    /// Gives the body up as one the caller chose not to read (a response about to be retried, say):
    /// what is left is drained like a dropped reader's, up to 64 KiB and 100 ms, so its connection
    /// can be pooled, even when nothing was read — where `close()` closes the connection at once —
    /// and without the unread-body warning. Returns at once; idempotent.
    void discard() noexcept
    {
        if (auto c = std::move(channel_))
            c->discard();
    }

private:
    void start_read(asio::mutable_buffer into, detail::body_channel::read_handler handler);

    std::shared_ptr<detail::body_channel> channel_;
};

} // namespace roundtrip
