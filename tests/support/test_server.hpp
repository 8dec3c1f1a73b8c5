// A scriptable HTTP/1.1 server on a loopback address (127.0.0.1:0 by default) for tests. Each connection runs on a thread
// of its own and calls the test's handler for each request; the handler scripts the reply: delay,
// close, reset, stall, raw bytes, or an ordinary response. Blocking code on purpose: a handler reads
// like the misbehaviour it stages.
#pragma once

#include <roundtrip/header_fields.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace roundtrip::test {

// A request as the server read it.
struct server_request {
    std::string method;
    std::string target;
    unsigned version = 11;
    header_fields headers;
    std::string body;
};

// What a handler can do with the connection its request arrived on.
class exchange {
public:
    virtual ~exchange() = default;
    // Writes a complete response with Content-Length; `extra` headers come after it.
    virtual void reply(unsigned status, std::string_view body = {},
                       std::vector<std::pair<std::string, std::string>> extra = {}) = 0;
    // Writes bytes as they are.
    virtual void write_raw(std::string_view bytes) = 0;
    // Sleeps, but wakes early when the server stops.
    virtual void sleep(std::chrono::milliseconds d) = 0;
    // Closes the connection after this handler (FIN).
    virtual void close() = 0;
    // Resets the connection now (RST): the client sees connection_reset.
    virtual void reset() = 0;
    // Holds the connection without reading or writing until the server stops.
    virtual void stall() = 0;
    // The client's port, to tell connections apart (proof of reuse).
    virtual std::uint16_t client_port() const = 0;
    // The number of this request on its connection, from 1.
    virtual std::size_t request_index() const = 0;
};

using handler = std::function<void(const server_request&, exchange&)>;

// Replies 200 with body "ok".
handler reply_ok();

// A port on 127.0.0.1 where nothing listens (a server bound it and closed): connecting is refused.
std::uint16_t refused_port();

class test_server {
public:
    // Listens on `address` ("127.0.0.1", "::1", "127.0.0.2", ...) and `port` (0: a free one).
    explicit test_server(handler h = reply_ok(), std::string_view address = "127.0.0.1", std::uint16_t port = 0);
    ~test_server();
    test_server(const test_server&) = delete;
    test_server& operator=(const test_server&) = delete;

    std::uint16_t port() const noexcept;
    // "http://ADDRESS:PORT" + path, with an IPv6 address in brackets.
    std::string url(std::string_view path = "/") const;
    // Requests read so far, over all connections.
    std::size_t requests() const noexcept;
    // Connections accepted so far.
    std::size_t connections() const noexcept;
    // Stops accepting, wakes sleeping and stalled handlers, closes every connection, joins threads.
    void stop();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace roundtrip::test
