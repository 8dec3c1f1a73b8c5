// A resolver that never answers and ignores cancellation: the worst a user-supplied resolver can do.
#pragma once

#include <roundtrip/resolver.hpp>

#include <mutex>
#include <vector>

namespace roundtrip::testing {

class silent_resolver : public resolver {
public:
    std::size_t lookups() const
    {
        std::lock_guard lock(mutex_);
        return held_.size();
    }

private:
    void do_resolve(std::string, std::uint16_t, asio::any_completion_handler<signature> handler) override
    {
        std::lock_guard lock(mutex_);
        held_.push_back(std::move(handler)); // never invoked: destroyed with the resolver
    }
    mutable std::mutex mutex_;
    std::vector<asio::any_completion_handler<signature>> held_;
};

} // namespace roundtrip::testing
