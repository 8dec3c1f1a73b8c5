// The cookies middleware: one coroutine layer between a request and its jar.
#include <roundtrip/middleware/cookies.hpp>

#include "set_cookie.hpp"

namespace roundtrip {

layer cookies(std::shared_ptr<cookie_jar> jar)
{
    return [jar = std::move(jar)](request req, next next) -> asio::awaitable<result> {
        std::string url = req.url; // the response's cookies are judged against it
        if (std::string header = jar->cookie_header(url); !header.empty()) {
            if (const auto own = req.headers.find("Cookie"); own != req.headers.end() && !own->value().empty())
                header = std::string(own->value()) + "; " + header;
            req.headers.set("Cookie", header);
        }
        const emitter events(req);
        result r = co_await next(std::move(req));
        if (r.error)
            co_return r;
        for (auto [it, end] = r.response.headers.equal_range("Set-Cookie"); it != end; ++it)
            if (const auto refused = jar->set_cookie(url, it->value()))
                events(cookie_refused{cookies_detail::name_part(it->value()), *refused});
        co_return r;
    };
}

} // namespace roundtrip
