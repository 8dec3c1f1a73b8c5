// A resolver that answers its first lookup at once and holds later ones until the test releases
// them: it lets a test keep a dial in flight for exactly as long as it needs.
#pragma once

#include <roundtrip/resolver.hpp>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/system_executor.hpp>

#include <mutex>
#include <vector>

namespace roundtrip::testing {

class gated_resolver : public resolver {
public:
    // Answers every name with 127.0.0.1.
    void release()
    {
        std::vector<std::pair<asio::any_completion_handler<signature>, std::uint16_t>> ready;
        {
            std::lock_guard lock(mutex_);
            ready.swap(held_);
            open_ = true;
        }
        for (auto& [h, port] : ready)
            answer(std::move(h), port);
    }

    std::size_t held() const
    {
        std::lock_guard lock(mutex_);
        return held_.size();
    }

private:
    void do_resolve(std::string, std::uint16_t port, asio::any_completion_handler<signature> handler) override
    {
        {
            std::lock_guard lock(mutex_);
            if (answered_++ > 0 && !open_) {
                held_.emplace_back(std::move(handler), port);
                return;
            }
        }
        answer(std::move(handler), port);
    }

    // Through another thread, so the handler never runs inside async_resolve.
    static void answer(asio::any_completion_handler<signature> h, std::uint16_t port)
    {
        auto ex = asio::prefer(asio::get_associated_executor(h), asio::execution::outstanding_work.tracked);
        std::vector<endpoint> found{endpoint(asio::ip::make_address("127.0.0.1"), port)};
        asio::post(asio::system_executor(), [ex, h = std::move(h), found = std::move(found)]() mutable {
            ex.execute([h = std::move(h), found = std::move(found)]() mutable {
                std::move(h)(error_code{}, std::move(found));
            });
        });
    }

    mutable std::mutex mutex_;
    std::vector<std::pair<asio::any_completion_handler<signature>, std::uint16_t>> held_;
    std::size_t answered_ = 0;
    bool open_ = false;
};

} // namespace roundtrip::testing
