// See source_read.hpp.
#include "source_read.hpp"

#include "completion.hpp"

#include <roundtrip/error.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace roundtrip::detail {

// The handler a source's read completes. A source that destroys it without calling it (its producer
// gave up, say) would leave the exchange waiting for the deadline: destroyed uncalled, it fails the
// read with io_failed.
class source_read::completion {
public:
    explicit completion(std::shared_ptr<state> s) noexcept : state_(std::move(s)) {}
    completion(completion&& other) noexcept = default;
    completion& operator=(completion&&) = delete;
    ~completion()
    {
        if (state_)
            resume_waiting(*state_, error::io_failed, 0);
    }

    void operator()(error_code ec, std::size_t n) { resume_waiting(*std::exchange(state_, nullptr), ec, n); }

private:
    std::shared_ptr<state> state_; // null once called or moved from
};

asio::awaitable<std::pair<error_code, std::size_t>> source_read::read(body_source& source, clock::time_point deadline)
{
    if (abandoned_early_)
        co_return std::pair{abandoned_early_, std::size_t{0}};
    if (!shared_)
        shared_ = std::make_shared<state>();
    asio::steady_timer timer(co_await asio::this_coro::executor);
    if (deadline != clock::time_point::max()) {
        timer.expires_at(deadline);
        timer.async_wait([s = shared_](error_code ec) {
            if (!ec)
                abandon(*s, error::deadline_exceeded);
        });
    }
    constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
    auto [ec, n] = co_await asio::async_initiate<decltype(use_tuple), void(error_code, std::size_t)>(
        [this, &source](auto h) {
            {
                std::lock_guard lock(shared_->mutex);
                if (shared_->abandoned)
                    return post_completion(std::move(h), shared_->abandoned, std::size_t{0});
                shared_->waiting.emplace(std::move(h));
            }
            // The source may complete from any thread, even inside async_read_some: the exchange
            // resumes through a post, never inline.
            source.async_read_some(asio::buffer(shared_->bytes.get(), capacity), completion(shared_));
        },
        use_tuple);
    error_code abandoned;
    {
        std::lock_guard lock(shared_->mutex);
        abandoned = shared_->abandoned;
    }
    if (abandoned)
        co_return std::pair{abandoned, std::size_t{0}};
    co_return std::pair{ec, std::min(n, capacity)};
}

void source_read::abandon(error_code why)
{
    if (shared_)
        abandon(*shared_, why);
    else if (!abandoned_early_)
        abandoned_early_ = why;
}

void source_read::abandon(state& s, error_code why)
{
    error_code first;
    {
        std::lock_guard lock(s.mutex);
        if (!s.abandoned)
            s.abandoned = why;
        first = s.abandoned;
    }
    resume_waiting(s, first, 0);
}

void source_read::resume_waiting(state& s, error_code ec, std::size_t n)
{
    std::optional<handler> waiting;
    {
        std::lock_guard lock(s.mutex);
        waiting.swap(s.waiting);
    }
    if (waiting) // else resumed already: by the source, or by abandon(); what comes later is dropped
        post_completion(std::move(*waiting), ec, n);
}

} // namespace roundtrip::detail
