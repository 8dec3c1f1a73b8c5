// The README's example, run against a local server: a client with two middleware and an observer.

#include "test_server.hpp" // the local server; tests use the same one

// [doc-sample readme]
#include <roundtrip/client.hpp>
#include <roundtrip/middleware/headers.hpp>
#include <roundtrip/middleware/retry.hpp>
#include <cstdio>

// An observer sees every lifecycle event; this one prints whether each connection was reused.
struct reuse_printer : roundtrip::observer {
    void on_event(const roundtrip::event& e) noexcept override {
        if (auto got = std::get_if<roundtrip::got_conn>(&e.data))
            std::printf("conn %llu reused: %d\n", static_cast<unsigned long long>(e.conn), got->reused);
    }
};

int fetch_twice(const std::string& url) {
    roundtrip::client client({.middleware = {roundtrip::headers(roundtrip::header_rules{}.set("X-Env", "demo")),
                                             roundtrip::retry({.max_retries = 2})},
                              .observers = {std::make_shared<reuse_printer>()}});
    roundtrip::response first = client.send({"GET", url});  // throws system_error if no response
    roundtrip::response second = client.send({"GET", url}); // reuses the pooled connection
    return first.status == 200 && second.status == 200 ? 0 : 1;
}
// [end doc-sample]

int main()
{
    roundtrip::test::test_server server;
    return fetch_twice(server.url());
}
