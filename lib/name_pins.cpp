// Pinned names: a table under a mutex, read once per dial of a pinned client.
#include "ascii.hpp"

#include <roundtrip/name_pins.hpp>

namespace roundtrip {

using detail::ascii_lower;

void name_pins::pin(std::string_view host, std::uint16_t port, std::vector<asio::ip::address> addresses)
{
    std::lock_guard lock(mutex_);
    auto key = std::make_pair(ascii_lower(host), port);
    if (addresses.empty())
        pins_.erase(key);
    else
        pins_[std::move(key)] = std::move(addresses);
}

std::vector<asio::ip::address> name_pins::find(std::string_view host, std::uint16_t port) const
{
    std::string name = ascii_lower(host);
    std::lock_guard lock(mutex_);
    auto it = pins_.find(std::make_pair(name, port));
    if (it == pins_.end())
        it = pins_.find(std::make_pair(std::move(name), std::uint16_t{0}));
    return it == pins_.end() ? std::vector<asio::ip::address>{} : it->second;
}

} // namespace roundtrip
