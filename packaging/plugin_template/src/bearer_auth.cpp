#include <bearer_auth/bearer_auth.hpp>

#include <roundtrip/request.hpp>

namespace bearer_auth {

namespace {

class category_impl final : public roundtrip::classified_category {
public:
    const char* name() const noexcept override { return "bearer_auth"; }
    std::string message(int ev) const override
    {
        return ev == static_cast<int>(error::no_token) ? "the token source returned no token" : "unknown error";
    }
    std::string_view class_name(int) const noexcept override { return "auth_error"; }
};

} // namespace

const roundtrip::classified_category& category() noexcept
{
    static const category_impl instance;
    return instance;
}

roundtrip::layer middleware(token_source tokens)
{
    return [tokens = std::move(tokens)](roundtrip::request req,
                                        roundtrip::next next) -> roundtrip::asio::awaitable<roundtrip::result> {
        std::string token = co_await tokens(false);
        if (token.empty())
            co_return roundtrip::result{.error = error::no_token};
        req.headers.set("Authorization", "Bearer " + token);
        // Sent as a copy: the request is needed again if the token is refused.
        roundtrip::result r = co_await next(req);
        if (r.error || r.response.status != 401)
            co_return r;

        const auto asked = roundtrip::clock::now();
        token = co_await tokens(true);
        // A 401 means the server refused the request without acting on it: any method may be sent
        // again, provided its body can be (a buffered body can; a body_stream was used up).
        const bool resend = !token.empty() && roundtrip::body_is_replayable(req);
        roundtrip::emit(req, token_refreshed{r.attempt.attempts, resend, roundtrip::clock::now() - asked});
        if (!resend)
            co_return r; // the 401 is the answer
        // A streamed 401 body holds its connection: given up, it drains and the connection is pooled.
        r.response.body_stream.discard();
        req.headers.set("Authorization", "Bearer " + token);
        co_return co_await next(std::move(req));
    };
}

} // namespace bearer_auth
