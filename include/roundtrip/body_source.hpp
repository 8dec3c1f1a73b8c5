// A request body produced while the request is sent, rather than held in memory up front.
#pragma once

#include <roundtrip/detail/config.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/buffer.hpp>

#include <atomic>
#include <cstdint>
#include <optional>

namespace roundtrip {

namespace detail {
struct body_source_access;
} // namespace detail

/// A `body_source` is a one-shot request body (`request::body_stream`) that the transport reads
/// while it writes the request: with a `Content-Length` when `length()` is known, else with chunked
/// transfer coding. `body_pipe` is the ready-made source a caller writes chunks into; implement this
/// interface to stream from elsewhere (a file, another connection).
///
/// A request with a body source is not replayable: once the transport has read from it, neither the
/// transport's transparent retries nor the retry middleware send the request again.
class body_source {
public:
    using read_handler = asio::any_completion_handler<void(error_code, std::size_t)>;

    virtual ~body_source() = default;

    /// The body's length when known in advance; `std::nullopt` sends the body chunked. A source that
    /// then delivers a different number of bytes fails the attempt (`error::body_length_mismatch`).
    virtual std::optional<std::uint64_t> length() const noexcept = 0;

    /// Reads the next bytes into `into` and completes with their count (at least 1), or with
    /// `asio::error::eof` after the last byte. Any other error ends the attempt and closes the
    /// connection; the call ends with it, translated into roundtrip's category as every error is
    /// (`as_roundtrip_error`: a system error becomes `io_failed`, one of a category of your own stays). Called on the transport's executor, one read at a time; `handler` may
    /// be invoked from any thread, even inside this function.
    ///
    /// A read need not complete for the call to end: cancellation, the client's close() and the
    /// call's deadline end the call at once, and a read that completes later is ignored. `into` stays
    /// valid until `handler` is invoked or destroyed, whichever comes first. A `handler` destroyed
    /// without being invoked fails the read, and the attempt, with `error::io_failed`.
    virtual void async_read_some(asio::mutable_buffer into, read_handler handler) = 0;

    /// Called exactly once, when the call that owns the source completes: success when the body was
    /// read to its end and written, else why it was not (the call's error, or
    /// `asio::error::broken_pipe` when the call succeeded without the whole body: the server answered
    /// early). Lets a source release a producer that waits, and end a read still in progress.
    virtual void finish(error_code why) noexcept { (void)why; }

private:
    friend struct detail::body_source_access;
    // Set by the first finish the library makes. A middleware may pass the source on in a request it
    // built anew, which starts a call of its own beneath the client's: both calls end, one finish.
    // Atomic: a bottom round tripper on an executor of its own may end its call as the client ends its.
    std::atomic<bool> finished_ = false;
};

} // namespace roundtrip
