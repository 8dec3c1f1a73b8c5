// The logging middleware over roundtrip-testing's fake transport, writing to an in-memory spdlog sink:
// each detail level, redaction (the secret never appears), bodies, failures, lifecycle lines, and
// silence. The README's example, whose client has no bottom to swap, talks to the loopback server.
#include <roundtrip/testing/fake_transport.hpp>
#include <roundtrip/testing/test_server.hpp>

#include <roundtrip/middleware/logging.hpp>

#include <roundtrip/body_source.hpp>
#include <roundtrip/client.hpp>

#include <boost/asio/use_future.hpp>

#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <doctest/doctest.h>

#include <sstream>

using namespace roundtrip;

namespace {

const std::string secret = "s3cr3t-t0ken";

// A logger whose lines ("level message") land in a string.
struct captured {
    std::ostringstream out;
    std::shared_ptr<spdlog::logger> logger;

    explicit captured(spdlog::level::level_enum level = spdlog::level::trace)
        : logger(std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_mt>(out)))
    {
        logger->set_pattern("%l %v");
        logger->set_level(level);
    }
    std::string text() const { return out.str(); }
    bool has(std::string_view line) const { return text().find(line) != std::string::npos; }
};

// A POST to `url` carrying the secret in its user info, Authorization and Cookie.
request with_secret(std::string url)
{
    url.insert(url.find("//") + 2, "alice:" + secret + "@");
    request req("POST", url);
    req.headers.set("Authorization", "Bearer " + secret);
    req.headers.set("Cookie", "session=" + secret);
    req.headers.set("X-Visible", "shown");
    req.body = "{\"qty\":1}";
    return req;
}

const std::vector<std::pair<std::string, std::string>> json_fields = {{"Set-Cookie", "session=" + secret},
                                                                       {"Content-Type", "application/json"}};

testing::handler reply_json()
{
    return [](const testing::server_request&, testing::exchange& ex) { ex.reply(201, "{\"id\":7}", json_fields); };
}

// A fake transport that answers every request as reply_json() does.
std::shared_ptr<testing::fake_transport> json_fake()
{
    auto fake = std::make_shared<testing::fake_transport>();
    fake->respond_with([](const request&, std::uint32_t) {
        return testing::answer{.status = 201, .headers = json_fields, .body = "{\"id\":7}"};
    });
    return fake;
}

// Where the fake transport's requests go: any absolute URL does.
const std::string base_url = "http://api.test";

} // namespace

TEST_CASE("basic: one line out, one line back; the URL's user info is redacted")
{
    auto fake = json_fake();
    captured log(spdlog::level::info);
    client c(client_options{.middleware = {logging({.logger = log.logger, .detail = log_detail::basic})},
                            .bottom = fake});
    c.send(with_secret(base_url + "/orders?page=2"));
    CHECK(log.has("info --> POST http://REDACTED:REDACTED@api.test/orders?page=2 (9-byte body)"));
    CHECK(log.has("info <-- 201 Created http://REDACTED:REDACTED@api.test/orders?page=2 ("));
    CHECK(log.has("ms, 8-byte body)"));
    CHECK_FALSE(log.has("X-Visible"));
    CHECK_FALSE(log.has(secret));
}

TEST_CASE("headers: every field both ways, secrets redacted")
{
    auto fake = json_fake();
    captured log(spdlog::level::info);
    client c(client_options{.middleware = {logging({.logger = log.logger, .detail = log_detail::headers})},
                            .bottom = fake});
    c.send(with_secret(base_url + "/orders?page=2"));
    CHECK(log.has("--> Authorization: REDACTED"));
    CHECK(log.has("--> Cookie: REDACTED"));
    CHECK(log.has("--> X-Visible: shown"));
    CHECK(log.has("--> END POST"));
    CHECK(log.has("<-- Set-Cookie: REDACTED"));
    CHECK(log.has("<-- Content-Type: application/json"));
    CHECK(log.has("<-- END HTTP"));
    CHECK_FALSE(log.has("{\"qty\":1}")); // no bodies at this level
    CHECK_FALSE(log.has(secret));
}

TEST_CASE("streamed bodies are called streamed, never 0-byte, and are not shown")
{
    // The fake picks its answer before it reads a streamed request body, so it cannot echo one: the
    // answer is scripted to be the same five bytes an echo would return.
    auto fake = std::make_shared<testing::fake_transport>();
    fake->push({.body = "hello"});
    captured log(spdlog::level::info);
    client c(client_options{.middleware = {logging({.logger = log.logger, .detail = log_detail::body})},
                            .bottom = fake});
    struct hello_source : body_source {
        bool sent = false;
        std::optional<std::uint64_t> length() const noexcept override { return 5; }
        void async_read_some(asio::mutable_buffer into, read_handler handler) override
        {
            const std::size_t n = std::exchange(sent, true) ? 0 : asio::buffer_copy(into, asio::buffer("hello", 5));
            std::move(handler)(n ? error_code{} : error_code(asio::error::eof), n);
        }
    };
    request req("POST", base_url + "/up");
    req.body_stream = std::make_shared<hello_source>();
    req.stream_response = true;
    response resp = c.send(req);
    REQUIRE(fake->requests().size() == 1);
    CHECK(fake->requests()[0].body == "hello"); // the stream was sent, though never logged
    CHECK(log.has("/up (streamed 5-byte body)"));
    CHECK(log.has("ms, streamed body)"));
    CHECK_FALSE(log.has("0-byte body"));
    CHECK_FALSE(log.has("hello")); // the log shows no body it would have to read or hold
    char got[16];
    auto n = resp.body_stream.async_read_some(asio::buffer(got), asio::use_future).get();
    CHECK(std::string_view(got, n) == "hello");
    resp.body_stream.close();
}

