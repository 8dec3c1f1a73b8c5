// Where a request goes and what it says on the request line: parsed once per attempt from the
// request's URL, after every syntax check a request must pass before a connection is made.
#pragma once

#include <roundtrip/detail/config.hpp>
#include <roundtrip/request.hpp>

#include <boost/asio/ip/address.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace roundtrip::detail {

struct proxy_route;

struct target {
    std::string host;             // the name to resolve, or the IP literal without brackets
    bool host_is_ip = false;      // an IP literal: no name resolution
    asio::ip::address ip;         // when host_is_ip
    std::uint16_t port = 0;
    bool tls = false;             // https
    std::string_view scheme() const noexcept { return tls ? "https" : "http"; }
    std::string_view host_header; // host[:port] as the URL spells it; points into the request's url
    std::string_view path;        // origin-form request target; points into the url or owned_path
    std::string owned_path;       // only when the URL's target lacks its leading "/"
    std::shared_ptr<const proxy_route> route; // the proxy the connection goes through; set by the transport
    bool absolute_form = false;               // `path` is the absolute URL, for a proxy; set by the transport

    target() = default;
    target(const target&) = delete; // `path` may point into `owned_path`
    target& operator=(const target&) = delete;
};

// Checks an absolute http(s) URL and fills `out` (the request line's parts too). Returns
// error::invalid_url, unsupported_scheme or invalid_port. `out` refers into `url`.
error_code parse_url(std::string_view url, target& out);

// Checks the method, URL and header fields of `req` and fills `out`. Returns one of
// error::invalid_method, invalid_url, unsupported_scheme, invalid_port, invalid_header_name,
// invalid_header_value. `out` refers into `req.url`, which must outlive it.
error_code parse_target(const request& req, target& out);

// Checks header fields only; for headers set by attempt hooks.
error_code check_fields(const header_fields& fields);

// parse_target with a memory of the last URL that parsed: a client sending to one URL again and
// again (the common case, and every benchmark) skips Boost.URL for it (3k instructions a request).
// The method and the header fields are checked every time. Only on the transport's strand.
class target_cache {
public:
    error_code parse(const request& req, target& out);

private:
    std::string url_; // the last URL that parsed; empty: none
    std::string host_;
    bool host_is_ip_ = false;
    asio::ip::address ip_;
    std::uint16_t port_ = 0;
    bool tls_ = false;
    std::size_t host_header_at_ = 0, host_header_size_ = 0; // in url_, and in any equal URL
    std::size_t path_at_ = 0, path_size_ = 0;               // path_size_ 0: the path is "/"
};

} // namespace roundtrip::detail
