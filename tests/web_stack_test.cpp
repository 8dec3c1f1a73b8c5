// The web's conventions stacked, in the order their READMEs give: tracing and logging outermost, then
// redirect above cookies (each hop stores its 3xx's Set-Cookie and sends what the last stored),
// decompress beneath redirect (every hop asks for compression), retry beneath both (a hop's 503 is
// retried on its own). One call through a login flow shows each layer seeing the work of those
// beneath it.
#include <roundtrip/testing/test_server.hpp>

#include <roundtrip/middleware/cookies.hpp>
#include <roundtrip/middleware/decompress.hpp>
#include <roundtrip/middleware/logging.hpp>
#include <roundtrip/middleware/redirect.hpp>
#include <roundtrip/middleware/retry.hpp>
#include <roundtrip/middleware/tracing.hpp>

#include <roundtrip/client.hpp>

#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <doctest/doctest.h>
#include <zlib.h>

#include <atomic>
#include <map>
#include <sstream>

using namespace roundtrip;

namespace {

std::string gzipped(std::string_view in)
{
    z_stream z{};
    REQUIRE(deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    std::string out(deflateBound(&z, in.size()), '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

} // namespace

TEST_CASE("tracing, logging, redirect, cookies, decompress and retry: a login flow in one call")
{
    std::atomic<int> cart_visits{0};
    std::mutex mutex;
    std::vector<std::string> accept_encodings;
    testing::test_server server([&](const testing::server_request& req, testing::exchange& ex) {
        const auto cookie = req.headers.find("Cookie");
        const std::string sent = cookie == req.headers.end() ? "" : std::string(cookie->value());
        {
            std::lock_guard lock(mutex);
            accept_encodings.emplace_back(req.headers["Accept-Encoding"]);
        }
        if (req.target == "/shop") // a first visit: a cookie, and on to the login
            return ex.reply(301, "moved", {{"Location", "/login?next=cart"}, {"Set-Cookie", "visit=1; Path=/"}});
        if (req.target == "/login?next=cart") {
            if (sent != "visit=1")
                return ex.reply(400, "no visit cookie");
            return ex.reply(303, "", {{"Location", "/cart"}, {"Set-Cookie", "session=s3cret; Path=/; HttpOnly"}});
        }
        if (req.target == "/cart" && cart_visits++ == 0) // the first try fails: retry's business
            return ex.reply(503, "busy", {{"Retry-After", "0"}});
        ex.reply(200, gzipped("cart for [" + sent + "]"), {{"Content-Encoding", "gzip"}});
    });
    std::ostringstream out;
    auto log = std::make_shared<spdlog::logger>("web", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
    log->set_pattern("%v");
    log->set_level(spdlog::level::debug);
    auto spans = std::make_shared<in_memory_exporter>();
    auto jar = std::make_shared<cookie_jar>();
    retry_options fast;
    fast.sleep = [](clock::duration) -> asio::awaitable<void> { co_return; };
    client c(client_options{.middleware = {tracing({.exporter = spans}),
                                           logging({.logger = log, .detail = log_detail::headers}), redirect(),
                                           cookies(jar), decompress(), retry(fast),
                                           // and each attempt as sent, cookies included
                                           logging({.logger = log, .detail = log_detail::headers, .lifecycle = false})}});

    const result r = c.round_trip(request("GET", server.url("/shop")));
    REQUIRE_FALSE(r.error);
    CHECK(r.response.status == 200);
    CHECK(r.response.body == "cart for [visit=1; session=s3cret]"); // decoded, both cookies sent
    CHECK(r.response.headers.count("Content-Encoding") == 0);
    CHECK(r.attempt.attempts == 4); // /shop, /login, /cart twice
    CHECK(cart_visits == 2);
    {
        std::lock_guard lock(mutex);
        REQUIRE(accept_encodings.size() == 4);
        for (const auto& a : accept_encodings)
            CHECK(a == "gzip, deflate, br, zstd"); // every hop and every retry asked
    }
    CHECK(jar->cookies().size() == 2);

    // The call span holds every layer's decisions, in order.
    c.close();
    const auto finished = spans->spans();
    const auto call = std::find_if(finished.begin(), finished.end(), [](const span& s) { return s.parent == span_id{}; });
    REQUIRE(call != finished.end());
    std::vector<std::string> names;
    for (const auto& e : call->events)
        names.push_back(e.name);
    CHECK(names == std::vector<std::string>{"redirect_followed", "redirect_followed", "retry_scheduled", "content_decoded"});

    // The log shows the same decisions, and, though the bottom logger sees every cookie go and come,
    // no cookie value.
    const std::string text = out.str();
    CHECK(text.find("redirect_followed status=301 hop=1") != std::string::npos);
    CHECK(text.find("redirect_followed status=303 hop=2") != std::string::npos);
    CHECK(text.find("retry_scheduled") != std::string::npos);
    CHECK(text.find("content_decoded coding=gzip") != std::string::npos);
    CHECK(text.find("<-- 200 Scripted " + server.url("/cart") + " (") != std::string::npos); // where it came from
    CHECK(text.find("--> Cookie: REDACTED") != std::string::npos);
    CHECK(text.find("<-- Set-Cookie: REDACTED") != std::string::npos);
    CHECK(text.find("s3cret") == std::string::npos);
}

TEST_CASE("the READMEs' sample: redirect, cookies, decompress and retry")
{
    testing::test_server server([](const testing::server_request& req, testing::exchange& ex) {
        if (req.target == "/old")
            return ex.reply(302, "", {{"Location", "/new"}, {"Set-Cookie", "id=7"}});
        ex.reply(200, gzipped(std::string(req.headers["Cookie"])), {{"Content-Encoding", "gzip"}});
    });
    // [doc-sample web-stack-readme]
    auto jar = std::make_shared<roundtrip::cookie_jar>();
    roundtrip::client client({.middleware = {roundtrip::redirect(), roundtrip::cookies(jar), roundtrip::decompress(),
                                             roundtrip::retry()}});
    // [end doc-sample]
    CHECK(client.send({"GET", server.url("/old")}).body == "id=7");
}
