// Streamed bodies both ways, Expect: 100-continue, and per-request limits: what the caller reads and
// writes, what reaches the server, and what becomes of the connection.
#include <roundtrip/testing/recorder.hpp>
#include <roundtrip/testing/test_server.hpp>
#include <roundtrip/testing/wait.hpp>

#include <roundtrip/body_pipe.hpp>
#include <roundtrip/client.hpp>
#include <roundtrip/error.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <doctest/doctest.h>

#include <unistd.h>

#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>
#include <future>
#include <thread>

using namespace roundtrip;
using namespace std::chrono_literals;

namespace {

// Starts an asynchronous operation whose handler takes (error_code, T); the future has its outcome.
template <class T, class Op>
std::future<std::pair<error_code, T>> start(Op op)
{
    auto p = std::make_shared<std::promise<std::pair<error_code, T>>>();
    auto f = p->get_future();
    op([p](error_code ec, T v) { p->set_value({ec, std::move(v)}); });
    return f;
}

std::pair<error_code, std::size_t> read_some(body_reader& body, asio::mutable_buffer into)
{
    return start<std::size_t>([&](auto h) { body.async_read_some(into, std::move(h)); }).get();
}

std::pair<error_code, std::size_t> write(body_pipe& pipe, std::string_view bytes)
{
    return start<std::size_t>([&](auto h) { pipe.async_write(asio::buffer(bytes), std::move(h)); }).get();
}

std::future<std::pair<error_code, response>> send(client& c, const request& req)
{
    return start<response>([&](auto h) { c.async_send(req, std::move(h)); });
}

// Reads `body` to its end in pieces of `piece` bytes; returns what was read and how it ended.
std::pair<std::string, error_code> read_all(body_reader& body, std::size_t piece = 7)
{
    std::string out;
    std::vector<char> buffer(piece);
    for (int reads = 0; reads < 1'000'000; ++reads) {
        auto [ec, n] = read_some(body, asio::buffer(buffer));
        out.append(buffer.data(), n);
        if (ec)
            return {out, ec};
    }
    return {out, error::protocol_error}; // never ends: fail the test, not hang it
}


std::string pattern(std::size_t n)
{
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i)
        s[i] = static_cast<char>('a' + i % 23);
    return s;
}

request streamed(std::string url)
{
    request req("GET", url);
    req.stream_response = true;
    return req;
}

// A body source under test's control: it delivers `text` (or, with `hang`, keeps each read's handler
// and never completes it) and records every finish() it is told.
struct scripted_source : body_source {
    std::string text;
    bool hang = false;
    std::size_t offset = 0;
    std::mutex mutex;
    std::vector<error_code> finishes;
    std::optional<read_handler> held; // a read that hangs
    asio::mutable_buffer held_into;

    std::optional<std::uint64_t> length() const noexcept override { return std::nullopt; }
    void async_read_some(asio::mutable_buffer into, read_handler handler) override
    {
        if (hang) {
            std::lock_guard lock(mutex);
            held.emplace(std::move(handler));
            held_into = into;
            return;
        }
        const std::size_t n = std::min(into.size(), text.size() - offset);
        std::memcpy(into.data(), text.data() + offset, n);
        offset += n;
        std::move(handler)(n ? error_code{} : error_code(asio::error::eof), n); // inline, as the contract allows
    }
    void finish(error_code why) noexcept override
    {
        std::lock_guard lock(mutex);
        finishes.push_back(why);
    }
    std::vector<error_code> finished()
    {
        std::lock_guard lock(mutex);
        return finishes;
    }
    // Completes the held read late, writing into the buffer it was given, as a real source would.
    void complete_late()
    {
        std::optional<read_handler> h;
        {
            std::lock_guard lock(mutex);
            h.swap(held);
        }
        if (h) {
            std::memset(held_into.data(), 'x', held_into.size());
            std::move (*h)(error_code{}, held_into.size());
        }
    }
};

} // namespace

