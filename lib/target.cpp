// Request validation and URL parsing with Boost.URL.
#include "target.hpp"

#include <roundtrip/error.hpp>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

namespace roundtrip::detail {

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

error_code parse_target(const request& req, target& out)
{
    if (!is_token(req.method))
        return error::invalid_method;

    auto parsed = boost::urls::parse_uri(req.url);
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
        out.host = out.ip.to_string();
        break;
    case boost::urls::host_type::ipv6:
        out.host_is_ip = true;
        out.ip = asio::ip::address_v6(u.host_ipv6_address().to_bytes());
        out.host = out.ip.to_string();
        break;
    case boost::urls::host_type::name:
        out.host_is_ip = false;
        out.host = u.encoded_host_name().decode();
        if (out.host.find('\0') != std::string::npos)
            return error::invalid_url;
        break;
    default:
        return error::invalid_url;
    }

    if (u.has_port()) {
        auto digits = u.port();
        if (digits.empty() || digits.size() > 5 || u.port_number() == 0)
            return error::invalid_port;
        out.port = u.port_number();
    } else {
        out.port = out.tls ? 443 : 80;
    }

    // The Host header is the authority without user info (RFC 9110, section 7.2).
    out.host_header = u.encoded_host_and_port();
    if (u.has_port() && u.port().empty())
        out.host_header = u.encoded_host();
    out.path = u.encoded_target();
    if (out.path.empty())
        out.path = "/";
    else if (out.path.front() == '?') { // "http://h?q" has an empty path; the origin form is "/?q"
        out.owned_path.reserve(out.path.size() + 1);
        out.owned_path.append("/").append(out.path);
        out.path = out.owned_path;
    }

    return check_fields(req.headers);
}

} // namespace roundtrip::detail
