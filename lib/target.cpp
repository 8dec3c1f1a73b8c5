// Request validation and URL parsing with Boost.URL.
#include "target.hpp"

#include <roundtrip/error.hpp>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <optional>

namespace roundtrip::detail {
namespace {

// The port a URL spells, 1..65535; nullopt for anything else. Parsed here because Boost.URL's
// port_number() keeps only the low 16 bits: ":65616" would otherwise mean port 80.
std::optional<std::uint16_t> port_of(std::string_view digits)
{
    unsigned value = 0;
    for (char c : digits) {
        if (c < '0' || c > '9')
            return std::nullopt;
        value = value * 10 + unsigned(c - '0');
        if (value > 65535)
            return std::nullopt;
    }
    if (value == 0)
        return std::nullopt;
    return std::uint16_t(value);
}

// A decoded host name with a byte no DNS name has (controls, space, or a character that would end
// the authority) cannot be resolved and must never reach the resolver or SNI.
bool is_resolvable_name(std::string_view name)
{
    for (unsigned char c : name)
        if (c <= 0x20 || c == 0x7f || c == '/' || c == '?' || c == '#' || c == '@' || c == '\\')
            return false;
    return true;
}

} // namespace

error_code check_fields(const header_fields& fields)
{
    for (const auto& f : fields) {
        if (!is_token(f.name_string()))
            return error::invalid_header_name;
        if (!is_field_value(f.value()))
            return error::invalid_header_value;
    }
    return {};
}

error_code parse_url(std::string_view url, target& out)
{
    auto parsed = boost::urls::parse_uri(url);
    if (!parsed)
        return error::invalid_url;
    const boost::urls::url_view& u = *parsed;
    if (u.scheme_id() != boost::urls::scheme::http && u.scheme_id() != boost::urls::scheme::https)
        return error::unsupported_scheme;
    out.tls = u.scheme_id() == boost::urls::scheme::https;
    if (!u.has_authority() || u.encoded_host().empty())
        return error::invalid_url;

    switch (u.host_type()) {
    case boost::urls::host_type::ipv4:
        out.host_is_ip = true;
        out.ip = asio::ip::address_v4(u.host_ipv4_address().to_bytes());
        // RFC 3986's IPv4address is dotted decimal without leading zeros: the URL spells it as
        // to_string() would, without inet_ntop and sprintf on every attempt.
        out.host = u.encoded_host();
        break;
    case boost::urls::host_type::ipv6:
        out.host_is_ip = true;
        out.ip = asio::ip::address_v6(u.host_ipv6_address().to_bytes());
        out.host = out.ip.to_string();
        break;
    case boost::urls::host_type::name:
        out.host_is_ip = false;
        out.host = u.encoded_host_name().decode();
        if (!is_resolvable_name(out.host))
            return error::invalid_url;
        break;
    default:
        return error::invalid_url;
    }

    if (!u.port().empty()) {
        auto port = port_of(u.port());
        if (!port)
            return error::invalid_port;
        out.port = *port;
    } else {
        out.port = out.tls ? 443 : 80; // "http://h:/" has an empty port: the default (RFC 3986, 3.2.3)
    }

    // The Host header is the authority without user info (RFC 9110, section 7.2).
    out.host_header = u.encoded_host_and_port();
    if (u.has_port() && u.port().empty())
        out.host_header = u.encoded_host();
    out.path = u.encoded_target();
    // After an authority the path is empty or starts with "/" (RFC 3986, 3.3); Boost.URL 1.81 takes
    // "http://[::1]:80)/a" with the path ")/a", which would make a malformed request line.
    if (!out.path.empty() && out.path.front() != '/' && out.path.front() != '?')
        return error::invalid_url;
    if (out.path.empty())
        out.path = "/";
    else if (out.path.front() == '?') { // "http://h?q" has an empty path; the origin form is "/?q"
        out.owned_path.reserve(out.path.size() + 1);
        out.owned_path.append("/").append(out.path);
        out.path = out.owned_path;
    }
    return {};
}

error_code parse_target(const request& req, target& out)
{
    if (!is_token(req.method))
        return error::invalid_method;
    if (auto ec = parse_url(req.url, out))
        return ec;
    return check_fields(req.headers);
}

error_code target_cache::parse(const request& req, target& out)
{
    if (url_.empty() || req.url != url_) {
        const error_code ec = parse_target(req, out);
        // A path the parse had to build ("/?q") does not point into the URL: not remembered.
        if (ec || !out.owned_path.empty())
            return ec;
        url_ = req.url;
        host_ = out.host;
        host_is_ip_ = out.host_is_ip;
        ip_ = out.ip;
        port_ = out.port;
        tls_ = out.tls;
        host_header_at_ = static_cast<std::size_t>(out.host_header.data() - req.url.data());
        host_header_size_ = out.host_header.size();
        const bool root = out.path.data() < req.url.data() || out.path.data() >= req.url.data() + req.url.size();
        path_at_ = root ? 0 : static_cast<std::size_t>(out.path.data() - req.url.data());
        path_size_ = root ? 0 : out.path.size();
        return ec;
    }
    if (!is_token(req.method))
        return error::invalid_method;
    out.host = host_;
    out.host_is_ip = host_is_ip_;
    out.ip = ip_;
    out.port = port_;
    out.tls = tls_;
    const std::string_view url = req.url;
    out.host_header = url.substr(host_header_at_, host_header_size_);
    out.path = path_size_ == 0 ? std::string_view("/") : url.substr(path_at_, path_size_);
    return check_fields(req.headers);
}

} // namespace roundtrip::detail

namespace roundtrip {

std::optional<origin> origin_of(const request& req)
{
    detail::target t;
    if (detail::parse_url(req.url, t))
        return std::nullopt;
    return origin{std::string(t.scheme()), std::move(t.host), t.port};
}

std::string to_string(const origin& o)
{
    const bool ipv6 = o.host.find(':') != std::string::npos;
    return o.scheme + "://" + (ipv6 ? "[" + o.host + "]" : o.host) + ":" + std::to_string(o.port);
}

} // namespace roundtrip