TEST_CASE("a streamed response is read in pieces, and its connection is pooled at its end")
{
    const std::string big = pattern(300 * 1024);
    testing::test_server server([&](const testing::server_request& req, testing::exchange& ex) {
        if (req.target == "/chunked")
            ex.write_raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
        else
            ex.reply(200, big);
    });
    auto events = std::make_shared<testing::recorder>();
    client_options options{.observers = {events}};
    options.transport.limits.max_body_bytes = 1024; // a buffered limit does not bound a streamed body
    client c(std::move(options));

    result r = c.round_trip(streamed(server.url("/big")));
    REQUIRE_FALSE(r.error);
    CHECK(r.response.body.empty());
    CHECK(testing::connection_fate(*events) == "none"); // the body is still on the connection
    auto [got, end] = read_all(r.response.body_stream, 1000);
    CHECK(end == asio::error::eof);
    CHECK(got == big);
    CHECK(testing::eventually([&] { return testing::connection_fate(*events) == "pooled"; }));
    const std::string order = events->names();
    CHECK(order.find("call_done") < order.find("response_body_done"));
    auto done = events->first<response_body_done>();
    REQUIRE(done);
    CHECK(done->bytes == big.size());

    // Chunked, through asio::async_read as any AsyncReadStream, on the same connection.
    result chunked = c.round_trip(streamed(server.url("/chunked")));
    REQUIRE_FALSE(chunked.error);
    CHECK(chunked.attempt.reused);
    std::string text;
    auto [ec, n] = start<std::size_t>([&](auto h) {
                       asio::async_read(chunked.response.body_stream, asio::dynamic_buffer(text), std::move(h));
                   }).get();
    CHECK(ec == asio::error::eof);
    CHECK(text == "hello world");
    CHECK(n == 11);
    CHECK(server.connections() == 1);
}

TEST_CASE("a streamed response without a body is at its end at once, its connection already pooled")
{
    testing::test_server server([](const testing::server_request&, testing::exchange& ex) { ex.write_raw("HTTP/1.1 204 No Content\r\n\r\n"); });
    auto events = std::make_shared<testing::recorder>();
    client c(client_options{.observers = {events}});
    result r = c.round_trip(streamed(server.url()));
    REQUIRE_FALSE(r.error);
    CHECK(testing::connection_fate(*events) == "pooled");
    auto [got, end] = read_all(r.response.body_stream);
    CHECK(got.empty());
    CHECK(end == asio::error::eof);
}

TEST_CASE("a streamed body dropped early is drained when little is left, else its connection is closed")
{
    const std::string small = pattern(20 * 1024), large = pattern(2 * 1024 * 1024);
    testing::test_server server([&](const testing::server_request& req, testing::exchange& ex) {
        ex.reply(200, req.target == "/small" ? small : large);
    });

    SUBCASE("a little left: drained and pooled")
    {
        auto events = std::make_shared<testing::recorder>();
        client c(client_options{.observers = {events}});
        {
            result r = c.round_trip(streamed(server.url("/small")));
            std::array<char, 100> some;
            auto [ec, n] = read_some(r.response.body_stream, asio::buffer(some));
            CHECK_FALSE(ec);
            CHECK(n > 0);
        } // dropped here
        CHECK(testing::eventually([&] { return testing::connection_fate(*events) == "pooled"; }));
        CHECK(c.round_trip(request("GET", server.url("/small"))).attempt.reused);
    }
    SUBCASE("much left: closed as body_not_drained")
    {
        auto events = std::make_shared<testing::recorder>();
        client c(client_options{.observers = {events}});
        {
            result r = c.round_trip(streamed(server.url("/large")));
            std::array<char, 100> some;
            CHECK_FALSE(read_some(r.response.body_stream, asio::buffer(some)).first);
        }
        CHECK(testing::eventually([&] { return testing::connection_fate(*events) == "body_not_drained"; }));
        CHECK(testing::eventually([&] { return events->first<conn_closed>() != nullptr; }));
    }
    SUBCASE("never read: closed at once as body_not_drained")
    {
        auto events = std::make_shared<testing::recorder>();
        client c(client_options{.observers = {events}});
        c.round_trip(streamed(server.url("/small"))); // the result, and its body, dropped unread
        CHECK(testing::eventually([&] { return testing::connection_fate(*events) == "body_not_drained"; }));
        CHECK(c.round_trip(request("GET", server.url("/small"))).attempt.reused == false);
    }
    SUBCASE("never read but discarded on purpose: drained and pooled when little is left")
    {
        auto events = std::make_shared<testing::recorder>();
        client c(client_options{.observers = {events}});
        c.round_trip(streamed(server.url("/small"))).response.body_stream.discard();
        CHECK(testing::eventually([&] { return testing::connection_fate(*events) == "pooled"; }));
        CHECK(c.round_trip(request("GET", server.url("/small"))).attempt.reused);
    }
    SUBCASE("discarded with much left: closed as body_not_drained")
    {
        auto events = std::make_shared<testing::recorder>();
        client c(client_options{.observers = {events}});
        c.round_trip(streamed(server.url("/large"))).response.body_stream.discard();
        CHECK(testing::eventually([&] { return testing::connection_fate(*events) == "body_not_drained"; }));
    }
}

