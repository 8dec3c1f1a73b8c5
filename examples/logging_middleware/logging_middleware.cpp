// The logging middleware demo: two requests to a local server, logged at headers detail, with each
// attempt's lifecycle at debug level. The first request dials a new connection; the second reuses it.
// The Authorization header and the URL's password are secrets: watch them come out as REDACTED.

#include <roundtrip/testing/test_server.hpp> // the local server; tests use the same one

#include <roundtrip/middleware/logging.hpp>

#include <roundtrip/client.hpp>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <string>

int main()
{
    // 1. A local server that answers every request with a small JSON body.
    roundtrip::testing::test_server server([](const roundtrip::testing::server_request&, roundtrip::testing::exchange& ex) {
        ex.reply(200, "{\"ok\":true}", {{"Content-Type", "application/json"}});
    });

    // 2. A logger on stdout that shows debug lines, so the lifecycle events appear too.
    auto log = spdlog::stdout_logger_st("roundtrip");
    log->set_pattern("%-5l %v");
    log->set_level(spdlog::level::debug);

    // 3. A client whose chain is the logging middleware, at headers detail.
    roundtrip::client client(roundtrip::client_options{
        .middleware = {roundtrip::logging({.logger = log, .detail = roundtrip::log_detail::headers})}});

    // 4. Two requests carrying secrets: a bearer token and a password in the URL.
    const std::string url = "http://demo:hunter2@127.0.0.1:" + std::to_string(server.port()) + "/account";
    for (const char* what : {"a new connection", "the same connection, reused"}) {
        log->info("=== {}", what);
        roundtrip::request req("GET", url);
        req.headers.set("Authorization", "Bearer never-logged");
        req.headers.set("Accept", "application/json");
        client.send(req);
    }
    return 0;
}