TEST_CASE("body: text bodies up to the cap, cut on a character boundary; binary ones by size")
{
    auto fake = std::make_shared<testing::fake_transport>();
    fake->respond_with([](const request& req, std::uint32_t) {
        if (req.url.ends_with("/binary"))
            return testing::answer{.body = std::string("\x89PNG\r\n\x1a\n\0\0", 10)};
        return testing::answer{.body = "caf\xc3\xa9 caf\xc3\xa9"}; // "café café": é is two bytes
    });
    captured log(spdlog::level::info);
    client c(client_options{
        .middleware = {logging({.logger = log.logger, .detail = log_detail::body, .max_body_bytes = 4})},
        .bottom = fake});
    request req("POST", base_url + "/text");
    req.body = "ab";
    c.send(req);
    CHECK(log.has("--> ab"));
    CHECK(log.has("<-- caf ... (11 bytes in all)")); // 4 bytes would split the é
    c.send(request("GET", base_url + "/binary"));
    CHECK(log.has("<-- (binary 10-byte body omitted)"));
    request forged("POST", base_url + "/text");
    forged.body = "a\ninfo <-- 200 OK";
    client wide(client_options{.middleware = {logging({.logger = log.logger, .detail = log_detail::body})},
                               .bottom = fake});
    wide.send(forged);
    CHECK(log.has("--> a\\ninfo <-- 200 OK")); // one line, its break shown, not obeyed
}

TEST_CASE("a failed call is one line with its error class and no request data")
{
    auto fake = std::make_shared<testing::fake_transport>();
    fake->push({.fault = testing::fault::refuse_connect});
    captured log(spdlog::level::info);
    client c(client_options{.middleware = {logging({.logger = log.logger})}, .bottom = fake});
    request req("GET", base_url + "/x");
    req.headers.set("Authorization", secret);
    c.round_trip(req);
    CHECK(log.has("info <-- FAILED connection_refused: "));
    CHECK(log.has("attempts 1)"));
    CHECK_FALSE(log.has(secret));
}

TEST_CASE("lifecycle events at debug level: a new connection, then a reused one")
{
    auto fake = std::make_shared<testing::fake_transport>();
    captured log(spdlog::level::debug);
    client c(client_options{.middleware = {logging({.logger = log.logger, .detail = log_detail::none})},
                            .bottom = fake});
    c.send(request("GET", base_url + "/"));
    c.send(request("GET", base_url + "/"));
    CHECK(log.has("debug [call 1 attempt 1] connect_start remote=127.0.0.1:"));
    CHECK(log.has("debug [call 1 attempt 1] got_conn reused=false was_idle=false"));
    CHECK(log.has("debug [call 2 attempt 1] got_conn reused=true was_idle=true"));
    CHECK(log.has("debug [call 2 attempt 1] put_idle_conn"));
    CHECK_FALSE(log.has("info"));
}

TEST_CASE("nothing is written, or formatted, when the logger's level is above what the middleware writes")
{
    auto fake = std::make_shared<testing::fake_transport>();
    captured log(spdlog::level::warn);
    client c(client_options{.middleware = {logging({.logger = log.logger, .detail = log_detail::body})},
                            .bottom = fake});
    c.send(with_secret(base_url + "/orders?page=2"));
    CHECK(log.text().empty());

    captured quiet(spdlog::level::trace);
    client off(client_options{.middleware = {logging({.logger = quiet.logger, .detail = log_detail::none,
                                                      .lifecycle = false})},
                              .bottom = fake});
    off.send(request("GET", base_url + "/"));
    CHECK(quiet.text().empty());
}

TEST_CASE("the README's example: headers in the log, the secret ones redacted")
{
    captured log(spdlog::level::info);
    const auto my_logger = log.logger;
    testing::test_server server(reply_json());
    // [doc-sample logging-readme]
    #include <roundtrip/middleware/logging.hpp>

    roundtrip::client client({.middleware = {
        roundtrip::logging({.logger = my_logger, .detail = roundtrip::log_detail::headers})}});
    // [end doc-sample]
    CHECK(client.send(with_secret(server.url("/orders?page=2"))).status == 201);
    CHECK(log.has("X-Visible: shown"));
    CHECK(log.text().find(secret) == std::string::npos);
}
