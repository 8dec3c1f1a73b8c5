// The code samples of docs/errors.md, run against a local server: comparing an error with its class,
// the blocking send's two forms, and whether a failed request may have reached the server. Returns
// non-zero when something does not behave as the page says.

#include "expectations.hpp"
#include <roundtrip/testing/test_server.hpp> // the local server; tests use the same one

#include <roundtrip/client.hpp>
#include <roundtrip/error.hpp>

#include <boost/system/system_error.hpp>

#include <chrono>
#include <cstdio>
#include <string>

using doc_sample::expect;

int main()
{
    // A local server: /slow answers after 2 s, /reset resets the connection without answering,
    // /missing is a 404, anything else a 200.
    roundtrip::testing::test_server server([](const roundtrip::testing::server_request& req, roundtrip::testing::exchange& ex) {
        if (req.target == "/slow")
            ex.sleep(std::chrono::seconds(2));
        if (req.target == "/reset")
            return ex.reset();
        ex.reply(req.target == "/missing" ? 404 : 200);
    });
    const std::string slow_url = server.url("/slow");
    const std::string missing_url = server.url("/missing");
    const std::string orders_url = server.url("/reset"); // the server resets instead of answering
    roundtrip::client client;

    {
        // [doc-sample errors-compare]
        roundtrip::request req("GET", slow_url);
        req.timeout = std::chrono::milliseconds(100);
        roundtrip::error_code ec;
        client.send(std::move(req), ec);
        if (ec == roundtrip::condition::timeout) // any timeout, whichever layer reported it
            std::printf("%s: %s\n", std::string(roundtrip::to_string(roundtrip::classify(ec))).c_str(),
                        ec.message().c_str()); // "timeout: deadline exceeded"
        // [end doc-sample]
        expect(ec == roundtrip::error::deadline_exceeded, "the call's deadline passed");
        expect(ec == roundtrip::condition::timeout, "deadline_exceeded is a timeout");
        expect(std::string(ec.category().name()) == "roundtrip", "the category is named roundtrip");
    }

    {
        bool invalid = false;
        // [doc-sample errors-throw]
        try {
            client.send({"GET", "http://bad host/"});
        } catch (const boost::system::system_error& e) {
            invalid = e.code() == roundtrip::error::invalid_url; // found before any connection was made
        }
        // [end doc-sample]
        expect(invalid, "the blocking send throws system_error with invalid_url");
    }

    {
        // [doc-sample errors-status]
        roundtrip::error_code ec;
        roundtrip::response r = client.send({"GET", missing_url}, ec);
        // !ec and r.status == 404: a status is an answer, never an error
        // [end doc-sample]
        expect(!ec && r.status == 404, "a 404 is a response");
    }

    {
        // [doc-sample errors-progress]
        roundtrip::request order("POST", orders_url);
        order.body = R"({"sku": 7})";
        roundtrip::result r = client.round_trip(order);
        if (r.error && r.attempt.progress == roundtrip::request_progress::not_sent) {
            // nothing reached the server: sending again is safe
        } else if (r.error) {
            // possibly_processed or response_started: the order may exist; ask before resending
        }
        // [end doc-sample]
        expect(r.error == roundtrip::condition::connection_reset || r.error == roundtrip::condition::eof,
               "a reset after the request is connection_reset (or eof)");
        expect(r.attempt.progress == roundtrip::request_progress::possibly_processed,
               "a request written before the reset may have been processed");
        roundtrip::result refused = client.round_trip(
            {"POST", "http://127.0.0.1:" + std::to_string(roundtrip::testing::refused_port()) + "/"});
        expect(refused.error == roundtrip::condition::connection_refused, "a refused connect is connection_refused");
        expect(refused.attempt.progress == roundtrip::request_progress::not_sent, "a refused request was not sent");
    }

    return doc_sample::verdict("docs/errors.md");
}
