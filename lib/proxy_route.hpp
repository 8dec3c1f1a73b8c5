// What the transport derives once from a proxy a selector chose: how it shows in events and pool
// keys, and the Proxy-Authorization value its credentials give. Shared by the attempts and dials
// that go through it.
#pragma once

#include <roundtrip/proxy.hpp>

#include <memory>
#include <string>

namespace roundtrip::detail {

struct proxy_route {
    std::shared_ptr<const proxy> via;
    std::string where;         // "http://host:port", never the credentials
    std::string key_suffix;    // "#proxy=http://host:port", with "#auth<hash>" when it has credentials
    std::string authorization; // "Basic ..." when it has credentials, else empty

    explicit proxy_route(std::shared_ptr<const proxy> p);
};

} // namespace roundtrip::detail
