// The OTLP exporter: a bounded queue under one mutex, and one thread that takes batches from it and
// sends them with a blocking call on the exporter's own client.
#include <roundtrip/middleware/tracing/otlp_exporter.hpp>

#include "otlp_json.hpp"
#include "otlp_sender.hpp"

#include <roundtrip/deadline.hpp>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <iterator>
#include <mutex>
#include <thread>
#include <utility>

namespace roundtrip {
namespace {

constexpr clock::duration shortest_wait = std::chrono::milliseconds(1);

// now + d; a caller may pass clock::duration::max() for "no limit".
clock::time_point after(clock::duration d)
{
    return saturating_add(clock::now(), std::max(d, clock::duration{}));
}

} // namespace

class otlp_exporter::impl {
public:
    explicit impl(otlp_options o)
        : options_(std::move(o)),
          max_batch_(std::max<std::size_t>(options_.max_batch, 1)),
          // A zero interval would make the thread spin on an empty queue.
          flush_interval_(std::max(options_.flush_interval, shortest_wait)),
          sender_(options_.endpoint, options_.headers, options_.transport),
          thread_([this] { run(); })
    {
    }

    void export_span(span s) noexcept
    {
        bool batch_full = false;
        {
            std::lock_guard lock(mutex_);
            if (stopping_ || queue_.size() >= options_.max_queue) {
                ++stats_.dropped;
                return;
            }
            try {
                queue_.push_back(std::move(s));
            } catch (...) {
                ++stats_.dropped; // out of memory: the span is lost, the request is not
                return;
            }
            // Only on reaching the size: the thread re-checks the queue after every export, so
            // larger sizes need no wake-up (and the request path makes no futex call for them).
            batch_full = queue_.size() == max_batch_;
        }
        if (batch_full)
            wake_.notify_one();
    }

    void shutdown(clock::duration timeout) noexcept
    {
        const auto deadline = after(timeout);
        {
            std::unique_lock lock(mutex_);
            if (stopping_)
                return;
            stopping_ = true;
            shutdown_deadline_ = deadline;
            wake_.notify_one();
            if (!stopped_.wait_until(lock, deadline, [&] { return thread_done_; }))
                abandon_ = true;
        }
        // Out of time: the export in flight (it started before shutdown, with the full
        // export_timeout) is cancelled, so its blocking send returns now and the thread can end.
        // Afterwards the sender is closed in any case, to release its connections.
        sender_.close();
        thread_.join();
    }

    clock::duration export_timeout() const noexcept { return options_.export_timeout; }

    otlp_stats stats() const
    {
        std::lock_guard lock(mutex_);
        return stats_;
    }

private:
    void run()
    {
        std::unique_lock lock(mutex_);
        auto next_flush = after(flush_interval_);
        for (;;) {
            wake_.wait_until(lock, next_flush, [&] { return queue_.size() >= max_batch_ || stopping_; });
            if (abandon_ || (stopping_ && queue_.empty()))
                break;
            if (queue_.empty()) { // the interval passed with nothing to send
                next_flush = after(flush_interval_);
                continue;
            }
            auto timeout = options_.export_timeout;
            if (stopping_) {
                const auto left = shutdown_deadline_ - clock::now();
                if (left <= clock::duration{})
                    break;
                timeout = std::min(timeout, left);
            }
            const auto n = std::min(queue_.size(), max_batch_);
            std::vector<span> batch(std::make_move_iterator(queue_.begin()),
                                    std::make_move_iterator(queue_.begin() + static_cast<std::ptrdiff_t>(n)));
            queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
            lock.unlock();
            const bool accepted = send(batch, timeout);
            lock.lock();
            (accepted ? stats_.exported : stats_.failed) += batch.size();
            next_flush = after(flush_interval_);
        }
        // Whatever is left was never sent: shutdown ran out of time before its turn.
        stats_.dropped += queue_.size();
        queue_.clear();
        thread_done_ = true;
        stopped_.notify_all();
    }

    // Sends one batch, once, and returns whether the receiver accepted it.
    bool send(const std::vector<span>& batch, clock::duration timeout) noexcept
    {
        std::string body;
        try {
            body = detail::otlp_trace_request_json(batch, options_.resource);
        } catch (...) {
            return false; // out of memory while encoding: the batch is lost
        }
        return sender_.post(std::move(body), timeout);
    }

    const otlp_options options_;
    const std::size_t max_batch_;
    const clock::duration flush_interval_;
    detail::otlp::sender sender_;

    mutable std::mutex mutex_;
    std::condition_variable wake_;        // the thread waits on it for a full batch or shutdown
    std::condition_variable stopped_;     // shutdown waits on it for the thread to finish
    std::deque<span> queue_;              // guarded by mutex_
    otlp_stats stats_;                    // guarded by mutex_
    bool stopping_ = false;               // guarded by mutex_: shutdown began; send what is queued, then stop
    bool abandon_ = false;                // guarded by mutex_: shutdown's time ran out; send nothing more
    bool thread_done_ = false;            // guarded by mutex_
    clock::time_point shutdown_deadline_; // guarded by mutex_
    std::thread thread_;                  // last: it starts running once everything above exists
};

otlp_exporter::otlp_exporter(otlp_options options) : impl_(std::make_unique<impl>(std::move(options))) {}

otlp_exporter::~otlp_exporter() { impl_->shutdown(impl_->export_timeout()); }

void otlp_exporter::export_span(span s) noexcept { impl_->export_span(std::move(s)); }

void otlp_exporter::shutdown(clock::duration timeout) noexcept { impl_->shutdown(timeout); }

otlp_stats otlp_exporter::stats() const { return impl_->stats(); }

} // namespace roundtrip
