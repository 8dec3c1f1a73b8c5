// The README's example, run against a local server: a client with two middleware and an observer.

#include <roundtrip/testing/test_server.hpp> // the local server; tests use the same one

// [doc-sample readme]
#include <roundtrip/client.hpp>
#include <roundtrip/middleware/headers.hpp>
#include <roundtrip/middleware/retry.hpp>
#include <cstdio>

// Prints every lifecycle event of every call: dns_done, connect_done, got_conn reused=..., ...
struct printer : roundtrip::observer {
    void on_event(const roundtrip::event& e) noexcept override { std::puts(roundtrip::describe(e).c_str()); }
};

int fetch_twice(const std::string& url) {
    roundtrip::client client({.middleware = {roundtrip::headers(roundtrip::header_rules{}.set("X-Env", "demo")),
                                             roundtrip::retry({.max_retries = 2})},
                              .observers = {std::make_shared<printer>()}});
    roundtrip::response first = client.send({"GET", url});  // throws system_error if no response
    roundtrip::response second = client.send({"GET", url}); // got_conn reused=true: the pooled connection
    return first.status == 200 && second.status == 200 ? 0 : 1;
}
// [end doc-sample]

int main()
{
    roundtrip::testing::test_server server;
    return fetch_twice(server.url());
}
