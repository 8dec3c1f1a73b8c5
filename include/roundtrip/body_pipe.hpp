// A request body the caller writes chunk by chunk while the request is being sent.
#pragma once

#include <roundtrip/body_source.hpp>

#include <boost/asio/async_result.hpp>
#include <boost/asio/error.hpp>

#include <mutex>
#include <optional>

namespace roundtrip {

/// A `body_pipe` is a `body_source` the caller writes into: each `async_write` completes when the
/// transport has taken its bytes (so a pipe holds no copy of the body and a slow server slows the
/// writer down), and `close()` marks the end. Set it as `request::body_stream` and start the call,
/// then write:
///
///     auto pipe = std::make_shared<roundtrip::body_pipe>();   // length unknown: sent chunked
///     req.body_stream = pipe;
///     client.async_send(req, on_response);
///     co_await pipe->async_write(asio::buffer(part1), asio::use_awaitable);
///     co_await pipe->async_write(asio::buffer(part2), asio::use_awaitable);
///     pipe->close();
///
/// When the call ends before the body was taken (an error, a server answering early), a pending and
/// any later write complete with the call's error, or `asio::error::broken_pipe`.
///
/// Thread safety: the writer may use the pipe from any thread, one write at a time.
class body_pipe final : public body_source {
public:
    using write_handler = asio::any_completion_handler<void(error_code, std::size_t)>;

    /// A pipe whose body length is `length` (sent as `Content-Length`), or unknown (chunked).
    explicit body_pipe(std::optional<std::uint64_t> length = std::nullopt) noexcept : length_(length) {}

    /// Hands `bytes` to the transport; completes with their count once all of them were taken, or
    /// with the error that ended the call. The bytes must stay valid until then.
    template <asio::completion_token_for<void(error_code, std::size_t)> Token>
    auto async_write(asio::const_buffer bytes, Token&& token)
    {
        return asio::async_initiate<Token, void(error_code, std::size_t)>(
            [this](auto handler, asio::const_buffer b) { start_write(b, write_handler(std::move(handler))); },
            token, bytes);
    }

    /// Ends the body: the transport reads `asio::error::eof` after the bytes written so far. With an
    /// error instead, the transport's read fails with it and the attempt ends with that error.
    void close(error_code why = asio::error::eof);

    std::optional<std::uint64_t> length() const noexcept override { return length_; }
    void async_read_some(asio::mutable_buffer into, read_handler handler) override;
    void finish(error_code why) noexcept override;

private:
    void start_write(asio::const_buffer bytes, write_handler handler);
    // Pairs a waiting read with the waiting write or the end; returns the completions to run unlocked.
    void match(std::unique_lock<std::mutex>& lock);

    const std::optional<std::uint64_t> length_;
    std::mutex mutex_;
    // Guarded by mutex_:
    std::optional<write_handler> writer_;
    asio::const_buffer writing_;   // what the waiting writer has not handed over yet
    std::size_t written_ = 0;      // what it has
    std::optional<read_handler> reader_;
    asio::mutable_buffer reading_;
    std::optional<error_code> end_;      // set by close(): eof or the writer's error
    std::optional<error_code> finished_; // set by finish(): the call no longer reads
};

} // namespace roundtrip
