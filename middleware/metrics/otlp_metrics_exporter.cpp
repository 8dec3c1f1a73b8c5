// The OTLP metrics exporter: one thread that wakes every interval (or at shutdown), collects the
// metrics and sends them with a blocking call on the exporter's own sender.
#include <roundtrip/middleware/metrics/otlp_exporter.hpp>

#include "otlp_metrics_json.hpp"
#include "otlp_sender.hpp"

#include <roundtrip/deadline.hpp>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace roundtrip {
namespace {

constexpr clock::duration shortest_wait = std::chrono::milliseconds(1);

clock::time_point after(clock::duration d) { return saturating_add(clock::now(), std::max(d, clock::duration{})); }

} // namespace

class otlp_metrics_exporter::impl {
public:
    impl(std::shared_ptr<const http_metrics> metrics, otlp_metrics_options o)
        : metrics_(metrics ? std::move(metrics) : throw std::invalid_argument("otlp_metrics_exporter: no metrics")),
          options_(std::move(o)),
          interval_(std::max(options_.interval, shortest_wait)),             // zero would spin
          export_timeout_(std::max(options_.export_timeout, shortest_wait)), // zero: the client's none
          sender_(options_.endpoint, options_.headers, options_.transport),
          thread_([this] { run(); })
    {
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
            stopped_.wait_until(lock, deadline, [&] { return thread_done_; });
        }
        // Out of time or not, the sender is closed: an export still in flight fails now, and the
        // thread, which sends nothing after shutdown's export, ends.
        sender_.close();
        thread_.join();
    }

    clock::duration export_timeout() const noexcept { return export_timeout_; }

    otlp_metrics_stats stats() const
    {
        std::lock_guard lock(mutex_);
        return stats_;
    }

private:
    void run()
    {
        std::unique_lock lock(mutex_);
        // A fixed schedule: every interval from the start, whatever an export took (one that took
        // longer than the interval is followed by the next at once, not by a burst).
        auto next = after(interval_);
        for (bool last = false; !last;) {
            wake_.wait_until(lock, next, [&] { return stopping_; });
            next = std::max(saturating_add(next, interval_), clock::now());
            last = stopping_;
            auto timeout = export_timeout_;
            if (last && (timeout = std::min(timeout, shutdown_deadline_ - clock::now())) <= clock::duration{}) {
                ++stats_.failed; // shutdown's time ran out before its export could start
                break;
            }
            lock.unlock();
            const bool accepted = send(timeout);
            lock.lock();
            ++(accepted ? stats_.exported : stats_.failed);
        }
        thread_done_ = true;
        stopped_.notify_all();
    }

    bool send(clock::duration timeout) noexcept
    {
        std::string body;
        try {
            body = detail::otlp_metrics_request_json(metrics_->collect(), options_.resource);
        } catch (...) {
            return false; // out of memory while collecting or encoding: this export is lost
        }
        return sender_.post(std::move(body), timeout);
    }

    const std::shared_ptr<const http_metrics> metrics_;
    const otlp_metrics_options options_;
    const clock::duration interval_;
    const clock::duration export_timeout_;
    detail::otlp::sender sender_;

    mutable std::mutex mutex_;
    std::condition_variable wake_;        // the thread waits on it for the interval or shutdown
    std::condition_variable stopped_;     // shutdown waits on it for the thread to finish
    otlp_metrics_stats stats_;            // guarded by mutex_
    bool stopping_ = false;               // guarded by mutex_
    bool thread_done_ = false;            // guarded by mutex_
    clock::time_point shutdown_deadline_; // guarded by mutex_
    std::thread thread_;                  // last: it starts running once everything above exists
};

otlp_metrics_exporter::otlp_metrics_exporter(std::shared_ptr<const http_metrics> metrics, otlp_metrics_options options)
    : impl_(std::make_unique<impl>(std::move(metrics), std::move(options)))
{
}

otlp_metrics_exporter::~otlp_metrics_exporter() { impl_->shutdown(impl_->export_timeout()); }

void otlp_metrics_exporter::shutdown(clock::duration timeout) noexcept { impl_->shutdown(timeout); }

otlp_metrics_stats otlp_metrics_exporter::stats() const { return impl_->stats(); }

} // namespace roundtrip
