// Reads from a request's body_source that the transport can end without the source's cooperation.
// A source is user code: its read may never complete, or complete after the call is long over. So
// the source reads into a buffer shared with its completion handler, and cancellation, close() or
// the deadline complete the waiting exchange at once; whatever the source completes later is
// dropped, and never touches the connection or the transport's executor.
#pragma once

#include <roundtrip/body_source.hpp>
#include <roundtrip/detail/config.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/awaitable.hpp>

#include <memory>
#include <mutex>
#include <optional>
#include <utility>

namespace roundtrip::detail {

class source_read {
public:
    // The most one read delivers.
    static constexpr std::size_t capacity = 16 * 1024;

    // Reads the next piece of `source` into data(); completes with its size, asio::error::eof, the
    // source's error, or the error the read was abandoned with. One read at a time, on the strand.
    // It is abandoned with error::deadline_exceeded when `deadline` passes first.
    asio::awaitable<std::pair<error_code, std::size_t>> read(body_source& source, clock::time_point deadline);

    // The bytes of the last read; valid after a read that delivered some.
    const char* data() const noexcept { return shared_->bytes.get(); }

    // Ends the read in progress, and every later one, with `why` (the first reason sticks).
    void abandon(error_code why);

private:
    using handler = asio::any_completion_handler<void(error_code, std::size_t)>;
    class completion;

    // Shared with the source's completion handler and the deadline timer, which may outlive the attempt.
    struct state {
        std::mutex mutex;
        std::optional<handler> waiting; // the exchange, until the read or abandon() completes it
        error_code abandoned;
        std::unique_ptr<char[]> bytes = std::make_unique<char[]>(capacity);
    };
    static void abandon(state& s, error_code why);
    // Resumes the exchange waiting on `s`, if it still waits, with `ec` and `n`; from any thread.
    static void resume_waiting(state& s, error_code ec, std::size_t n);

    std::shared_ptr<state> shared_; // made by the first read: most requests have no body source
    error_code abandoned_early_;    // abandoned before the first read
};

} // namespace roundtrip::detail
