// The code samples of docs/coming-from.md, run against a local server: Go's transport settings
// spelled in roundtrip, and cancelling a call as a Go context or OkHttp's Call.cancel would. Returns
// non-zero when something does not behave as the page says.

#include "expectations.hpp"
#include <roundtrip/testing/test_server.hpp> // the local server; tests use the same one

#include <roundtrip/client.hpp>
#include <roundtrip/error.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/post.hpp>

#include <chrono>
#include <cstdio>
#include <future>
#include <string>
#include <thread>

using doc_sample::expect;

int main()
{
    // A local server: /slow answers after 2 s, anything else at once.
    roundtrip::testing::test_server server([](const roundtrip::testing::server_request& req, roundtrip::testing::exchange& ex) {
        if (req.target == "/slow")
            ex.sleep(std::chrono::seconds(2));
        ex.reply(200);
    });
    const std::string url = server.url("/slow");

    // [doc-sample coming-from-go-transport]
    // Go: &http.Transport{MaxIdleConnsPerHost: 2, MaxConnsPerHost: 10, IdleConnTimeout: 30 * time.Second}
    //     and http.Client{Timeout: 5 * time.Second}
    roundtrip::client_options options;
    options.transport.pool.max_idle_per_host = 2;
    options.transport.pool.max_conns_per_host = 10;
    options.transport.pool.idle_timeout = std::chrono::seconds(30);
    options.timeout = std::chrono::seconds(5);
    roundtrip::client client(std::move(options));
    // [end doc-sample]

    // [doc-sample coming-from-cancel]
    roundtrip::asio::cancellation_signal cancel; // Go: a context's cancel func; OkHttp: Call.cancel()
    std::promise<roundtrip::error_code> outcome;
    client.async_send(roundtrip::request("GET", url),
                      roundtrip::asio::bind_cancellation_slot(
                          cancel.slot(), [&](roundtrip::error_code ec, roundtrip::response) { outcome.set_value(ec); }));
    // [end doc-sample]

    std::this_thread::sleep_for(std::chrono::milliseconds(50)); // the request is on its way

    // [doc-sample coming-from-cancel-emit]
    // Asio's cancellation signals are not thread-safe: emit on the client's executor.
    roundtrip::asio::post(client.get_executor(), [&] { cancel.emit(roundtrip::asio::cancellation_type::terminal); });
    // outcome's value is roundtrip::error::canceled
    // [end doc-sample]

    auto done = outcome.get_future();
    expect(done.wait_for(std::chrono::seconds(5)) == std::future_status::ready, "the cancelled call completes");
    expect(done.get() == roundtrip::error::canceled, "a cancelled call ends with error::canceled");

    return doc_sample::verdict("docs/coming-from.md");
}
