// Pins, the cache and shared lookups, for the dials of one transport.
#include "lookup_group.hpp"

#include "ascii.hpp"

#include <roundtrip/error.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>

#include <algorithm>

namespace roundtrip::detail {
namespace {

std::vector<endpoint> with_port(const std::vector<asio::ip::address>& addresses, std::uint16_t port)
{
    std::vector<endpoint> out;
    out.reserve(addresses.size());
    for (const auto& a : addresses)
        out.emplace_back(a, port);
    return out;
}

} // namespace

lookup_group::lookup_group(executor strand, std::shared_ptr<resolver> names, const dial_options& options)
    : strand_(std::move(strand)), resolver_(std::move(names)), options_(options), cache_(options.dns_cache)
{
}

void lookup_group::forget(std::string_view host, const std::vector<endpoint>& addresses)
{
    const std::string name = ascii_lower(host);
    auto kept = cache_.find(name, clock::now());
    if (!kept || kept->error)
        return;
    std::vector<asio::ip::address> tried;
    for (const auto& e : addresses)
        tried.push_back(e.address());
    std::sort(tried.begin(), tried.end());
    std::sort(kept->addresses.begin(), kept->addresses.end());
    if (tried == kept->addresses)
        cache_.forget(name);
}

std::optional<lookup_group::answer> lookup_group::find(std::string_view host, std::uint16_t port, bool use_cache,
                                                       answer_handler then, ticket& out)
{
    if (options_.pins) {
        auto pinned = options_.pins->find(host, port);
        if (!pinned.empty())
            return answer{{}, with_port(pinned, port), dns_source::pinned};
    }
    std::string name = ascii_lower(host);
    if (use_cache)
        if (auto kept = cache_.find(name, clock::now()))
            return answer{kept->error, with_port(kept->addresses, port), dns_source::cache};

    out.host = name;
    out.id = ++last_ticket_;
    auto it = flights_.find(name);
    out.joined = it != flights_.end();
    if (out.joined) {
        it->second.waiting.push_back({out.id, port, std::move(then)});
        return std::nullopt;
    }
    auto cancel = std::make_shared<asio::cancellation_signal>();
    it = flights_.emplace(name, flight{out.id, cancel, {}}).first;
    it->second.waiting.push_back({out.id, port, std::move(then)});
    resolver_->async_resolve(
        name, port,
        asio::bind_cancellation_slot(
            cancel->slot(),
            // Weak: an abandoned lookup keeps neither the group nor the transport alive.
            asio::bind_executor(strand_, [weak = weak_from_this(), name, starter = out.id, cancel](
                                             error_code ec, std::vector<endpoint> found) {
                if (auto self = weak.lock())
                    self->on_answer(name, starter, ec, std::move(found));
            })));
    return std::nullopt;
}

void lookup_group::withdraw(ticket& t)
{
    if (t.id == 0)
        return;
    auto it = flights_.find(t.host);
    const std::uint64_t id = std::exchange(t.id, 0);
    if (it == flights_.end())
        return;
    auto& waiting = it->second.waiting;
    std::erase_if(waiting, [&](const joined& j) { return j.id == id; });
    if (!waiting.empty())
        return; // the others still want it
    // Nobody does: end the lookup now rather than let it hold a resolver thread and the strand's work.
    auto cancel = std::move(it->second.cancel);
    flights_.erase(it);
    cancel->emit(asio::cancellation_type::terminal);
}

void lookup_group::on_answer(const std::string& host, std::uint64_t starter, error_code ec, std::vector<endpoint> found)
{
    auto it = flights_.find(host);
    if (it == flights_.end() || it->second.starter != starter)
        return; // withdrawn by all; a newer lookup of the name may be in flight
    std::vector<joined> waiting = std::move(it->second.waiting);
    flights_.erase(it);
    if (!ec && found.empty()) // a resolver's "success" with nothing to connect to
        ec = error::host_not_found;

    dns_cache::answer kept{ec, {}};
    kept.addresses.reserve(found.size());
    for (const auto& e : found)
        kept.addresses.push_back(e.address());
    cache_.store(host, kept, clock::now());

    for (auto& j : waiting) {
        answer a{ec, ec ? std::vector<endpoint>{} : with_port(kept.addresses, j.port),
                 j.id == starter ? dns_source::lookup : dns_source::coalesced};
        j.then(std::move(a));
    }
}

} // namespace roundtrip::detail
