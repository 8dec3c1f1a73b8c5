// A scriptable HTTP/1.1 server on a loopback address (127.0.0.1:0 by default) for tests. Each connection runs on a thread
// of its own and calls the test's handler for each request; the handler scripts the reply: delay,
// close, reset, stall, raw bytes, or an ordinary response. Blocking code on purpose: a handler reads
// like the misbehaviour it stages. The server speaks plain HTTP, or HTTPS when given tls_options.
#pragma once

#include <roundtrip/testing/test_certs.hpp>

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

namespace roundtrip::testing {

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
    // Writes `pieces` so that they leave in one TCP segment; in TLS mode each piece is a TLS record
    // of its own. Stages bytes that arrive together with a response but lie past its end.
    virtual void write_together(const std::vector<std::string>& pieces) = 0;
    // TLS mode: sends a TLS 1.3 KeyUpdate record, which carries no data; a record a client must read
    // through TLS on an idle connection, like a late session ticket. Plain mode: nothing.
    virtual void send_key_update() = 0;
    // Writes bytes to the socket beneath TLS (in plain mode, as write_raw): stages a corrupt record.
    virtual void write_below_tls(std::string_view bytes) = 0;
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
    // For a request sent with `Expect: 100-continue`, whose handler runs once its head has arrived
    // (`server_request::body` is empty then): reads the body, which a client sends after a
    // `100 Continue` or its own timeout. A handler that answers without reading it ends the connection.
    virtual std::string read_body() = 0;
};

using handler = std::function<void(const server_request&, exchange&)>;

// Replies 200 with body "ok".
handler reply_ok();

// A port on 127.0.0.1 where nothing listens (a server bound it and closed): connecting is refused.
std::uint16_t refused_port();

// How a test_server speaks TLS. Every exchange operation works as in plain mode; reset() still
// sends a TCP RST, with no TLS alert.
struct tls_options {
    // The server's certificate and key, usually pki().server or one of its broken variants.
    pem_identity identity;
    // PEM. Empty: no client certificate is asked for. Otherwise the server requires one that verifies
    // against this CA; a client without one, or with another, fails the handshake (in TLS 1.3 the
    // client sees the rejection as an alert on its first read, after its own handshake completed).
    std::string client_ca;
    // True: resumption is offered, with tickets (two per TLS 1.3 handshake) and a server-side
    // session cache (TLS 1.2 session ids). False: no tickets and no cache, so nothing ever resumes.
    bool session_tickets = true;
    // The highest protocol version, such as TLS1_2_VERSION from <openssl/tls1.h>; 0 means OpenSSL's
    // default, TLS 1.3.
    int max_version = 0;
    // True: a connection the server ends gets close_notify and then FIN. False: FIN alone, so the
    // client sees a truncated stream. The server never waits for the client's close_notify.
    bool close_notify = true;
    // True: the server selects `http/1.1` by ALPN when the client offers it, as real servers do.
    // False: the server ignores ALPN and selects nothing.
    bool alpn_http11 = true;
};

class test_server {
public:
    // Listens on `address` ("127.0.0.1", "::1", "127.0.0.2", ...) and `port` (0: a free one).
    explicit test_server(handler h = reply_ok(), std::string_view address = "127.0.0.1", std::uint16_t port = 0);
    // Listens as above and speaks TLS on every connection. A connection whose handshake fails
    // (rejected certificate, plain HTTP) ends quietly without calling the handler. Throws
    // std::system_error or std::invalid_argument when `tls` cannot be loaded.
    test_server(handler h, tls_options tls, std::string_view address = "127.0.0.1", std::uint16_t port = 0);
    ~test_server();
    test_server(const test_server&) = delete;
    test_server& operator=(const test_server&) = delete;

    std::uint16_t port() const noexcept;
    // "http://ADDRESS:PORT" + path ("https://" in TLS mode), with an IPv6 address in brackets.
    std::string url(std::string_view path = "/") const;
    // Requests read so far, over all connections.
    std::size_t requests() const noexcept;
    // Connections accepted so far.
    std::size_t connections() const noexcept;
    // TLS handshakes completed so far; 0 in plain mode.
    std::size_t handshakes() const noexcept;
    // Of those handshakes, the ones that resumed an earlier session (ticket or session id).
    std::size_t resumed_handshakes() const noexcept;
    // The subject of the last client certificate the server verified, on one line
    // ("CN = roundtrip-test-client"); empty if none was.
    std::string last_client_subject() const;
    // Stops accepting, wakes sleeping and stalled handlers, closes every connection, joins threads.
    void stop();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace roundtrip::testing
