// A round tripper that answers from a script instead of a network, for testing middleware without
// sockets: responses, errors, delays and faults, with the lifecycle events a real transport emits.
#pragma once

#include <roundtrip/header_fields.hpp>
#include <roundtrip/round_tripper.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace roundtrip::testing {

/// Where a scripted attempt fails. Each one fails the way roundtrip's transport does, with the same
/// error, the same `request_progress` and the same events up to the failure.
enum class fault {
    none,
    /// The attempt dials a new connection (passing over idle ones) and the connect is refused:
    /// `connect_done` carries `ECONNREFUSED` and the attempt fails with `error::connection_refused`
    /// before anything is sent (`request_progress::not_sent`).
    refuse_connect,
    /// The request is written (`wrote_request`), then the server resets the connection: the attempt
    /// fails with `error::connection_reset`, and the server may have processed the request
    /// (`request_progress::possibly_processed`). On a reused connection, a replayable request is then
    /// resent, as with `stale_pooled_connection`.
    reset_after_wrote_request,
    /// The request is written and no response byte ever comes: the attempt ends with
    /// `error::response_header_timeout` after `fake_options::response_header_timeout`, or earlier with
    /// `error::deadline_exceeded` at the call's deadline, or `error::canceled` on cancellation.
    stall_before_first_byte,
    /// The attempt is handed an idle pooled connection (`got_conn{reused = true, was_idle = true}`;
    /// one is made up if the pool has none) that the server had closed: reading finds its end before
    /// a response byte (`error::unexpected_eof`, `request_progress::possibly_processed`). As
    /// roundtrip's transport does, the fake then resends a replayable request (`is_replayable`) as the
    /// next attempt, on another connection (another idle one, if the pool has one), which takes the
    /// next answer of the script. A request that asks for a `new_connection` never gets a pooled one:
    /// for it this fault does not occur, and the answer's response is played on a new connection.
    stale_pooled_connection,
};

/// An `answer` is what one attempt gets: a response, or a fault.
struct answer {
    /// The status; the response's reason phrase is its standard one ("Created"), empty for a code
    /// without one.
    unsigned status = 200;
    /// Response header fields, in order; `Content-Length` is added unless given.
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    /// The server's think time: how long after the request is written the response starts. Bounded,
    /// like a real wait, by the call's deadline (`error::deadline_exceeded`) and cancellation.
    clock::duration delay{};
    /// False: the server closes the connection after this response (`conn_not_pooled{connection_close}`),
    /// as with `Connection: close`.
    bool keep_alive = true;
    /// Makes the attempt fail instead; the response fields are then unused.
    testing::fault fault = fault::none;
};

/// A request as the fake transport received it, one per attempt.
struct received_request {
    std::uint64_t call = 0;
    std::uint32_t attempt = 0;
    std::string method;
    std::string url;
    /// The request's headers as that attempt sent them: after the scoped observers'
    /// `on_attempt_headers` (a tracing middleware's `traceparent`, say).
    header_fields headers;
    /// The body: the buffered one, or what a `body_stream` delivered.
    std::string body;
    bool new_connection = false; ///< The request asked for a new connection.
};

/// `fake_options` say what the fake transport is built with.
struct fake_options {
    /// Observers of every event of every attempt, as `transport_options`'s observers are.
    std::vector<std::shared_ptr<observer>> observers;
    /// What every host name resolves to (`dns_done`), and the remote address of every connection.
    asio::ip::address address = asio::ip::make_address("127.0.0.1");
    /// How long `fault::stall_before_first_byte` waits before failing, as `timeouts::response_header`.
    clock::duration response_header_timeout = std::chrono::seconds(60);
};

/// A `fake_transport` is a round tripper that answers each attempt from a script. Put it at the
/// bottom of a client (`client_options::bottom`) to test middleware without a server:
///
///     auto fake = std::make_shared<testing::fake_transport>();
///     fake->push({.status = 503, .headers = {{"Retry-After", "1"}}});
///     fake->push({.fault = testing::fault::reset_after_wrote_request});
///     fake->push({.status = 200, .body = "done"});
///     client c(client_options{.middleware = {retry()}, .bottom = fake});
///
/// Each attempt takes the next answer pushed; when there is none, `respond_with`'s function answers,
/// and without one an attempt gets `answer{}` (200, no body). It emits the events roundtrip's
/// transport would emit for that attempt (events.hpp), to its own observers and to the request's
/// scoped observers, numbered within the call like the transport's attempts: `get_conn`; for a new
/// connection `dns_*` (not for an IP literal), `connect_*` and, for https, `tls_handshake_*`;
/// `got_conn`, `wrote_headers`, `wrote_request`, `got_first_response_byte`, `response_headers`,
/// `response_body_done`, `put_idle_conn` or `conn_not_pooled` and `conn_closed`, and `attempt_done`.
/// It keeps an idle pool per scheme, host and port, so a second request to a host reuses the first
/// one's connection (`got_conn{reused, was_idle, idle_time}`) unless it asks for a `new_connection`.
/// A streamed response (`request::stream_response`) is read through `response::body_stream`, and its
/// body's events follow when the body ends, as the transport's do.
///
/// An attempt of a client's call runs on that client's strand, as roundtrip's transport does, so
/// observers receive its events there; a round trip outside a client runs on the fake's own strand
/// (a thread of its own, or a strand of the executor it is given). Several clients may share one fake.
/// `push`, `respond_with` and the accessors may be called from any thread. Destroy it after the
/// clients that use it.
///
/// Where it differs from the transport: it does not validate methods or header fields; a request's
/// `body_stream` is read to its end before the answer, without a deadline, so a source that never
/// completes holds the attempt; there is no connection limit, so there are no `wait_for_conn_*`
/// events; `wrote_request.bytes` is computed, not counted.
class fake_transport : public round_tripper {
public:
    /// Answers on a thread of its own.
    explicit fake_transport(fake_options options = {});
    /// Answers on a strand of `ex`, whose context the application runs.
    explicit fake_transport(executor ex, fake_options options = {});
    ~fake_transport() override;
    fake_transport(const fake_transport&) = delete;
    fake_transport& operator=(const fake_transport&) = delete;

    /// Appends an answer to the script: the next attempt without one takes it.
    void push(answer a);
    /// Answers the attempts the script has no answer for: `f(request, attempt)` is called on the fake's
    /// strand, with the attempt's number within its call.
    void respond_with(std::function<answer(const request&, std::uint32_t attempt)> f);

    /// The requests received so far, one per attempt, in order.
    std::vector<received_request> requests() const;
    /// How many attempts were made so far.
    std::size_t attempts() const;
    /// How many connections were opened so far (a refused one counts).
    std::size_t connections() const;

    /// Returns the strand the fake answers on.
    executor get_executor() const noexcept;

private:
    void do_round_trip(request req, asio::any_completion_handler<signature> handler) override;

    struct state;
    struct owned_thread;
    std::unique_ptr<owned_thread> thread_;
    std::shared_ptr<state> state_;
};

} // namespace roundtrip::testing
