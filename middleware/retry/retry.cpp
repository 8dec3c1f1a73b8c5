// The retry middleware: one coroutine layer over shared options and a retry budget.
#include <roundtrip/middleware/retry.hpp>

#include <roundtrip/deadline.hpp>
#include <roundtrip/error.hpp>
#include <roundtrip/events.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <ctime>
#include <mutex>
#include <optional>
#include <random>

namespace roundtrip {
namespace {

using namespace std::chrono;

// Calls and retries over the last ten seconds, in one-second buckets. A layer may serve several
// clients (on several strands), so it is guarded by a mutex.
class retry_budget {
public:
    retry_budget(double ratio, unsigned floor) : ratio_(ratio), floor_(floor) {}

    void count_call(clock::time_point now)
    {
        std::lock_guard lock(mutex_);
        ++at(now).calls;
    }

    // Takes one retry from the budget, if it allows one.
    bool try_retry(clock::time_point now)
    {
        std::lock_guard lock(mutex_);
        const auto second = duration_cast<seconds>(now.time_since_epoch()).count();
        unsigned calls = 0, retries = 0;
        for (const auto& b : buckets_)
            if (b.second > second - static_cast<std::int64_t>(buckets_.size()))
                calls += b.calls, retries += b.retries;
        const double allowed = std::max(static_cast<double>(floor_), ratio_ * calls);
        if (retries >= allowed)
            return false;
        ++at(now).retries;
        return true;
    }

private:
    struct bucket {
        std::int64_t second = std::numeric_limits<std::int64_t>::min();
        unsigned calls = 0;
        unsigned retries = 0;
    };

    bucket& at(clock::time_point now)
    {
        const auto second = duration_cast<seconds>(now.time_since_epoch()).count();
        bucket& b = buckets_[static_cast<std::size_t>(second) % buckets_.size()];
        if (b.second != second)
            b = bucket{second};
        return b;
    }

    std::mutex mutex_; // guards buckets_
    std::array<bucket, 10> buckets_;
    double ratio_;
    unsigned floor_;
};

struct retry_state {
    explicit retry_state(retry_options o)
        : options(std::move(o)), budget(options.budget_ratio, options.budget_min_retries)
    {
        if (!options.sleep)
            options.sleep = [](clock::duration d) -> asio::awaitable<void> {
                // On the caller's executor, with the caller's cancellation, which ends the wait
                // early (without an exception: the middleware then returns error::canceled).
                asio::steady_timer wait(co_await asio::this_coro::executor, d);
                co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));
            };
        if (!options.random)
            options.random = [] {
                thread_local std::mt19937_64 generator{std::random_device{}()};
                return std::uniform_real_distribution<double>(0.0, 1.0)(generator);
            };
        if (!options.now)
            options.now = [] { return clock::now(); };
        if (!options.wall_now)
            options.wall_now = [] { return system_clock::now(); };
    }

    retry_options options;
    retry_budget budget;
};

// The Retry-After of a response, as a wait from `wall_now`: delay-seconds or an IMF-fixdate
// (RFC 9110, section 10.2.3). Absent or unreadable: nullopt. A date in the past: zero.
std::optional<clock::duration> retry_after(const response& resp, system_clock::time_point wall_now)
{
    auto it = resp.headers.find("Retry-After");
    if (it == resp.headers.end())
        return std::nullopt;
    const std::string_view v = it->value();
    std::uint64_t secs = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), secs);
    if (ec == std::errc{} && end == v.data() + v.size())
        return duration_cast<clock::duration>(seconds(std::min<std::uint64_t>(secs, 1u << 30)));
    std::tm tm{};
    const std::string text(v);
    const char* parsed = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!parsed || *parsed != '\0')
        return std::nullopt;
    // In whole seconds and capped before any conversion: a date in the year 9999 must not overflow a
    // nanosecond clock into the past.
    const std::int64_t wait = static_cast<std::int64_t>(::timegm(&tm)) - system_clock::to_time_t(wall_now);
    return wait > 0 ? duration_cast<clock::duration>(seconds(std::min<std::int64_t>(wait, 1 << 30)))
                    : clock::duration::zero();
}

