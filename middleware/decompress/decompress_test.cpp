// The decompress middleware against loopback servers: each coding, buffered and streamed bodies,
// bombs, corrupt and truncated bodies, what it leaves alone, and the Accept-Encoding it sends.
#include <roundtrip/middleware/decompress.hpp>

#include <roundtrip/client.hpp>
#include <roundtrip/testing/recorder.hpp>
#include <roundtrip/testing/test_server.hpp>

#include <brotli/encode.h>
#include <doctest/doctest.h>
#include <zlib.h>
#include <zstd.h>

#include <future>
#include <stdexcept>

using namespace roundtrip;

namespace {

// zlib's deflate in one of its wrappings: 31 gzip, 15 zlib, -15 raw.
std::string deflated(std::string_view in, int window_bits)
{
    z_stream z{};
    if (deflateInit2(&z, 9, Z_DEFLATED, window_bits, 9, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::runtime_error("deflateInit2");
    std::string out(deflateBound(&z, in.size()), '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    const int rc = deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    if (rc != Z_STREAM_END)
        throw std::runtime_error("deflate");
    return out;
}
std::string gzipped(std::string_view in) { return deflated(in, 31); }

std::string brotli(std::string_view in)
{
    std::string out(BrotliEncoderMaxCompressedSize(in.size()), '\0');
    std::size_t size = out.size();
    if (!BrotliEncoderCompress(5, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC, in.size(),
                               reinterpret_cast<const std::uint8_t*>(in.data()), &size,
                               reinterpret_cast<std::uint8_t*>(out.data())))
        throw std::runtime_error("brotli");
    out.resize(size);
    return out;
}

std::string zstd(std::string_view in)
{
    std::string out(ZSTD_compressBound(in.size()), '\0');
    const std::size_t size = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);
    if (ZSTD_isError(size))
        throw std::runtime_error("zstd");
    out.resize(size);
    return out;
}

// Text that compresses as a real page does: repetitive, not uniform.
std::string page(std::size_t size)
{
    std::string out;
    for (std::size_t i = 0; out.size() < size; ++i)
        out += "<li id=\"item-" + std::to_string(i) + "\">row " + std::to_string(i * 7919 % 1000) + "</li>\n";
    out.resize(size);
    return out;
}

// A server that answers every request with `body` in `coding` (no Content-Encoding when empty),
// and remembers the request's Accept-Encoding.
struct coded_server {
    coded_server(std::string coding, std::string body)
        : server([this, coding = std::move(coding), body = std::move(body)](const testing::server_request& req,
                                                                            testing::exchange& ex) {
              {
                  std::lock_guard lock(mutex);
                  auto it = req.headers.find("Accept-Encoding");
                  accept_encoding = it == req.headers.end() ? "(none)" : std::string(it->value());
              }
              if (coding.empty())
                  return ex.reply(200, body);
              ex.reply(req.target == "/204" ? 204 : 200, req.target == "/204" ? "" : body, {{"Content-Encoding", coding}});
          })
    {
    }
    std::string seen_accept_encoding()
    {
        std::lock_guard lock(mutex);
        return accept_encoding;
    }
    std::mutex mutex;
    std::string accept_encoding;
    testing::test_server server;
};

struct rig {
    explicit rig(decompress_options o = {})
        : c(client_options{.middleware = {decompress(o)}, .observers = {events}})
    {
    }
    std::shared_ptr<testing::recorder> events = std::make_shared<testing::recorder>();
    client c;
};

// One read of a streamed body, waited for.
std::pair<error_code, std::size_t> read_some(body_reader& body, asio::mutable_buffer into)
{
    std::promise<std::pair<error_code, std::size_t>> done;
    body.async_read_some(into, [&](error_code ec, std::size_t n) { done.set_value({ec, n}); });
    return done.get_future().get();
}

// Reads a streamed body to its end, `piece` bytes at a time; `ended` is the error that ended it
// (eof for a body read whole).
std::string read_stream(body_reader& body, std::size_t piece, error_code& ended)
{
    std::string out;
    std::vector<char> buffer(piece);
    for (int i = 0; i < 1'000'000; ++i) {
        auto [ec, n] = read_some(body, asio::buffer(buffer));
        out.append(buffer.data(), n);
        if (ec) {
            ended = ec;
            break;
        }
    }
    return out;
}

} // namespace

TEST_CASE("each coding is decoded, and the response no longer says it is coded")
{
    const std::string original = page(200'000);
    const std::pair<std::string, std::string> cases[] = {
        {"gzip", gzipped(original)},      {"x-gzip", gzipped(original)},  {"deflate", deflated(original, 15)},
        {"deflate", deflated(original, -15)}, {"br", brotli(original)}, {"zstd", zstd(original)},
        {"GZip", gzipped(original)}, // codings are case-insensitive
    };
    for (const auto& [coding, body] : cases) {
        CAPTURE(coding);
        coded_server s(coding, body);
        rig t;
        const result r = t.c.round_trip(request("GET", s.server.url()));
        REQUIRE_FALSE(r.error);
        CHECK(r.response.body == original);
        CHECK(r.response.headers.count("Content-Encoding") == 0);
        CHECK(r.response.headers.count("Content-Length") == 0);
        CHECK(s.seen_accept_encoding() == "gzip, deflate, br, zstd");
        const auto* e = t.events->first<content_decoded>();
        REQUIRE(e);
        CHECK_FALSE(e->streamed);
        CHECK(e->encoded_bytes == body.size());
        CHECK(e->decoded_bytes == original.size());
        CHECK(t.events->describe_first("content_decoded").find(" streamed=false ") != std::string::npos);
    }
}

TEST_CASE("several codings are undone last first; identity is nothing to undo")
{
    const std::string original = page(50'000);
    coded_server s("gzip, identity, br", brotli(gzipped(original)));
    rig t;
    const result r = t.c.round_trip(request("GET", s.server.url()));
    REQUIRE_FALSE(r.error);
    CHECK(r.response.body == original);
    CHECK(t.events->describe_first("content_decoded").find(" coding=gzip, br streamed=") != std::string::npos);

    coded_server plain("identity", "as is");
    const result p = t.c.round_trip(request("GET", plain.server.url()));
    CHECK(p.response.body == "as is");
    CHECK(p.response.headers.count("Content-Encoding") == 0);
}

TEST_CASE("a gzip body of several members is read whole; zstd of several frames too")
{
    const std::string a = page(30'000), b = "and then some";
    {
        coded_server s("gzip", gzipped(a) + gzipped(b));
        rig t;
        CHECK(t.c.round_trip(request("GET", s.server.url())).response.body == a + b);
    }
    {
        coded_server s("zstd", zstd(a) + zstd(b));
        rig t;
        CHECK(t.c.round_trip(request("GET", s.server.url())).response.body == a + b);
    }
}

TEST_CASE("a request with its own Accept-Encoding gets the body as sent; a Range request asks for none")
{
    const std::string coded = gzipped("raw, please");
    coded_server s("gzip", coded);
    rig t;
    request own("GET", s.server.url());
    own.headers.set("Accept-Encoding", "gzip");
    const result raw = t.c.round_trip(own);
    REQUIRE_FALSE(raw.error);
    CHECK(s.seen_accept_encoding() == "gzip");
    CHECK(raw.response.body == coded);
    CHECK(raw.response.headers["Content-Encoding"] == "gzip");

    request range("GET", s.server.url());
    range.headers.set("Range", "bytes=0-9");
    REQUIRE_FALSE(t.c.round_trip(range).error);
    CHECK(s.seen_accept_encoding() == "(none)");
    CHECK(t.events->first<content_decoded>() == nullptr);
}

TEST_CASE("HEAD, 204, 304, 206, other 3xx and unknown codings are returned untouched")
{
    const std::string coded = gzipped("x");
    testing::test_server server([&](const testing::server_request& req, testing::exchange& ex) {
        if (req.target == "/304")
            return ex.write_raw("HTTP/1.1 304 Not Modified\r\nContent-Encoding: gzip\r\n\r\n");
        if (req.target == "/206")
            return ex.reply(206, coded.substr(0, 5), {{"Content-Encoding", "gzip"}, {"Content-Range", "bytes 0-4/*"}});
        if (req.target == "/compress")
            return ex.reply(200, "LZW bytes", {{"Content-Encoding", "compress"}});
        if (req.target == "/302") // a body that would not decode: the redirect must not fail for it
            return ex.reply(302, "not gzip", {{"Content-Encoding", "gzip"}, {"Location", "/"}});
        if (req.target == "/mixed")
            return ex.reply(200, "both", {{"Content-Encoding", "gzip, snappy"}});
        ex.reply(req.target == "/204" ? 204 : 200, req.target == "/204" ? "" : coded, {{"Content-Encoding", "gzip"}});
    });
    rig t;
    const result head = t.c.round_trip(request("HEAD", server.url()));
    REQUIRE_FALSE(head.error);
    CHECK(head.response.headers["Content-Encoding"] == "gzip");
    const result moved = t.c.round_trip(request("GET", server.url("/302")));
    REQUIRE_FALSE(moved.error);
    CHECK(moved.response.body == "not gzip");
    for (const char* path : {"/204", "/304"}) {
        CAPTURE(path);
        const result r = t.c.round_trip(request("GET", server.url(path)));
        REQUIRE_FALSE(r.error);
        CHECK(r.response.headers["Content-Encoding"] == "gzip");
        CHECK(r.response.body.empty());
    }
    const result partial = t.c.round_trip(request("GET", server.url("/206")));
    CHECK(partial.response.body == coded.substr(0, 5));
    const result unknown = t.c.round_trip(request("GET", server.url("/compress")));
    CHECK(unknown.response.body == "LZW bytes");
    CHECK(unknown.response.headers["Content-Encoding"] == "compress");
    CHECK(t.c.round_trip(request("GET", server.url("/mixed"))).response.body == "both");
    CHECK(t.events->first<content_decoded>() == nullptr);
}

TEST_CASE("a corrupt, truncated or overlong body is decoding_failed")
{
    const std::string body = gzipped(page(100'000));
    std::string corrupt = body;
    corrupt[corrupt.size() / 2] ^= 0x55;
    const std::pair<std::string, std::string> cases[] = {
        {"gzip", body.substr(0, body.size() / 2)},        // truncated
        {"gzip", body.substr(0, body.size() - 4)},        // without the trailer's length
        {"gzip", corrupt},                                // CRC or data error
        {"gzip", body + "junk"},                          // not a second member
        {"deflate", deflated("abc", 15) + "x"},           // past the end
        {"br", brotli(page(1000)).substr(0, 20)},         // truncated
        {"zstd", zstd(page(1000)).substr(0, 20)},         // truncated
        {"zstd", "not zstd at all"},                      // no frame
        {"gzip, gzip, gzip, gzip, gzip", body},           // more codings than the limit
    };
    for (const auto& [coding, sent] : cases) {
        CAPTURE(coding);
        CAPTURE(sent.size());
        coded_server s(coding, sent);
        rig t;
        const result r = t.c.round_trip(request("GET", s.server.url()));
        CHECK(r.error == decompress_error::decoding_failed);
        CHECK(error_class(r.error) == "decoding_failed");
    }
}

TEST_CASE("an empty body is empty whatever its coding says")
{
    coded_server s("gzip", "");
    rig t;
    const result r = t.c.round_trip(request("GET", s.server.url()));
    REQUIRE_FALSE(r.error);
    CHECK(r.response.body.empty());
}

TEST_CASE("a gzip bomb is body_too_large, buffered or streamed, long before it is decoded")
{
    const std::string bomb = gzipped(std::string(10'000'000, '\0')); // about 10 KB
    REQUIRE(bomb.size() < 20'000);
    coded_server s("gzip", bomb);
    rig t;
    const result r = t.c.round_trip(request("GET", s.server.url()));
    CHECK(r.error == error::body_too_large);

    request streamed("GET", s.server.url());
    streamed.stream_response = true;
    result st = t.c.round_trip(streamed);
    REQUIRE_FALSE(st.error);
    error_code ended;
    const std::string got = read_stream(st.response.body_stream, 64 * 1024, ended);
    CHECK(ended == error::body_too_large);
    CHECK(got.size() <= 2 * 1024 * 1024);

    // The bounds are the caller's: without the ratio bound, 10 MB of zeros is a body like any other.
    rig lenient(decompress_options{.max_ratio = 0});
    const result all = lenient.c.round_trip(request("GET", s.server.url()));
    REQUIRE_FALSE(all.error);
    CHECK(all.response.body.size() == 10'000'000);
}

TEST_CASE("a buffered body's decoded size counts against max_body_bytes")
{
    const std::string original = page(300'000);
    coded_server s("br", brotli(original));
    rig t(decompress_options{.max_body_bytes = 100'000});
    CHECK(t.c.round_trip(request("GET", s.server.url())).error == error::body_too_large);
    request own("GET", s.server.url());
    own.limits = limits{.max_body_bytes = 400'000}; // the request's limits rule when it has them
    CHECK(t.c.round_trip(own).response.body == original);
    own.limits = limits{.max_body_bytes = 299'999};
    CHECK(t.c.round_trip(own).error == error::body_too_large);
}

TEST_CASE("a streamed body is decoded as it is read, in pieces as small as the caller asks")
{
    const std::string original = page(3'000'000);
    for (const auto& [coding, body] : {std::pair<std::string, std::string>{"gzip", gzipped(original)},
                                       {"br", brotli(original)}, {"zstd", zstd(original)},
                                       {"gzip, br", brotli(gzipped(original))}}) {
        CAPTURE(coding);
        // Chunked, in pieces that split every structure of the coded stream.
        testing::test_server server([&, coding = coding, body = body](const testing::server_request&,
                                                                       testing::exchange& ex) {
            ex.write_raw("HTTP/1.1 200 OK\r\nContent-Encoding: " + coding + "\r\nTransfer-Encoding: chunked\r\n\r\n");
            for (std::size_t at = 0; at < body.size(); at += 7001) {
                const std::string piece = body.substr(at, 7001);
                char size[16];
                std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
                ex.write_raw(size + piece + "\r\n");
            }
            ex.write_raw("0\r\n\r\n");
        });
        rig t;
        for (int round = 0; round < 2; ++round) {
            request req("GET", server.url());
            req.stream_response = true;
            result r = t.c.round_trip(req);
            REQUIRE_FALSE(r.error);
            CHECK(r.response.headers.count("Content-Encoding") == 0);
            error_code ended;
            const std::string got = read_stream(r.response.body_stream, 1000, ended);
            CHECK(ended == asio::error::eof);
            CHECK(got == original);
            const auto* e = t.events->first<content_decoded>();
            REQUIRE(e);
            CHECK(e->streamed);
        }
        CHECK(server.connections() == 1); // the body read to its end returned the connection
    }
}

TEST_CASE("a streamed body that is truncated or corrupt fails the read with decoding_failed")
{
    const std::string body = zstd(page(200'000));
    coded_server s("zstd", body.substr(0, body.size() - 10));
    rig t;
    request req("GET", s.server.url());
    req.stream_response = true;
    result r = t.c.round_trip(req);
    REQUIRE_FALSE(r.error);
    error_code ended;
    read_stream(r.response.body_stream, 16 * 1024, ended);
    CHECK(ended == decompress_error::decoding_failed);
    // Later reads repeat the failure.
    std::array<char, 16> more;
    auto [again, n] = read_some(r.response.body_stream, asio::buffer(more));
    CHECK(again == decompress_error::decoding_failed);
    CHECK(n == 0);
}

TEST_CASE("a streamed body discarded unread gives its connection back as the transport's would")
{
    const std::string original = page(10'000);
    coded_server s("gzip", gzipped(original));
    rig t;
    {
        request req("GET", s.server.url());
        req.stream_response = true;
        result r = t.c.round_trip(req);
        REQUIRE_FALSE(r.error);
        r.response.body_stream.discard(); // small enough to drain: the connection is pooled
    }
    CHECK(t.c.round_trip(request("GET", s.server.url())).response.body == original);
    CHECK(s.server.connections() == 1);
}

TEST_CASE("a streamed body closed unread closes its connection, as the transport's would")
{
    coded_server s("gzip", gzipped(page(10'000)));
    rig t;
    {
        request req("GET", s.server.url());
        req.stream_response = true;
        result r = t.c.round_trip(req);
        REQUIRE_FALSE(r.error);
        r.response.body_stream.close();
    }
    CHECK_FALSE(t.c.round_trip(request("GET", s.server.url())).error);
    CHECK(s.server.connections() == 2);
}

TEST_CASE("a decoded reader closed during a read, and one that outlives its client, end cleanly")
{
    const std::string coded = gzipped(page(200'000));
    testing::test_server server([&](const testing::server_request& req, testing::exchange& ex) {
        ex.write_raw("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: " + std::to_string(coded.size())
                     + "\r\n\r\n" + coded.substr(0, 100));
        if (req.target == "/stall")
            return ex.stall();
        ex.write_raw(coded.substr(100));
    });
    {
        rig t;
        request req("GET", server.url("/stall"));
        req.stream_response = true;
        req.timeout = std::chrono::seconds(1); // a pending read ends as the transport's does: at the deadline
        result r = t.c.round_trip(req);
        REQUIRE_FALSE(r.error);
        std::vector<char> buffer(64 * 1024);
        REQUIRE(read_some(r.response.body_stream, asio::buffer(buffer)).second > 0); // what the 100 bytes hold
        std::promise<error_code> done;
        r.response.body_stream.async_read_some(asio::buffer(buffer), [&](error_code ec, std::size_t) { done.set_value(ec); });
        r.response.body_stream.close(); // while the read waits for bytes that never come
        auto ended = done.get_future();
        REQUIRE(ended.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
        CHECK(ended.get() == error::deadline_exceeded);
    }
    for (const char* path : {"/stall", "/whole"}) {
        CAPTURE(path);
        body_reader body;
        {
            rig t; // its io_context and strand are gone before the reader is read
            request req("GET", server.url(path));
            req.stream_response = true;
            result r = t.c.round_trip(req);
            REQUIRE_FALSE(r.error);
            body = std::move(r.response.body_stream);
        }
        error_code ended;
        read_stream(body, 64 * 1024, ended);
        CHECK(ended); // canceled with the client, whatever was buffered
        body.close();
    }
}

TEST_CASE("stacked codings cannot decode without end for a few bytes: each stage is bounded")
{
    // A gzip header whose comment goes on for 20 MB: the last decoder swallows it and writes
    // nothing, so only the stages beneath see the size. Gzipped twice, it is a few hundred bytes.
    std::string inner("\x1f\x8b\x08\x10\x00\x00\x00\x00\x00\x03", 10);
    inner.append(20'000'000, 'a');
    const std::string body = gzipped(gzipped(inner));
    REQUIRE(body.size() < 100'000);
    coded_server s("gzip, gzip, gzip", body);
    rig t;
    const auto start = std::chrono::steady_clock::now();
    CHECK(t.c.round_trip(request("GET", s.server.url())).error == error::body_too_large);
    MESSAGE("stopped after " << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() << " s");
}
