// What the transport derives once from a proxy a selector chose: how it shows in events and pool
// keys, and the Proxy-Authorization value its credentials give. Shared by the attempts and dials
// that go through it.
#pragma once

#include <roundtrip/proxy.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace roundtrip::detail {

class tls_context;

struct proxy_route {
    std::shared_ptr<const proxy> via;
    std::string where;         // "http://host:port", "socks5h://host:port": never the credentials
    std::string key_suffix;    // "#proxy=" and `where`, with "#auth<n>" when it has credentials
    std::string authorization; // "Basic ..." for an HTTP proxy with credentials, else empty
    std::shared_ptr<tls_context> tls; // an https:// proxy's: the transport's TLS settings; else null

    // `credentials` numbers the proxy's user and password among those the transport has seen (1, 2,
    // ...): keys tell credentials apart without showing them, or anything derived from them.
    // `proxy_tls` is what TLS with an https:// proxy is made with (null for the other kinds).
    proxy_route(std::shared_ptr<const proxy> p, std::uint64_t credentials, std::shared_ptr<tls_context> proxy_tls);
};

// Whether `p` is a SOCKS5 proxy (the others speak HTTP).
inline bool is_socks(const proxy& p) noexcept
{
    return p.kind == proxy::protocol::socks5 || p.kind == proxy::protocol::socks5h;
}

// `host` as it appears before ":port": an IPv6 address in brackets.
inline std::string bracketed(std::string_view host)
{
    return host.find(':') == std::string_view::npos ? std::string(host) : "[" + std::string(host) + "]";
}

} // namespace roundtrip::detail
