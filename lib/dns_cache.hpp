// The DNS cache's bookkeeping: answers by host name, each kept until its time is up (a failure for
// less long than an answer), at most `max_names` of them with the least recently used dropped first.
// It reads no clock and makes no lookups: the caller passes `now` and the answers in, so
// tests/dns_cache_test.cpp drives it with plain values. Not thread-safe: the transport's strand owns it.
#pragma once

#include <roundtrip/deadline.hpp>
#include <roundtrip/error.hpp>
#include <roundtrip/transport.hpp>

#include <boost/asio/ip/address.hpp>

#include <list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace roundtrip::detail {

class dns_cache {
public:
    // A lookup's outcome: addresses, or the error that ended it.
    struct answer {
        error_code error;
        std::vector<asio::ip::address> addresses;
    };

    explicit dns_cache(const dns_cache_options& options) : options_(options) {}

    // The answer kept for `host`, if one is and its time is not up at `now`; it becomes the most
    // recently used. An answer whose time is up is dropped.
    std::optional<answer> find(std::string_view host, clock::time_point now)
    {
        auto it = entries_.find(host);
        if (it == entries_.end())
            return std::nullopt;
        if (now >= it->second.expires) {
            erase(it);
            return std::nullopt;
        }
        recent_.splice(recent_.end(), recent_, it->second.recent);
        return it->second.value;
    }

    // Keeps `value` for `host` from `now`: for `ttl` when it has addresses, `failure_ttl` when it is a
    // failure that may say something about the name (host_not_found, dns_failed); a cancelled or
    // timed-out lookup says nothing and is not kept. A time of 0 keeps nothing.
    void store(std::string_view host, answer value, clock::time_point now)
    {
        if (value.error && !kept_failure(value.error))
            return;
        const clock::duration keep = value.error ? options_.failure_ttl : options_.ttl;
        forget(host);
        if (keep <= clock::duration::zero() || options_.max_names == 0)
            return;
        while (entries_.size() >= options_.max_names)
            erase(entries_.find(recent_.front()));
        auto it = entries_.emplace(std::string(host), entry{std::move(value), saturating_add(now, keep), {}}).first;
        it->second.recent = recent_.insert(recent_.end(), it->first);
    }

    // Drops what is kept for `host`, as when every address it gave failed to connect.
    void forget(std::string_view host)
    {
        if (auto it = entries_.find(host); it != entries_.end())
            erase(it);
    }

    std::size_t size() const noexcept { return entries_.size(); }

private:
    struct entry {
        answer value;
        clock::time_point expires;
        std::list<std::string_view>::iterator recent; // its place in recent_
    };
    using entries = std::map<std::string, entry, std::less<>>;

    static bool kept_failure(const error_code& ec) noexcept
    {
        return ec == error::host_not_found || ec == error::dns_failed;
    }

    void erase(entries::iterator it)
    {
        recent_.erase(it->second.recent);
        entries_.erase(it);
    }

    const dns_cache_options& options_;
    entries entries_;
    std::list<std::string_view> recent_; // keys of entries_, least recently used first
};

} // namespace roundtrip::detail
