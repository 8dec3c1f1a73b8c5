// The code samples of docs/defaults.md, run against a local server: client-wide settings, a
// request's own overrides, and "no limit" for a timeout. Returns non-zero when something does not
// behave as the page says.

#include "expectations.hpp"
#include <roundtrip/testing/test_server.hpp> // the local server; tests use the same one

#include <roundtrip/client.hpp>
#include <roundtrip/error.hpp>

#include <chrono>
#include <cstdio>
#include <string>

using doc_sample::expect;

int main()
{
    // A local server: /big answers with 64 KiB, anything else with "ok".
    roundtrip::testing::test_server server([](const roundtrip::testing::server_request& req, roundtrip::testing::exchange& ex) {
        ex.reply(200, req.target == "/big" ? std::string(64 * 1024, 'x') : std::string("ok"));
    });
    const std::string url = server.url("/");
    const std::string big_url = server.url("/big");

    // [doc-sample defaults-client]
    roundtrip::client_options options;
    options.timeout = std::chrono::seconds(30);                // each call's deadline, unless the request sets one
    options.transport.timeouts.connect = std::chrono::seconds(3);
    options.transport.pool.max_idle_per_host = 8;
    options.transport.pool.max_conns_per_host = 16;            // further attempts wait, first come first served
    options.transport.limits.max_body_bytes = 1024 * 1024;
    roundtrip::client client(std::move(options));
    // [end doc-sample]

    expect(client.send({"GET", big_url}).body.size() == 64 * 1024, "a 64 KiB body is within 1 MiB");

    {
        // [doc-sample defaults-request]
        roundtrip::request req("GET", big_url);
        req.timeout = std::chrono::milliseconds(500);                 // this call only
        req.limits = roundtrip::limits{.max_body_bytes = 16 * 1024};  // every field: max_header_bytes is 256 KiB again
        req.new_connection = true;                                    // do not take an idle connection
        roundtrip::result r = client.round_trip(std::move(req));
        // r.error == roundtrip::error::body_too_large: the body is 64 KiB
        // [end doc-sample]
        expect(r.error == roundtrip::error::body_too_large, "the request's own limit applies");
        expect(!r.attempt.reused, "new_connection dials");
    }

    {
        // [doc-sample defaults-no-limit]
        roundtrip::client_options patient;
        patient.transport.timeouts.response_header = roundtrip::clock::duration::max(); // no limit
        // [end doc-sample]
        roundtrip::client c(std::move(patient));
        expect(!c.round_trip({"GET", url}).error, "duration::max() means no limit");

    }

    return doc_sample::verdict("docs/defaults.md");
}
