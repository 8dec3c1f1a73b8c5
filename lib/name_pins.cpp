// Pinned names: a table under a mutex, read once per dial of a pinned client.
#include <roundtrip/name_pins.hpp>

#include <algorithm>

namespace roundtrip {
namespace {

std::string lowercase(std::string_view s)
{
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
    return out;
}

} // namespace

void name_pins::pin(std::string_view host, std::uint16_t port, std::vector<asio::ip::address> addresses)
{
    std::lock_guard lock(mutex_);
    auto key = std::make_pair(lowercase(host), port);
    if (addresses.empty())
        pins_.erase(key);
    else
        pins_[std::move(key)] = std::move(addresses);
}

std::vector<asio::ip::address> name_pins::find(std::string_view host, std::uint16_t port) const
{
    std::string name = lowercase(host);
    std::lock_guard lock(mutex_);
    auto it = pins_.find(std::make_pair(name, port));
    if (it == pins_.end())
        it = pins_.find(std::make_pair(std::move(name), std::uint16_t{0}));
    return it == pins_.end() ? std::vector<asio::ip::address>{} : it->second;
}

bool name_pins::empty() const
{
    std::lock_guard lock(mutex_);
    return pins_.empty();
}

} // namespace roundtrip
