// Proxies: where a request's connection goes instead of the server, and which proxy a request uses.
#pragma once

#include <roundtrip/detail/config.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace roundtrip {

/// A `proxy` is where a request's connection goes instead of the server. With an HTTP proxy,
/// `http://` URLs go to it in absolute form (`GET http://host/path`) and `https://` URLs through a
/// tunnel it opens (`CONNECT host:443`). A SOCKS5 proxy (RFC 1928) opens a tunnel for both. TLS to
/// the server runs inside the tunnel, so that the server's certificate is verified against the
/// server's name, never the proxy's. An `https://` proxy is an HTTP proxy reached over TLS of its
/// own, verified against the proxy's name with the transport's TLS settings: the server's TLS then
/// runs inside the proxy's.
struct proxy {
    /// How roundtrip speaks to the proxy: the scheme of its URL.
    enum class protocol : std::uint8_t {
        http,    ///< `http://`: an HTTP proxy.
        https,   ///< `https://`: an HTTP proxy spoken to over TLS.
        socks5,  ///< `socks5://`: SOCKS5; roundtrip resolves the server's name and sends an address.
        socks5h, ///< `socks5h://`: SOCKS5; the proxy is sent the name and resolves it.
    };
    protocol kind = protocol::http;
    std::string host;      ///< A name or an IP literal, without brackets.
    std::uint16_t port = 0;
    /// Credentials: Basic in `Proxy-Authorization` for HTTP(S), RFC 1929 for SOCKS5 (at most 255 bytes
    /// each); empty: none.
    std::string username;
    std::string password;

    /// Parses a proxy URL as curl takes it: `scheme://[user[:password]@]host[:port]`, the scheme
    /// `http`, `https`, `socks5` or `socks5h` (missing: `http`), a missing port 443 for `https` and
    /// 1080 for the others; user and password are percent-decoded. Returns `invalid_url` for what does
    /// not parse, `unsupported_scheme` for another scheme.
    static error_code parse(std::string_view url, proxy& out);

    /// Returns `scheme://host:port`: the proxy as logs and errors may show it, without credentials.
    std::string where() const;
};

/// What a `proxy_selector` decides for one request: a proxy, none (`via` null: connect directly), or
/// an error that fails the request (a proxy setting that does not parse).
struct proxy_choice {
    std::shared_ptr<const proxy> via;
    error_code error;
};

/// A `proxy_selector` chooses the proxy for a request's scheme, host and port (Go's
/// `Transport.Proxy`). It runs for every request, on the transport's executor: keep it cheap, and
/// return the same `shared_ptr` for the same proxy (connections are pooled by proxy).
using proxy_selector = std::function<proxy_choice(std::string_view scheme, std::string_view host, std::uint16_t port)>;

/// Returns a selector that never uses a proxy, whatever the environment says.
proxy_selector direct();

/// Returns a selector for one proxy, for every request except those to hosts `bypass` lists (the
/// `NO_PROXY` syntax of `bypasses_proxy`).
proxy_selector proxy_for_all(proxy p, std::string bypass = {});

/// Returns the selector curl's environment rules give, read once now: `http_proxy` (lowercase only,
/// as curl: `HTTP_PROXY` may be set by a CGI request) for `http://` URLs; `https_proxy` or
/// `HTTPS_PROXY` for `https://`; else `all_proxy` or `ALL_PROXY`; none for hosts `no_proxy` or
/// `NO_PROXY` lists. Loopback hosts are proxied unless listed. Empty variables count as unset. When
/// none is set it returns an empty selector, which a transport takes as "no proxy" at no cost per
/// request. A `no_proxy` given replaces the variables' list (curl's `--noproxy`). A proxy variable that
/// does not parse fails, with `invalid_config`, every request it applies to.
proxy_selector proxy_from_environment(const char* no_proxy = nullptr);

/// Returns the list `no_proxy` or `NO_PROXY` holds (the lowercase name first, as curl), or "".
std::string no_proxy_from_environment();

/// Returns true when `no_proxy`, a list in curl's `NO_PROXY` syntax, names `host`: entries are
/// separated by commas (and spaces); `*` alone matches every host; a name matches itself and its
/// subdomains (`example.com` and `.example.com` both match `api.example.com`); an IP address matches
/// itself, and `10.0.0.0/8` or `fd00::/8` the addresses in that block. Names compare without case and
/// without a trailing dot. Entries with a port (`host:8080`, Go's form) match nothing, as in curl.
bool bypasses_proxy(std::string_view no_proxy, std::string_view host);

} // namespace roundtrip