TEST_CASE("a streamed body cut short, or ended by the client's close, fails its read and closes the connection")
{
    testing::test_server server([](const testing::server_request& req, testing::exchange& ex) {
        if (req.target == "/short") {
            ex.write_raw("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this");
            ex.close();
        } else {
            ex.write_raw("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nthen nothing");
            ex.stall();
        }
    });
    auto events = std::make_shared<testing::recorder>();
    client c(client_options{.observers = {events}});

    result r = c.round_trip(streamed(server.url("/short")));
    auto [got, end] = read_all(r.response.body_stream);
    CHECK(got == "only this");
    CHECK(end == error::unexpected_eof);
    CHECK(testing::connection_fate(*events) == "broken");

    result held = c.round_trip(streamed(server.url("/stall")));
    REQUIRE_FALSE(held.error);
    std::thread closer([&] {
        std::this_thread::sleep_for(50ms);
        c.close();
    });
    auto [part, why] = read_all(held.response.body_stream);
    closer.join();
    CHECK(part == "then nothing");
    CHECK(why == error::canceled);
}

TEST_CASE("a streamed body outlives its client: the reader gets canceled and never touches the dead io_context")
{
    testing::test_server server([](const testing::server_request&, testing::exchange& ex) {
        ex.write_raw("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nsome of it");
        ex.stall();
    });
    body_reader body;
    {
        client c; // with a thread and io_context of its own, gone with it
        result r = c.round_trip(streamed(server.url()));
        REQUIRE_FALSE(r.error);
        body = std::move(r.response.body_stream);
    }
    char buffer[64];
    auto read = start<std::size_t>([&](auto h) { body.async_read_some(asio::buffer(buffer), std::move(h)); });
    REQUIRE(read.wait_for(5s) == std::future_status::ready);
    CHECK(read.get().first == error::canceled);
    body.close(); // once a use-after-free of the strand's service
    CHECK_FALSE(body.is_open());
}

TEST_CASE("a streamed body read to its end outlives its client too: later reads say eof, without the strand")
{
    testing::test_server server([](const testing::server_request&, testing::exchange& ex) { ex.reply(200, "all of it"); });
    body_reader body;
    {
        client c;
        result r = c.round_trip(streamed(server.url()));
        REQUIRE_FALSE(r.error);
        body = std::move(r.response.body_stream);
        auto [got, end] = read_all(body, 4);
        CHECK(got == "all of it");
        CHECK(end == asio::error::eof);
    }
    char buffer[8];
    CHECK(read_some(body, asio::buffer(buffer)).first == asio::error::eof); // once on the destroyed strand
    body.close();
}

TEST_CASE("a call started after close() still tells its body source, so a waiting writer is released")
{
    testing::test_server server;
    client c;
    c.close();
    auto pipe = std::make_shared<body_pipe>();
    request req("POST", server.url());
    req.body_stream = pipe;
    auto call = send(c, req);
    auto written = start<std::size_t>([&](auto h) { pipe->async_write(asio::buffer(std::string_view("x")), std::move(h)); });
    REQUIRE(written.wait_for(5s) == std::future_status::ready);
    CHECK(written.get().first == error::canceled);
    CHECK(call.get().first == error::canceled);
}

