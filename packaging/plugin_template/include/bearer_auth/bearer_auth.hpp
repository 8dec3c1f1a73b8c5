// bearer_auth: a roundtrip middleware, built outside roundtrip's tree against its installed package.
// It puts `Authorization: Bearer <token>` on every request, and when the server answers 401 it asks
// for a fresh token and sends the request once more — only if the request can be sent again.
//
// This project is a template: copy the folder, rename `bearer_auth`, keep the shape.
#pragma once

#include <roundtrip/error.hpp>
#include <roundtrip/field_writer.hpp>
#include <roundtrip/middleware.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace bearer_auth {

/// Returns a token. `refresh` is true when the last one was refused (a 401): return a new one.
/// Runs on the client's strand, so it must not block; a coroutine that awaits its source may.
using token_source = std::function<roundtrip::asio::awaitable<std::string>(bool refresh)>;

/// The middleware's own errors, in a category of its own whose codes each belong to a class (the CLI,
/// logs and spans show the class).
enum class error {
    no_token = 1, ///< The token source returned an empty token. Class "auth_error".
};
const roundtrip::classified_category& category() noexcept;
inline roundtrip::error_code make_error_code(error e) noexcept { return {static_cast<int>(e), category()}; }

/// `token_refreshed` fires when a 401 made the middleware fetch a new token; the request is then sent
/// again (`resent`), or not, when its body cannot be sent twice.
struct token_refreshed {
    static constexpr std::string_view event_name = "token_refreshed";
    static constexpr std::string_view attribute_prefix = "bearer_auth";

    std::uint32_t refused_attempt = 0; ///< The attempt the server answered 401.
    bool resent = false;
    roundtrip::clock::duration took{}; ///< How long the token source took.

    void write_fields(roundtrip::field_writer& out) const
    {
        out("refused_attempt", refused_attempt), out("resent", resent), out("took", took);
    }
};

/// Returns the middleware, to put in `client_options::middleware`.
roundtrip::layer middleware(token_source tokens);

} // namespace bearer_auth

template <>
struct boost::system::is_error_code_enum<bearer_auth::error> : std::true_type {};
