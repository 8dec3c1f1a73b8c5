// The header middleware demo: a client that adds headers to every request, and a local server that
// prints what it received, so you can see what the middleware did.

#include <roundtrip/testing/test_server.hpp> // the local server; tests use the same one

#include <roundtrip/middleware/headers.hpp>

#include <roundtrip/client.hpp>

#include <cstdio>
#include <string>

int main()
{
    // 1. A local server that prints every header field of each request it reads.
    roundtrip::testing::test_server server([](const roundtrip::testing::server_request& req, roundtrip::testing::exchange& ex) {
        std::printf("server received %s %s\n", req.method.c_str(), req.target.c_str());
        for (const auto& f : req.headers)
            std::printf("  %s: %s\n", std::string(f.name_string()).c_str(), std::string(f.value()).c_str());
        ex.reply(200);
    });

    // 2. A provider: computes a header for each request. Here a counter stands in for a token that
    //    an identity service would refresh; a real one may co_await that service.
    int issued = 0;
    roundtrip::header_provider token = [&issued](const roundtrip::request&)
        -> roundtrip::asio::awaitable<std::optional<std::string>> {
        co_return "Bearer demo-token-" + std::to_string(++issued);
    };

    // 3. The middleware's rules, checked once here: a value with CR or LF would be refused now.
    roundtrip::layer add_headers = roundtrip::headers(roundtrip::header_rules{}
                                                          .set("X-Env", "demo")
                                                          .add("Accept", "application/json")
                                                          .remove("X-Debug")
                                                          .provide("Authorization", token));

    // 4. A client whose chain is that one middleware, then two requests through it.
    roundtrip::client client(roundtrip::client_options{.middleware = {add_headers}});
    roundtrip::request first("GET", server.url("/first"));
    first.headers.set("X-Debug", "1"); // removed by the middleware
    client.send(first);
    client.send(roundtrip::request("GET", server.url("/second")));
    return 0;
}