TEST_CASE("a body source hears finish() exactly once, with the call's true outcome")
{
    testing::test_server server([](const testing::server_request& req, testing::exchange& ex) {
        if (req.target == "/early")
            return ex.reply(413, "too large"); // read_body() is not called: the answer comes first
        ex.reply(200, req.body);
    });
    client c;
    SUBCASE("read to its end: success, once; also when a middleware passes it on in a request built anew")
    {
        // The new request carries no call: the transport runs it as a call of its own beneath the
        // client's, and both end. The source hears from the inner one, which knows how far it got.
        client renewing(client_options{.middleware = {[](request req, next next) -> asio::awaitable<result> {
            request fresh("PUT", req.url);
            fresh.body_stream = req.body_stream;
            co_return co_await next(std::move(fresh));
        }}});
        for (client* via : {&c, &renewing}) {
            auto source = std::make_shared<scripted_source>();
            source->text = pattern(40'000);
            request req("POST", server.url());
            req.body_stream = source;
            result r = via->round_trip(req);
            REQUIRE_FALSE(r.error);
            CHECK(r.response.body == source->text);
            CHECK(source->finished() == std::vector<error_code>{error_code{}});
        }
    }
    SUBCASE("the server answers before the body is sent: broken_pipe, once")
    {
        auto source = std::make_shared<scripted_source>();
        source->text = "not wanted";
        request req("POST", server.url("/early"));
        req.headers.set("Expect", "100-continue");
        req.body_stream = source;
        result r = c.round_trip(req);
        REQUIRE_FALSE(r.error);
        CHECK(r.response.status == 413);
        CHECK(source->finished() == std::vector<error_code>{error_code(asio::error::broken_pipe)});
    }
    SUBCASE("the call fails before the body is read: the call's error, once")
    {
        auto source = std::make_shared<scripted_source>();
        source->text = "never read";
        request req("POST", "http://127.0.0.1:" + std::to_string(testing::refused_port()) + "/");
        req.body_stream = source;
        result r = c.round_trip(req);
        REQUIRE(source->finished().size() == 1);
        CHECK(source->finished()[0] == r.error);
        CHECK(source->finished()[0] == condition::connection_refused);
    }
}

TEST_CASE("a body source that drops its read handler uncalled fails the call with io_failed, not at the deadline")
{
    struct dropping_source : body_source {
        std::optional<std::uint64_t> length() const noexcept override { return std::nullopt; }
        void async_read_some(asio::mutable_buffer, read_handler handler) override
        {
            read_handler dropped = std::move(handler); // a producer that gave up, destroyed uncalled
        }
    };
    testing::test_server server([](const testing::server_request& req, testing::exchange& ex) { ex.reply(200, req.body); });
    client c;
    request req("POST", server.url());
    req.body_stream = std::make_shared<dropping_source>();
    req.timeout = 30s;
    result r = c.round_trip(req);
    CHECK(r.error == error::io_failed);
}

TEST_CASE("a body source whose read never completes cannot hold a call: deadline, cancellation and close() end it")
{
    testing::test_server server([](const testing::server_request& req, testing::exchange& ex) { ex.reply(200, req.body); });
    auto hanging = [] {
        auto s = std::make_shared<scripted_source>();
        s->hang = true;
        return s;
    };
    SUBCASE("the deadline")
    {
        client c;
        auto source = hanging();
        request req("POST", server.url());
        req.body_stream = source;
        req.timeout = 200ms;
        result r = c.round_trip(req);
        CHECK(r.error == error::deadline_exceeded);
        CHECK(source->finished() == std::vector<error_code>{error_code(error::deadline_exceeded)});
        source->complete_late(); // into a buffer the call no longer uses: ignored
    }
    SUBCASE("close()")
    {
        client c;
        auto source = hanging();
        request req("POST", server.url());
        req.body_stream = source;
        auto call = send(c, req);
        REQUIRE(testing::eventually([&] {
            std::lock_guard lock(source->mutex);
            return source->held.has_value();
        }));
        c.close();
        REQUIRE(call.wait_for(5s) == std::future_status::ready);
        CHECK(call.get().first == error::canceled);
        CHECK(source->finished() == std::vector<error_code>{error_code(error::canceled)});
        source->complete_late();
    }
    SUBCASE("the client destroyed while the source still holds the read")
    {
        auto source = hanging();
        std::future<std::pair<error_code, response>> call;
        {
            client c;
            request req("POST", server.url());
            req.body_stream = source;
            call = send(c, req);
            REQUIRE(testing::eventually([&] {
                std::lock_guard lock(source->mutex);
                return source->held.has_value();
            }));
        }
        REQUIRE(call.wait_for(5s) == std::future_status::ready);
        CHECK(call.get().first == error::canceled);
        source->complete_late(); // the client's io_context is gone: nothing may be posted to it
        CHECK(source->finished().size() == 1);
    }
}

TEST_CASE("a body pipe streams a request body, chunked or with its length")
{
    testing::test_server server([](const testing::server_request& req, testing::exchange& ex) {
        std::string framing = req.headers.count("Transfer-Encoding") ? std::string(req.headers["Transfer-Encoding"])
                                                                     : "length " + std::string(req.headers["Content-Length"]);
        ex.reply(200, framing + ":" + req.body);
    });
    client c;
    for (std::optional<std::uint64_t> length : {std::optional<std::uint64_t>{}, std::optional<std::uint64_t>{40'000}}) {
        CAPTURE(length.has_value());
        auto pipe = std::make_shared<body_pipe>(length);
        request req("POST", server.url());
        req.body_stream = pipe;
        auto call = send(c, req);
        const std::string part1 = pattern(30'000), part2(10'000, 'z');
        CHECK(write(*pipe, part1).second == part1.size());
        CHECK(write(*pipe, part2).second == part2.size());
        pipe->close();
        auto [ec, resp] = call.get();
        REQUIRE_FALSE(ec);
        CHECK(resp.body == (length ? "length 40000:" : "chunked:") + part1 + part2);
    }
}

TEST_CASE("a body pipe that breaks its promise, or outlives its call, gets an error")
{
    testing::test_server server;
    client c;

    SUBCASE("fewer bytes than the length it announced")
    {
        auto pipe = std::make_shared<body_pipe>(100);
        request req("POST", server.url());
        req.body_stream = pipe;
        auto call = send(c, req);
        write(*pipe, "short");
        pipe->close();
        CHECK(call.get().first == error::body_length_mismatch);
    }
    SUBCASE("a call that fails before the body is taken releases the writer")
    {
        auto pipe = std::make_shared<body_pipe>();
        request req("POST", "http://127.0.0.1:" + std::to_string(testing::refused_port()) + "/");
        req.body_stream = pipe;
        auto call = send(c, req);
        auto [ec, n] = write(*pipe, "never sent");
        CHECK(ec == condition::connection_refused);
        CHECK(n == 0);
        CHECK(call.get().first == condition::connection_refused);
    }
    SUBCASE("a streamed body is not replayable")
    {
        request req("PUT", server.url());
        CHECK(is_replayable(req));
        req.body_stream = std::make_shared<body_pipe>();
        CHECK_FALSE(is_replayable(req));
    }
}

TEST_CASE("a final answer sent before the body was taken (413) is the call's answer, not the reset that follows")
{
    // The server answers after the head and closes with the body unread: its close resets the
    // connection while the client is still writing, but the answer is already in the client's socket.
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    std::thread early([&] {
        asio::ip::tcp::socket peer(io);
        error_code ec;
        acceptor.accept(peer, ec);
        std::string head;
        char piece[4096];
        while (head.find("\r\n\r\n") == std::string::npos && !ec)
            head.append(piece, peer.read_some(asio::buffer(piece), ec));
        asio::write(peer, asio::buffer(std::string_view("HTTP/1.1 413 Content Too Large\r\nContent-Length: 8\r\n"
                                                       "Connection: close\r\n\r\ntoo much")), ec);
        std::this_thread::sleep_for(50ms);
        peer.close(ec); // the body still unread: a reset
    });
    auto events = std::make_shared<testing::recorder>();
    client c(client_options{.observers = {events}});
    request upload("POST", "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/");
    upload.body = std::string(64 * 1024 * 1024, 'u'); // far more than the socket buffers hold
    upload.timeout = 10s;
    result r = c.round_trip(std::move(upload));
    early.join();
    REQUIRE_FALSE(r.error);
    CHECK(r.response.status == 413);
    CHECK(r.response.body == "too much");
    CHECK(testing::connection_fate(*events) == "request_body_unsent");
}

TEST_CASE("Expect: 100-continue sends the body after 100, never after a final answer, and after a timeout anyway")
{
    testing::test_server server([](const testing::server_request& req, testing::exchange& ex) {
        if (req.target == "/continue") {
            ex.write_raw("HTTP/1.1 100 Continue\r\n\r\n");
            ex.reply(200, "got " + ex.read_body());
        } else if (req.target == "/refuse") {
            ex.reply(417, "no");
        } else { // silent until the body comes
            ex.reply(200, "got " + ex.read_body());
        }
    });
    auto events = std::make_shared<testing::recorder>();
    client_options options{.observers = {events}};
    options.transport.timeouts.expect_continue = 100ms;
    client c(std::move(options));
    auto post = [&](std::string path) {
        request req("POST", server.url(path));
        req.headers.insert("Expect", "100-continue");
        req.body = "payload";
        return c.round_trip(req);
    };

    result ok = post("/continue");
    REQUIRE_FALSE(ok.error);
    CHECK(ok.response.body == "got payload");
    CHECK(events->names().find("wrote_headers got_first_response_byte got_1xx wrote_request response_headers")
          != std::string::npos);
    CHECK(testing::connection_fate(*events) == "pooled");

    auto refused_events = std::make_shared<testing::recorder>();
    request refuse("POST", server.url("/refuse"));
    refuse.headers.insert("Expect", "100-continue");
    refuse.body = "payload";
    refuse.observe(refused_events);
    result no = c.round_trip(refuse);
    REQUIRE_FALSE(no.error);
    CHECK(no.response.status == 417);
    auto wrote = refused_events->first<wrote_request>();
    REQUIRE(wrote);
    CHECK(wrote->bytes < 100); // the head only
    CHECK(testing::connection_fate(*refused_events) == "request_body_unsent");

    result late = post("/silent");
    REQUIRE_FALSE(late.error);
    CHECK(late.response.body == "got payload");
}

TEST_CASE("a request's own limits replace the client's")
{
    testing::test_server server([](const testing::server_request&, testing::exchange& ex) { ex.reply(200, std::string(2000, 'b')); });
    client c;
    CHECK_FALSE(c.round_trip(request("GET", server.url())).error);
    request tight("GET", server.url());
    tight.limits = limits{.max_body_bytes = 1000};
    CHECK(c.round_trip(tight).error == error::body_too_large);
    tight.limits = limits{.max_header_bytes = 20};
    CHECK(c.round_trip(tight).error == error::header_too_large);
}

namespace {

// The process's resident memory now, in bytes.
std::size_t resident_bytes()
{
    std::ifstream statm("/proc/self/statm");
    std::size_t pages = 0, resident = 0;
    statm >> pages >> resident;
    return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

} // namespace

TEST_CASE("an endless streamed body holds memory flat however much of it is read")
{
    const std::string chunk = "4000\r\n" + std::string(16 * 1024, 'e') + "\r\n";
    testing::test_server server([&](const testing::server_request&, testing::exchange& ex) {
        ex.write_raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        for (int i = 0; i < 100'000 && ex.client_port(); ++i)
            ex.write_raw(chunk);
    });
    client c;
    result r = c.round_trip(streamed(server.url()));
    REQUIRE_FALSE(r.error);
    std::vector<char> buffer(64 * 1024);
    std::size_t total = 0, baseline = 0, peak = 0;
    while (total < 64 * 1024 * 1024) {
        auto [ec, n] = read_some(r.response.body_stream, asio::buffer(buffer));
        if (ec)
            FAIL("the read failed: " << ec.message());
        total += n;
        if (baseline == 0 && total > 1024 * 1024)
            baseline = resident_bytes();
        if (baseline != 0)
            peak = std::max(peak, resident_bytes());
    }
#if defined(__SANITIZE_ADDRESS__)
    (void)peak; // AddressSanitizer's quarantine holds freed memory: resident size says nothing here
#else
    CHECK(peak - baseline < 4 * 1024 * 1024); // 64 MiB read through a connection holding ~32 KiB
#endif
}
