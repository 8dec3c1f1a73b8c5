// SOCKS5 (RFC 1928) with username/password authentication (RFC 1929): the handshake that asks a
// SOCKS5 proxy for a tunnel to a server, over a connection already made to the proxy. The messages
// are built and read by the functions below, which need no socket; socks5_handshake runs them.
#pragma once

#include "timed_stream.hpp"

#include <roundtrip/detail/config.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace roundtrip {
struct proxy;
}

namespace roundtrip::detail::socks5 {

// The greeting: the authentication methods offered. With credentials, both "none" and
// username/password, so that a proxy that needs none is not sent them.
std::string greeting(bool with_credentials);

// RFC 1929's request. Each part is at most 255 bytes (the transport refuses longer ones).
std::string credentials(std::string_view username, std::string_view password);

// The CONNECT request for `host` (an IP literal is sent as an address, anything else as a name for
// the proxy to resolve; at most 255 bytes) and `port`.
std::string connect_request(std::string_view host, std::uint16_t port);

// The size of the whole CONNECT reply, given its first five bytes (through the first byte of the
// bound address); 0 when the address type is not one RFC 1928 defines.
std::size_t reply_size(std::span<const unsigned char, 5> head);

// The error a reply code (REP) means: none for 0 (succeeded), connection_refused for 5 (the server
// refused the proxy), else proxy_error.
error_code reply_error(unsigned reply);

// What the handshake ended with: the reply code when one arrived (else 0), and the error.
struct outcome {
    unsigned reply = 0;
    error_code error;
};

// Runs the handshake on `stream`, connected to `via`, for a tunnel to `host`:`port`. A proxy that
// is not SOCKS5, offers no method we can use, refuses the credentials, or hangs up fails with
// proxy_error; a stream error (a timeout, a cancel) is returned as it is.
asio::awaitable<outcome> handshake(timed_stream& stream, const proxy& via, std::string host, std::uint16_t port);

} // namespace roundtrip::detail::socks5
