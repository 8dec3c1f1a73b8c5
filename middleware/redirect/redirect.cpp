// The redirect middleware: one coroutine layer that sends a request, and the next one while the
// answer is a redirect it may follow.
#include <roundtrip/middleware/redirect.hpp>

#include <roundtrip/redaction.hpp>
#include <roundtrip/request.hpp>

#include <boost/url/parse.hpp>

#include <algorithm>
#include <memory>

namespace roundtrip {
namespace {

class category_impl final : public classified_category {
public:
    const char* name() const noexcept override { return "roundtrip.redirect"; }
    std::string message(int ev) const override
    {
        return ev == static_cast<int>(redirect_error::too_many_redirects) ? "too many redirects" : "unknown redirect error";
    }
    std::string_view class_name(int ev) const noexcept override
    {
        return ev == static_cast<int>(redirect_error::too_many_redirects) ? "too_many_redirects" : "other";
    }
};

bool is_redirect(unsigned status) noexcept
{
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// RFC 3986 section 5.2.4, on the path as sent: "." and ".." segments go, nothing is decoded.
std::string remove_dot_segments(std::string_view in)
{
    std::string out;
    while (!in.empty()) {
        if (in.starts_with("../"))
            in.remove_prefix(3);
        else if (in.starts_with("./"))
            in.remove_prefix(2);
        else if (in.starts_with("/./"))
            in.remove_prefix(2);
        else if (in == "/.")
            in = "/";
        else if (in.starts_with("/../") || in == "/..") {
            in = in.size() == 3 ? std::string_view("/") : in.substr(3);
            const auto last = out.rfind('/');
            out.erase(last == std::string::npos ? 0 : last);
        } else if (in == "." || in == "..") {
            in = {};
        } else {
            const auto next = in.find('/', 1);
            out.append(in.substr(0, next));
            in = next == std::string_view::npos ? std::string_view{} : in.substr(next);
        }
    }
    return out;
}

// `location` resolved against `base` (RFC 3986 section 5.2.2), or empty when either does not parse
// or the result is not an http(s) URL. Written out rather than Boost.URL's resolve, which in 1.81
// decodes the path ("../a%2Fb" becomes ".../a/b"), naming another resource.
std::string resolve(std::string_view base, std::string_view location)
{
    const auto b = boost::urls::parse_uri(base);
    const auto r = boost::urls::parse_uri_reference(location);
    if (!b || !r)
        return {};
    std::string out;
    out.append(r->has_scheme() ? r->scheme() : b->scheme()).append(":");
    std::string_view query = r->encoded_query();
    bool has_query = r->has_query();
    if (r->has_scheme() || r->has_authority()) {
        if (r->has_authority())
            out.append("//").append(r->encoded_authority());
        out.append(remove_dot_segments(r->encoded_path()));
    } else {
        if (b->has_authority())
            out.append("//").append(b->encoded_authority());
        const std::string_view path = r->encoded_path();
        if (path.empty()) {
            out.append(b->encoded_path());
            if (!has_query)
                has_query = b->has_query(), query = b->encoded_query();
        } else if (path.front() == '/') {
            out.append(remove_dot_segments(path));
        } else { // merged with the base's path up to its last '/' (section 5.2.3)
            const std::string_view base_path = b->encoded_path();
            const std::string merged = b->has_authority() && base_path.empty()
                                           ? "/" + std::string(path)
                                           : std::string(base_path.substr(0, base_path.rfind('/') + 1)) + std::string(path);
            out.append(remove_dot_segments(merged));
        }
    }
    if (has_query)
        out.append("?").append(query);
    if (r->has_fragment())
        out.append("#").append(r->encoded_fragment());
    auto u = boost::urls::parse_uri(out);
    if (!u || (u->scheme_id() != boost::urls::scheme::http && u->scheme_id() != boost::urls::scheme::https))
        return {};
    if (!u->has_fragment() && b->has_fragment()) // RFC 9110 10.2.2: the fragment carries over
        out.append("#").append(b->encoded_fragment());
    return out;
}

bool same_origin(const origin& a, const origin& b) noexcept
{
    return a.scheme == b.scheme && a.host == b.host && a.port == b.port;
}

// The request-body fields (the Fetch standard's "request-body-header names"), dropped with the body.
void drop_body_fields(header_fields& h)
{
    for (const auto name : {"Content-Type", "Content-Length", "Content-Encoding", "Content-Language", "Content-Location"})
        h.erase(name);
    h.erase("Transfer-Encoding");
}

struct redirector {
    explicit redirector(redirect_options o) : options(std::move(o)) {}
    asio::awaitable<result> handle(request req, next next) const;
    const redirect_options options;
};

asio::awaitable<result> redirector::handle(request req, next next) const
{
    for (std::uint32_t hops = 0;; ++hops) {
        result r = co_await next(req); // a copy: the next hop is built from this request
        // What is returned says where it came from, when that is not the caller's URL.
        const auto returned = [&]() -> result {
            if (hops > 0 && !r.response.final_url)
                r.response.final_url = std::make_unique<const std::string>(req.url);
            return std::move(r);
        };
        if (r.error)
            co_return r;
        if (!is_redirect(r.response.status))
            co_return returned();
        const unsigned status = r.response.status;
        const auto refuse = [&](redirect_refusal why) {
            emit(req, redirect_refused{status, why});
            return returned();
        };
        const auto location = r.response.headers.find("Location");
        if (location == r.response.headers.end() || location->value().empty()) // empty: as Go, no redirect
            co_return refuse(redirect_refusal::no_location);
        std::string to = resolve(req.url, location->value());
        const auto from_origin = origin_of(req);
        request hop = req;
        hop.url = to;
        const auto to_origin = to.empty() ? std::nullopt : origin_of(hop);
        if (!to_origin || !from_origin)
            co_return refuse(redirect_refusal::invalid_location);
        if (from_origin->scheme == "https" && to_origin->scheme == "http" && !options.allow_downgrade)
            co_return refuse(redirect_refusal::downgrade);

        bool method_changed = false;
        if (status == 307 || status == 308) {
            if (!body_is_replayable(req))
                co_return refuse(redirect_refusal::body_not_replayable);
        } else { // 301, 302, 303: never a body (a GET's stream was read already), as Go
            method_changed = hop.method != "GET" && hop.method != "HEAD";
            if (method_changed)
                hop.method = "GET";
            if (!hop.body.empty() || hop.body_stream) {
                hop.body.clear();
                hop.body_stream = nullptr;
                drop_body_fields(hop.headers);
            }
        }
        // The limit last: a 3xx that would be returned anyway is returned, not turned into an error.
        if (options.max_redirects >= 0 && hops >= static_cast<std::uint32_t>(options.max_redirects)) {
            r.response.body_stream.discard();
            co_return result{redirect_error::too_many_redirects, {}, r.attempt};
        }
        const bool cross_origin = !same_origin(*from_origin, *to_origin);
        if (cross_origin) {
            // A Host the caller set names the first origin: the transport writes the new one's.
            for (const auto name : {"Authorization", "Proxy-Authorization", "Cookie", "Host"})
                hop.headers.erase(name);
            for (const auto& name : options.sensitive_headers)
                hop.headers.erase(name);
        }
        if (options.policy && options.policy(hop, status, hops + 1) == redirect_decision::stop)
            co_return refuse(redirect_refusal::policy);

        const std::string to_origin_text = to_string(*to_origin);
        emit(req, redirect_followed{status, hops + 1, to_origin_text, cross_origin, method_changed, req.url, hop.url});
        // Its body is of no use: drained (bounded) so that its connection can serve the next hop.
        r.response.body_stream.discard();
        req = std::move(hop);
    }
}

} // namespace

void redirect_followed::write_fields(field_writer& out) const
{
    static const redaction policy;
    out("status", status), out("hop", hop), out("from", policy.url(from)), out("to", policy.url(to));
    out("to_origin", to_origin), out("cross_origin", cross_origin), out("method_changed", method_changed);
}

std::string_view to_string(redirect_refusal r) noexcept
{
    switch (r) {
    case redirect_refusal::no_location: return "no_location";
    case redirect_refusal::invalid_location: return "invalid_location";
    case redirect_refusal::downgrade: return "downgrade";
    case redirect_refusal::body_not_replayable: return "body_not_replayable";
    case redirect_refusal::policy: return "policy";
    }
    return "unknown";
}

const classified_category& redirect_category() noexcept
{
    static const category_impl instance;
    return instance;
}

layer redirect(redirect_options options)
{
    auto shared = std::make_shared<const redirector>(std::move(options));
    return [shared](request req, next next) -> asio::awaitable<result> {
        return shared->handle(std::move(req), next);
    };
}

} // namespace roundtrip
