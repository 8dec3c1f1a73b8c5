// A cookie jar (RFC 6265, with RFC 6265bis's SameSite, Secure and prefix rules): what the cookies
// middleware stores from responses and sends with requests, shared by the calls of a client.
#pragma once

#include <roundtrip/middleware/cookie_events.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace roundtrip {

/// The `SameSite` attribute as the server sent it (RFC 6265bis). Recorded, not enforced: a client
/// library sends no cross-site requests of its own.
enum class same_site { unset, strict, lax, none };

/// A `cookie` as the jar stores it (RFC 6265, section 5.3).
struct cookie {
    std::string name;
    std::string value;
    /// The host the cookie was set for (host-only) or the domain it applies to, lowercase, without
    /// a leading or trailing dot (`insert` removes them).
    std::string domain;
    std::string path = "/";
    /// Sent only to `domain` itself (no `Domain` attribute was given), not to its subdomains.
    bool host_only = true;
    bool secure = false;    ///< Sent only over https.
    bool http_only = false; ///< Recorded: there is no script side here to hide it from.
    roundtrip::same_site same_site = same_site::unset;
    /// When it expires; nullopt for a session cookie, which lasts as long as the jar.
    std::optional<std::chrono::system_clock::time_point> expires;
    std::chrono::system_clock::time_point created{};
    std::chrono::system_clock::time_point last_access{};
};

/// `cookie_jar_options` configure a jar; each default is the one stated.
struct cookie_jar_options {
    /// The wall clock expiry is judged by; default `std::chrono::system_clock::now`. Tests inject one.
    std::function<std::chrono::system_clock::time_point()> clock;
    /// Refuse a `Domain` attribute that is a public suffix ("co.uk", "github.io"), with Debian's
    /// libpsl and its public suffix list. Default on; off only for tests of names that are not real.
    bool reject_public_suffixes = true;
    /// RFC 6265 section 6.1's limits: the name and value of one cookie (a larger one is refused),
    /// cookies per site (registrable domain: "example.co.uk" for "a.b.example.co.uk", as browsers
    /// count) and in all (past them the least recently used are evicted).
    std::size_t max_cookie_bytes = 4096;
    std::size_t max_per_domain = 50;
    std::size_t max_cookies = 3000;
};

/// A `cookie_jar` stores cookies from responses and says which to send with a request. Thread-safe:
/// the calls of a client share one, however many threads run them.
class cookie_jar {
public:
    explicit cookie_jar(cookie_jar_options options = {});
    ~cookie_jar();
    cookie_jar(const cookie_jar&) = delete;
    cookie_jar& operator=(const cookie_jar&) = delete;

    /// Stores the cookie of one `Set-Cookie` field value received in a response to `url`, or
    /// removes the one it expires. Returns nullopt when stored (or removed), else why it was refused
    /// (an unparsable `url` is `invalid`).
    std::optional<cookie_refusal> set_cookie(std::string_view url, std::string_view set_cookie_value);

    /// Returns the `Cookie` field value to send with a request to `url` ("" when no cookie applies),
    /// ordered as RFC 6265 section 5.4 says: longer paths first, then older cookies first.
    std::string cookie_header(std::string_view url);

    /// Adds or replaces a cookie as it is (a loaded one, say); an expired one removes its namesake.
    void insert(cookie c);

    /// Returns the cookies that have not expired, ordered by domain, path and name.
    std::vector<cookie> cookies() const;
    /// Removes every cookie.
    void clear();

    /// Reads cookies in the Netscape cookie file format curl and wget use (a line a cookie: domain,
    /// include-subdomains, path, secure, expiry in Unix seconds with 0 for a session cookie, name,
    /// value, separated by tabs; `#HttpOnly_` before the domain; `#` lines are comments). Lines
    /// that do not parse are skipped. Returns the number of cookies added.
    std::size_t load_netscape(std::string_view text);
    /// Writes every cookie that has not expired in that format, session cookies with expiry 0, as
    /// curl does: `-b` and `--cookie-jar` files move between the two.
    std::string save_netscape() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace roundtrip