// Why a result is worth retrying, or nullopt for success and for failures that are final.
// `call_over`: the call's own deadline has passed (an attempt cut short by `per_attempt_timeout` also
// reports deadline_exceeded, and that one is worth retrying).
std::optional<retry_cause> cause_of(const result& r, const retry_options& o, bool call_over)
{
    if (!r.error)
        return std::find(o.statuses.begin(), o.statuses.end(), r.response.status) != o.statuses.end()
                   ? std::optional(retry_cause::status)
                   : std::nullopt;
    if (r.error == error::deadline_exceeded && call_over)
        return std::nullopt; // the call's own time is up; waiting more cannot help
    switch (classify(r.error)) {
    case condition::connection_refused:
    case condition::connection_reset:
    case condition::connect_failed:
    case condition::eof:
    case condition::timeout: return retry_cause::connection_error;
    default: return std::nullopt;
    }
}

} // namespace

std::string_view to_string(retry_cause c) noexcept
{
    return c == retry_cause::status ? "status" : "connection_error";
}

std::string_view to_string(give_up_reason r) noexcept
{
    switch (r) {
    case give_up_reason::not_retryable: return "not_retryable";
    case give_up_reason::not_replayable: return "not_replayable";
    case give_up_reason::attempts_exhausted: return "attempts_exhausted";
    case give_up_reason::budget_exhausted: return "budget_exhausted";
    case give_up_reason::deadline: return "deadline";
    case give_up_reason::retry_after_too_long: return "retry_after_too_long";
    }
    return "unknown";
}

layer retry(retry_options options)
{
    auto state = std::make_shared<retry_state>(std::move(options));
    return [state](request req, next next) -> asio::awaitable<result> {
        const retry_options& o = state->options;
        state->budget.count_call(o.now());
        for (unsigned retries = 0;; ++retries) {
            request attempt = req;
            if (o.per_attempt_timeout > clock::duration::zero())
                attempt.set_deadline(std::min(req.deadline(), saturating_add(o.now(), o.per_attempt_timeout)));
            result r = co_await next(std::move(attempt));

            const bool call_over = req.deadline() != clock::time_point::max() && o.now() >= req.deadline();
            const auto cause = cause_of(r, o, call_over);
            const bool failed = r.error || cause;
            if (!failed)
                co_return r;
            auto give_up = [&](give_up_reason why) {
                emit(req, retry_given_up{r.attempt.attempts, why});
                return std::move(r);
            };
            if (!cause)
                co_return give_up(r.error == error::deadline_exceeded ? give_up_reason::deadline
                                                                       : give_up_reason::not_retryable);
            // (A call whose own deadline passed ends here; one whose attempt timed out goes on.)
            // The one replayability rule: after the request may have reached the server, only a
            // replayable request goes again.
            if (r.attempt.progress != request_progress::not_sent && !is_replayable(req))
                co_return give_up(give_up_reason::not_replayable);
            if (retries >= o.max_retries)
                co_return give_up(give_up_reason::attempts_exhausted);

            clock::duration delay;
            if (auto asked = r.error ? std::nullopt : retry_after(r.response, o.wall_now())) {
                if (*asked > o.max_retry_after)
                    co_return give_up(give_up_reason::retry_after_too_long);
                delay = *asked;
            } else {
                // base * 2^retries, saturating at max_delay before it could overflow.
                const clock::rep factor = clock::rep{1} << std::min(retries, 30u);
                const clock::duration ceiling = o.base_delay > o.max_delay / factor ? o.max_delay : o.base_delay * factor;
                delay = duration_cast<clock::duration>(ceiling * o.random());
            }
            if (req.deadline() != clock::time_point::max() && saturating_add(o.now(), delay) >= req.deadline())
                co_return give_up(give_up_reason::deadline);
            if (!state->budget.try_retry(o.now()))
                co_return give_up(give_up_reason::budget_exhausted);

            emit(req, retry_scheduled{r.attempt.attempts, *cause, delay});
            // A body dropped unread closes its connection; discarded, it drains (bounded) during
            // the backoff, so the connection can serve the retry.
            r.response.body_stream.discard();
            if (r.error && r.attempt.reused)
                req.new_connection = true; // that connection may be one of many the server dropped
            co_await o.sleep(delay);
            if ((co_await asio::this_coro::cancellation_state).cancelled() != asio::cancellation_type::none) {
                result canceled;
                canceled.error = error::canceled;
                canceled.attempt = r.attempt;
                co_return canceled;
            }
        }
    };
}

} // namespace roundtrip
