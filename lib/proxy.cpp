// Proxy URLs, curl's environment rules and NO_PROXY matching.
#include "ascii.hpp"
#include "proxy_route.hpp"

#include <roundtrip/error.hpp>
#include <roundtrip/proxy.hpp>

#include <boost/asio/ip/address.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <string>

namespace roundtrip {
namespace {

using detail::ascii_lower;

std::string_view trimmed(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

// Whether `host`, an IP literal, lies in `block` ("10.0.0.0/8", "fd00::/8").
bool in_block(const asio::ip::address& host, std::string_view block)
{
    const auto slash = block.find('/');
    error_code ec;
    const auto base = asio::ip::make_address(std::string(block.substr(0, slash)), ec);
    if (ec || base.is_v4() != host.is_v4())
        return false;
    unsigned bits = 0;
    if (block.size() == slash + 1)
        return false; // "10.0.0.0/": malformed, matches nothing
    for (char c : block.substr(slash + 1)) {
        if (c < '0' || c > '9' || bits > 128)
            return false;
        bits = bits * 10 + static_cast<unsigned>(c - '0');
    }
    const auto a = host.is_v4() ? host.to_v4().to_bytes().size() : 16;
    if (bits > a * 8)
        return false;
    auto bytes = [](const asio::ip::address& x) {
        std::array<unsigned char, 16> out{};
        if (x.is_v4()) {
            auto b = x.to_v4().to_bytes();
            std::copy(b.begin(), b.end(), out.begin());
        } else {
            auto b = x.to_v6().to_bytes();
            std::copy(b.begin(), b.end(), out.begin());
        }
        return out;
    };
    const auto h = bytes(host), b = bytes(base);
    for (unsigned i = 0; i < bits; ++i) {
        const unsigned mask = 0x80u >> (i % 8);
        if ((h[i / 8] & mask) != (b[i / 8] & mask))
            return false;
    }
    return true;
}

std::string env(const char* name)
{
    const char* v = std::getenv(name);
    return v ? std::string(v) : std::string();
}

// The choice a proxy setting gives: its proxy, or why it cannot be used.
proxy_choice choice_of(std::string_view url)
{
    auto p = std::make_shared<proxy>();
    if (proxy::parse(url, *p))
        return {nullptr, error::invalid_config};
    return {std::move(p), {}};
}

} // namespace

error_code proxy::parse(std::string_view url, proxy& out)
{
    std::string text(trimmed(url));
    if (text.find("://") == std::string::npos)
        text.insert(0, "http://");
    auto parsed = boost::urls::parse_uri(text);
    if (!parsed)
        return error::invalid_url;
    const auto& u = *parsed;
    proxy p;
    if (const std::string scheme = ascii_lower(u.scheme()); scheme == "http")
        p.kind = proxy::protocol::http;
    else if (scheme == "https")
        p.kind = proxy::protocol::https;
    else if (scheme == "socks5")
        p.kind = proxy::protocol::socks5;
    else if (scheme == "socks5h")
        p.kind = proxy::protocol::socks5h;
    else
        return error::unsupported_scheme;
    if (u.host_type() == boost::urls::host_type::ipv6)
        p.host = u.host_ipv6_address().to_string();
    else
        p.host = ascii_lower(u.host_address());
    if (p.host.empty() || (!u.encoded_path().empty() && u.encoded_path() != "/") || u.has_query() || u.has_fragment())
        return error::invalid_url;
    if (u.has_port()) {
        if (u.port().empty() || u.port_number() == 0)
            return error::invalid_port;
        p.port = u.port_number();
    } else {
        p.port = p.kind == proxy::protocol::https ? 443 : 1080; // curl's defaults
    }
    if (u.has_userinfo()) {
        p.username = u.user();
        p.password = u.password();
    }
    out = std::move(p);
    return {};
}

std::string proxy::where() const
{
    const char* scheme = "http://";
    switch (kind) {
    case protocol::http: break;
    case protocol::https: scheme = "https://"; break;
    case protocol::socks5: scheme = "socks5://"; break;
    case protocol::socks5h: scheme = "socks5h://"; break;
    }
    return scheme + detail::bracketed(host) + ":" + std::to_string(port);
}

bool bypasses_proxy(std::string_view no_proxy, std::string_view host)
{
    std::string name = ascii_lower(host);
    if (name.size() > 1 && name.back() == '.')
        name.pop_back(); // "example.com." is example.com
    error_code not_ip;
    const auto ip = asio::ip::make_address(name, not_ip);
    while (!no_proxy.empty()) {
        const auto cut = no_proxy.find_first_of(", ");
        std::string entry = ascii_lower(trimmed(no_proxy.substr(0, cut)));
        no_proxy.remove_prefix(cut == std::string_view::npos ? no_proxy.size() : cut + 1);
        if (entry.empty())
            continue;
        if (entry == "*")
            return true;
        if (entry.size() > 2 && entry.front() == '[' && entry.back() == ']')
            entry = entry.substr(1, entry.size() - 2);
        if (!not_ip) {
            if (entry.find('/') != std::string::npos) {
                if (in_block(ip, entry))
                    return true;
                continue;
            }
            error_code bad;
            const auto listed = asio::ip::make_address(entry, bad);
            if (!bad && listed == ip)
                return true;
            continue;
        }
        if (entry.front() == '.')
            entry.erase(0, 1);
        if (!entry.empty() && entry.back() == '.')
            entry.pop_back();
        if (entry.empty())
            continue;
        if (name == entry || (name.size() > entry.size() && name.ends_with(entry)
                              && name[name.size() - entry.size() - 1] == '.'))
            return true;
    }
    return false;
}

std::string no_proxy_from_environment()
{
    for (const char* name : {"no_proxy", "NO_PROXY"})
        if (auto v = env(name); !v.empty())
            return v;
    return {};
}

proxy_selector direct()
{
    return [](std::string_view, std::string_view, std::uint16_t) { return proxy_choice{}; };
}

proxy_selector proxy_for_all(proxy p, std::string bypass)
{
    return [chosen = proxy_choice{std::make_shared<const proxy>(std::move(p)), {}},
            bypass = std::move(bypass)](std::string_view, std::string_view host, std::uint16_t) {
        return bypasses_proxy(bypass, host) ? proxy_choice{} : chosen;
    };
}

proxy_selector proxy_from_environment(const char* no_proxy)
{
    const auto first_set = [](std::initializer_list<const char*> names) {
        for (const char* n : names)
            if (auto v = env(n); !v.empty())
                return v;
        return std::string();
    };
    const std::string all = first_set({"all_proxy", "ALL_PROXY"});
    std::string http = first_set({"http_proxy"});
    std::string https = first_set({"https_proxy", "HTTPS_PROXY"});
    if (http.empty() && https.empty() && all.empty())
        return {};
    http = http.empty() ? all : http;
    https = https.empty() ? all : https;
    std::string bypass = no_proxy ? std::string(no_proxy) : no_proxy_from_environment();
    // One proxy object per distinct URL: the transport makes a route, and keys, once per object.
    const proxy_choice for_http = http.empty() ? proxy_choice{} : choice_of(http);
    const proxy_choice for_https = https.empty() ? proxy_choice{} : https == http ? for_http : choice_of(https);
    return [for_http, for_https, bypass = std::move(bypass)](
               std::string_view scheme, std::string_view host, std::uint16_t) {
        if (!bypass.empty() && bypasses_proxy(bypass, host))
            return proxy_choice{};
        return scheme == "https" ? for_https : for_http;
    };
}

} // namespace roundtrip

namespace roundtrip::detail {
namespace {

std::string base64(std::string_view in)
{
    static constexpr char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    for (std::size_t i = 0; i < in.size(); i += 3) {
        const std::size_t n = std::min<std::size_t>(3, in.size() - i);
        std::uint32_t v = static_cast<unsigned char>(in[i]) << 16;
        if (n > 1)
            v |= static_cast<unsigned char>(in[i + 1]) << 8;
        if (n > 2)
            v |= static_cast<unsigned char>(in[i + 2]);
        out += digits[(v >> 18) & 63];
        out += digits[(v >> 12) & 63];
        out += n > 1 ? digits[(v >> 6) & 63] : '=';
        out += n > 2 ? digits[v & 63] : '=';
    }
    return out;
}

} // namespace

proxy_route::proxy_route(std::shared_ptr<const proxy> p, std::uint64_t credentials, std::shared_ptr<tls_context> proxy_tls)
    : via(std::move(p)), where(via->where()), tls(std::move(proxy_tls))
{
    key_suffix = "#proxy=" + where;
    if (!via->username.empty() || !via->password.empty()) {
        key_suffix.append("#auth").append(std::to_string(credentials));
        if (!is_socks(*via))
            authorization = "Basic " + base64(via->username + ":" + via->password);
    }
}

} // namespace roundtrip::detail
