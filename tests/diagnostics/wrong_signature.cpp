// Must not compile: a middleware that takes the request by reference is not a middleware. The test
// checks that the compiler says so in roundtrip's words (middleware.hpp's static_assert), rather than
// failing overload resolution in client_options's initializer.
#include <roundtrip/client.hpp>

int main()
{
    auto wrong = [](roundtrip::request& req, roundtrip::next next) -> roundtrip::asio::awaitable<roundtrip::result> {
        co_return co_await next(std::move(req));
    };
    roundtrip::client client({.middleware = {wrong}});
}
