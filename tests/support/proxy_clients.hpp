// What the proxy tests share: a proxy parsed from its URL, a client whose every request goes through
// it (trusting the test CA, for servers and https:// proxies alike), and the TLS settings of a test
// server with the test PKI's server identity.
#pragma once

#include <roundtrip/client.hpp>
#include <roundtrip/proxy.hpp>
#include <roundtrip/testing/recorder.hpp>
#include <roundtrip/testing/test_certs.hpp>
#include <roundtrip/testing/test_server.hpp>

#include <doctest/doctest.h>

#include <memory>
#include <string_view>

namespace roundtrip::testing {

inline proxy parsed(std::string_view url)
{
    proxy p;
    REQUIRE_FALSE(proxy::parse(url, p));
    return p;
}

inline client_options through(const proxy& p, std::shared_ptr<recorder> events = nullptr)
{
    client_options o;
    if (events)
        o.observers.push_back(events);
    o.transport.dial.proxy = proxy_for_all(p);
    o.transport.tls.ca_pem = pki().ca_cert;
    return o;
}

inline client_options through(std::string_view proxy_url, std::shared_ptr<recorder> events = nullptr)
{
    return through(parsed(proxy_url), std::move(events));
}

inline tls_options serving_tls()
{
    tls_options o;
    o.identity = pki().server;
    return o;
}

} // namespace roundtrip::testing
