// Names answered with fixed addresses, without asking the resolver: curl's --resolve.
#pragma once

#include <roundtrip/detail/config.hpp>

#include <boost/asio/ip/address.hpp>

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace roundtrip {

/// `name_pins` pins host names to addresses: a dial to a pinned name connects to its addresses, in the
/// order given, without a lookup and without the DNS cache (`dns_done` says `source=pinned`). For
/// tests, and for switching traffic (blue/green) without touching DNS: pins may change while clients
/// use them, and dials that start afterwards see the change. Connections already made stay in the
/// pool until they close; `client::close_idle()` closes the idle ones at once.
///
/// Host names are compared without regard to case. Thread-safe.
class name_pins {
public:
    /// Pins `host` on `port` to `addresses`, replacing an earlier pin of the same host and port. Port
    /// 0 pins every port that has no pin of its own. An empty list removes the pin.
    void pin(std::string_view host, std::uint16_t port, std::vector<asio::ip::address> addresses);

    /// Returns the addresses pinned for `host` on `port` (its own pin, else the host's port-0 pin), or
    /// an empty list when the name is not pinned.
    std::vector<asio::ip::address> find(std::string_view host, std::uint16_t port) const;

private:
    mutable std::mutex mutex_;
    std::map<std::pair<std::string, std::uint16_t>, std::vector<asio::ip::address>> pins_;
};

} // namespace roundtrip
