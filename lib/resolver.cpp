// The system resolver (getaddrinfo on a thread pool of its own, abandoned on cancellation) and the
// static resolver.
#include "completion.hpp"

#include <roundtrip/error.hpp>
#include <roundtrip/resolver.hpp>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/any_completion_executor.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/prefer.hpp>

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <cstring>

namespace roundtrip {
namespace {


std::pair<error_code, std::vector<endpoint>> lookup(const std::string& host, std::uint16_t port)
{
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    addrinfo* list = nullptr;
    int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &list);
    if (rc != 0) {
        bool no_such_name = rc == EAI_NONAME || rc == EAI_NODATA || rc == EAI_ADDRFAMILY;
        return {no_such_name ? error::host_not_found : error::dns_failed, {}};
    }
    std::vector<endpoint> out;
    for (addrinfo* ai = list; ai; ai = ai->ai_next) {
        endpoint e;
        if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6) {
            std::memcpy(e.data(), ai->ai_addr, ai->ai_addrlen);
            e.port(port);
            if (std::find(out.begin(), out.end(), e) == out.end())
                out.push_back(e);
        }
    }
    ::freeaddrinfo(list);
    if (out.empty())
        return {error::host_not_found, {}};
    return {{}, std::move(out)};
}

// One lookup: completed once, by the lookup thread or by cancellation, whichever comes first.
struct pending_lookup : std::enable_shared_from_this<pending_lookup> {
    using handler_type = asio::any_completion_handler<resolver::signature>;

    explicit pending_lookup(handler_type h)
        : handler(std::move(h)),
          work(asio::prefer(asio::get_associated_executor(handler), asio::execution::outstanding_work.tracked))
    {
    }

    // Hands the outcome to the handler's executor, unless the lookup was already completed.
    void finish(error_code ec, std::vector<endpoint> found)
    {
        if (done.exchange(true))
            return;
        // The work guard travels with the completion, so an abandoned lookup that is still running
        // does not keep the caller's context alive.
        auto ex = std::move(work);
        ex.execute([self = shared_from_this(), ec, found = std::move(found), ex]() mutable {
            auto slot = asio::get_associated_cancellation_slot(self->handler);
            if (slot.is_connected())
                slot.clear();
            std::move(self->handler)(ec, std::move(found));
        });
    }

    std::atomic<bool> done{false};
    handler_type handler;
    asio::any_completion_executor work; // keeps the caller's context running while the lookup is out
};

} // namespace

// The lookup threads and their queue. The threads are detached and share the queue with the resolver,
// so destroying the resolver never waits for a getaddrinfo call that nobody wants any more: a thread
// finishes its call, finds its lookup completed (abandoned) and the queue stopped, and exits.
struct system_resolver::impl {
    struct queue {
        std::mutex mutex; // guards jobs and stopping
        std::condition_variable ready;
        std::deque<std::function<void()>> jobs;
        bool stopping = false;
    };

    explicit impl(std::size_t threads)
    {
        for (std::size_t i = 0; i < std::max<std::size_t>(threads, 1); ++i)
            std::thread([q = jobs] { work(*q); }).detach();
    }

    ~impl()
    {
        std::lock_guard lock(jobs->mutex);
        jobs->stopping = true;
        jobs->jobs.clear();
        jobs->ready.notify_all();
    }

    void post(std::function<void()> job)
    {
        std::lock_guard lock(jobs->mutex);
        jobs->jobs.push_back(std::move(job));
        jobs->ready.notify_one();
    }

    static void work(queue& q)
    {
        for (;;) {
            std::function<void()> job;
            {
                std::unique_lock lock(q.mutex);
                q.ready.wait(lock, [&] { return q.stopping || !q.jobs.empty(); });
                if (q.stopping)
                    return;
                job = std::move(q.jobs.front());
                q.jobs.pop_front();
            }
            job();
        }
    }

    std::shared_ptr<queue> jobs = std::make_shared<queue>();
};

system_resolver::system_resolver(std::size_t threads) : impl_(std::make_unique<impl>(threads)) {}

system_resolver::~system_resolver() = default;

void system_resolver::do_resolve(std::string host, std::uint16_t port,
                                 asio::any_completion_handler<signature> handler)
{
    auto op = std::make_shared<pending_lookup>(std::move(handler));
    auto slot = asio::get_associated_cancellation_slot(op->handler);
    if (slot.is_connected())
        slot.assign([op](asio::cancellation_type) { op->finish(error::canceled, {}); });
    impl_->post([op, host = std::move(host), port] {
        if (op->done.load())
            return; // abandoned before it started
        auto [ec, found] = lookup(host, port);
        op->finish(ec, std::move(found));
    });
}

static_resolver::static_resolver(std::map<std::string, std::vector<asio::ip::address>, std::less<>> table)
    : table_(std::move(table))
{
}

void static_resolver::do_resolve(std::string host, std::uint16_t port,
                                 asio::any_completion_handler<signature> handler)
{
    auto it = table_.find(host);
    if (it == table_.end() || it->second.empty())
        return detail::post_completion(std::move(handler), error_code(error::host_not_found),
                                       std::vector<endpoint>{});
    std::vector<endpoint> found;
    for (const auto& a : it->second)
        found.emplace_back(a, port);
    detail::post_completion(std::move(handler), error_code{}, std::move(found));
}

} // namespace roundtrip
