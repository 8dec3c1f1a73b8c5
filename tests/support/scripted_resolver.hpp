// A resolver for the DNS cache's tests: answers from a table the test may change, counts the lookups
// it was asked for, and can hold them until the test releases them (so that concurrent dials find a
// lookup in flight). A held lookup honours cancellation, and counts it.
#pragma once

#include <roundtrip/error.hpp>
#include <roundtrip/resolver.hpp>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/system_executor.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace roundtrip::testing {

class scripted_resolver : public resolver {
public:
    // Answers `host` with `addresses` from now on; an empty list: host_not_found.
    void set(const std::string& host, std::vector<asio::ip::address> addresses)
    {
        std::lock_guard lock(state_->mutex);
        state_->table[host] = std::move(addresses);
    }
    // While held, lookups wait for release().
    void hold()
    {
        std::lock_guard lock(state_->mutex);
        state_->holding = true;
    }
    void release()
    {
        std::map<std::uint64_t, lookup> ready;
        {
            std::lock_guard lock(state_->mutex);
            state_->holding = false;
            ready.swap(state_->held);
        }
        for (auto& [id, l] : ready)
            answer(state_, std::move(l));
    }
    std::size_t lookups() const
    {
        std::lock_guard lock(state_->mutex);
        return state_->lookups;
    }
    std::size_t held() const
    {
        std::lock_guard lock(state_->mutex);
        return state_->held.size();
    }
    std::size_t cancelled() const
    {
        std::lock_guard lock(state_->mutex);
        return state_->cancelled;
    }

private:
    struct lookup {
        std::string host;
        std::uint16_t port;
        asio::any_completion_handler<signature> handler;
    };
    struct state {
        std::mutex mutex;
        std::map<std::string, std::vector<asio::ip::address>> table;
        std::map<std::uint64_t, lookup> held;
        std::uint64_t next = 0;
        std::size_t lookups = 0, cancelled = 0;
        bool holding = false;
    };

    void do_resolve(std::string host, std::uint16_t port, asio::any_completion_handler<signature> handler) override
    {
        std::unique_lock lock(state_->mutex);
        ++state_->lookups;
        if (!state_->holding) {
            lock.unlock();
            return answer(state_, {std::move(host), port, std::move(handler)});
        }
        const std::uint64_t id = ++state_->next;
        auto slot = asio::get_associated_cancellation_slot(handler);
        if (slot.is_connected()) // called on the handler's strand, as the contract promises
            slot.assign([s = state_, id](asio::cancellation_type) {
                std::unique_lock lock(s->mutex);
                auto it = s->held.find(id);
                if (it == s->held.end())
                    return;
                lookup l = std::move(it->second);
                s->held.erase(it);
                ++s->cancelled;
                lock.unlock();
                complete(std::move(l.handler), error::canceled, {});
            });
        state_->held.emplace(id, lookup{std::move(host), port, std::move(handler)});
    }

    static void answer(const std::shared_ptr<state>& s, lookup l)
    {
        std::vector<endpoint> found;
        {
            std::lock_guard lock(s->mutex);
            for (const auto& a : s->table[l.host])
                found.emplace_back(a, l.port);
        }
        const error_code ec = found.empty() ? error_code(error::host_not_found) : error_code{};
        complete(std::move(l.handler), ec, std::move(found));
    }

    // Through another thread, so the handler never runs inside async_resolve or a cancellation.
    static void complete(asio::any_completion_handler<signature> h, error_code ec, std::vector<endpoint> found)
    {
        auto ex = asio::prefer(asio::get_associated_executor(h), asio::execution::outstanding_work.tracked);
        asio::post(asio::system_executor(), [ex, h = std::move(h), ec, found = std::move(found)]() mutable {
            ex.execute([h = std::move(h), ec, found = std::move(found)]() mutable {
                auto slot = asio::get_associated_cancellation_slot(h);
                if (slot.is_connected())
                    slot.clear();
                std::move(h)(ec, std::move(found));
            });
        });
    }

    std::shared_ptr<state> state_ = std::make_shared<state>();
};

} // namespace roundtrip::testing
