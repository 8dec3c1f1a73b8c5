// What sends an OTLP/HTTP export: a roundtrip client of its own, without middleware (so its own
// requests are never traced or measured, which would feed on themselves), on a thread of its own
// (so exports never wait on the application's executor). Not API: the OTLP exporters' own.
#pragma once

#include <roundtrip/client.hpp>
#include <roundtrip/header_fields.hpp>

#include <string>

namespace roundtrip::detail::otlp {

class sender {
public:
    // Throws `boost::system::system_error` (`error::invalid_config`) when `transport` names TLS
    // files that cannot be loaded.
    sender(std::string endpoint, header_fields headers, const transport_options& transport);

    // POSTs `body` as application/json, once, waiting at most `timeout`; returns whether the
    // receiver accepted it (a 2xx answer). OTLP's partial success (a 200 naming rejected items)
    // counts as accepted: the rejected ones must not be sent again anyway. Blocking: call it from
    // the exporter's own thread.
    bool post(std::string body, clock::duration timeout) noexcept;

    // Ends an export in flight (it fails) and every later one. Returns at once.
    void close() noexcept;

private:
    const std::string endpoint_;
    const header_fields headers_;
    client client_;
};

} // namespace roundtrip::detail::otlp
