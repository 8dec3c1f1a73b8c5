// The headers middleware: sets, adds and removes header fields on every request, from fixed values or
// from a provider asked for each request, and gives requests a default User-Agent.
#pragma once

#include <roundtrip/middleware.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace roundtrip {

/// The User-Agent the headers middleware gives a request that has none, unless told otherwise.
inline constexpr std::string_view default_user_agent = "roundtrip/0.1.0";

/// A `header_provider` computes a header's value for one request: a bearer token that refreshes, a
/// signature over the request. It runs on the client's strand and may co_await; it must not block.
/// Returning no value leaves the header as it is. Its value is checked on every request (a value
/// with CR, LF or NUL fails the call with `error::invalid_header_value`, and nothing is sent).
using header_provider = std::function<asio::awaitable<std::optional<std::string>>(const request&)>;

/// `header_rules` say how the headers middleware edits each request: rule by rule, in the order they
/// were added, before the request goes down the chain. Every request also gets `User-Agent:
/// roundtrip/<version>` unless it has one or `user_agent()` says otherwise.
class header_rules {
public:
    /// Replaces every field named `name` with one holding `value`.
    header_rules& set(std::string name, std::string value);
    /// Appends a field, after any of the same name.
    header_rules& add(std::string name, std::string value);
    /// Sets the field unless the request already has one of that name.
    header_rules& set_if_absent(std::string name, std::string value);
    /// Removes every field named `name`.
    header_rules& remove(std::string name);
    /// Sets the field to what `provider` returns for each request.
    header_rules& provide(std::string name, header_provider provider);
    /// The User-Agent for requests that have none; empty means none is added.
    header_rules& user_agent(std::string value);

private:
    friend layer headers(header_rules rules, error_code& ec);

    enum class action { set, add, set_if_absent, remove, provide };
    struct rule {
        action what;
        std::string name;
        std::string value;
        header_provider provider;
    };
    std::vector<rule> rules_;
    std::string user_agent_{default_user_agent};
};

/// Returns the headers middleware for `rules`. Names and fixed values are checked here, once, not on
/// every request: `ec` is set to `error::invalid_header_name` or `error::invalid_header_value` (the
/// message names neither the field nor its value) and the layer returned then fails every request
/// with that error.
layer headers(header_rules rules, error_code& ec);

/// As above, but throws `boost::system::system_error` when a name or value is invalid.
layer headers(header_rules rules);

} // namespace roundtrip
