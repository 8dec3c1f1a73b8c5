// The jar's storage model (RFC 6265 section 5.3, with RFC 6265bis's Secure rules) and the cookies it
// sends (section 5.4). Cookies are kept per domain, so a request looks only at the domains its host
// is in: the host, then each parent domain.
#include <roundtrip/middleware/cookie_jar.hpp>

#include "cookie_date.hpp"
#include "public_suffix.hpp"
#include "set_cookie.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <charconv>
#include <map>

namespace roundtrip {

using namespace cookies_detail;
using sys_clock = std::chrono::system_clock;

namespace {

// What of a request's URL the cookie rules look at.
struct target {
    std::string host; // decoded, lowercase, without a trailing dot; an IP literal without brackets
    std::string path; // the URL's path, "/" when empty
    bool secure = false;
    bool is_ip = false; // matched only exactly: no parent domains
};

// "example.com." and "example.com" name one host; the dot would slip a public suffix ("co.uk.")
// past the list, which knows none with it.
void drop_trailing_dot(std::string& name)
{
    if (name.size() > 1 && name.back() == '.')
        name.pop_back();
}

// A name whose last label is a number (decimal, or hex after 0x) is an IPv4 address to the
// resolver ("127.1", "1.2.3.04", "0x7f.1"): matched as an address, never as a domain.
bool looks_numeric(std::string_view host) noexcept
{
    const auto dot = host.rfind('.');
    std::string_view last = dot == std::string_view::npos ? host : host.substr(dot + 1);
    const bool hex = last.starts_with("0x");
    if (hex)
        last.remove_prefix(2);
    return !last.empty() && std::all_of(last.begin(), last.end(), [hex](char c) {
        return (c >= '0' && c <= '9') || (hex && c >= 'a' && c <= 'f');
    });
}

std::optional<target> target_of(std::string_view url)
{
    const auto u = boost::urls::parse_uri(url);
    if (!u || !u->has_authority() || u->encoded_host().empty())
        return std::nullopt;
    target t;
    t.secure = u->scheme_id() == boost::urls::scheme::https;
    const bool literal = u->host_type() != boost::urls::host_type::name;
    t.host = lowercase(literal ? std::string(u->encoded_host_address()) : u->host()); // decoded, as it is dialed
    drop_trailing_dot(t.host);
    t.is_ip = literal || looks_numeric(t.host);
    t.path = u->encoded_path().empty() ? "/" : std::string(u->encoded_path());
    return t;
}

// RFC 6265 section 5.1.3.
bool domain_match(std::string_view host, std::string_view domain, bool host_is_ip) noexcept
{
    if (host == domain)
        return true;
    return !host_is_ip && host.size() > domain.size() && host.ends_with(domain)
           && host[host.size() - domain.size() - 1] == '.';
}

// RFC 6265 section 5.1.4.
bool path_match(std::string_view request_path, std::string_view cookie_path) noexcept
{
    if (request_path == cookie_path)
        return true;
    return request_path.starts_with(cookie_path)
           && (cookie_path.ends_with('/') || request_path[cookie_path.size()] == '/');
}

// RFC 6265 section 5.1.4's default-path: the request path up to its last '/'.
std::string default_path(std::string_view path)
{
    if (path.empty() || path.front() != '/')
        return "/";
    const auto last = path.rfind('/');
    return last == 0 ? "/" : std::string(path.substr(0, last));
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) noexcept
{
    return s.size() >= prefix.size() && boost::beast::iequals(s.substr(0, prefix.size()), prefix);
}

bool expired(const cookie& c, sys_clock::time_point now) noexcept { return c.expires && *c.expires <= now; }

// What the Netscape file format cannot hold: its fields are separated by tabs, its lines by newlines.
bool fits_a_line(std::string_view s) noexcept { return s.find_first_of("\t\r\n") == std::string_view::npos; }

// RFC 6265bis caps an attribute value at 1024 bytes; a path from the URL is held to it too.
constexpr std::size_t max_path_bytes = 1024;

// The host, then each parent domain: "a.b.example" -> "b.example" -> "example"; an IP only itself.
template <class F>
void for_each_suffix(std::string_view host, bool is_ip, F&& f)
{
    for (;;) {
        f(host);
        const auto dot = host.find('.');
        if (is_ip || dot == std::string_view::npos)
            return;
        host.remove_prefix(dot + 1);
    }
}

} // namespace

// Cookies are kept per site (registrable domain, "example.co.uk"), which is also what the
// per-domain limit counts, as browsers do: a server cannot dodge it with many subdomains. A request
// looks at the sites its host's suffixes name, which are few, and never at the rest of the jar.
struct cookie_jar::impl {
    explicit impl(cookie_jar_options o) : options(std::move(o))
    {
        if (!options.clock)
            options.clock = [] { return sys_clock::now(); };
    }

    std::optional<cookie_refusal> store(const target& t, std::string_view text);
    bool shadows_secure(const cookie& c) const;
    void put(cookie c, sys_clock::time_point now);
    void evict(std::vector<cookie>& site, sys_clock::time_point now);
    void drop_expired(std::vector<cookie>& list, sys_clock::time_point now);
    std::string header(const target& t);
    std::string site_of(const cookie& c) const
    {
        const bool address = looks_numeric(c.domain) || c.domain.find(':') != std::string::npos;
        return address ? c.domain : registrable_domain(c.domain);
    }

    cookie_jar_options options;
    mutable std::mutex mutex;
    std::map<std::string, std::vector<cookie>, std::less<>> by_site; // guarded by mutex
    std::size_t count = 0;                                            // guarded by mutex
};

std::optional<cookie_refusal> cookie_jar::impl::store(const target& t, std::string_view text)
{
    auto parsed = parse_set_cookie(text);
    if (!parsed)
        return cookie_refusal::invalid;
    cookies_detail::set_cookie& s = *parsed;
    if (s.name.size() + s.value.size() > options.max_cookie_bytes)
        return cookie_refusal::too_large;
    const auto now = options.clock();

    cookie c;
    c.name = std::move(s.name);
    c.value = std::move(s.value);
    if (s.max_age) {
        using std::chrono::floor;
        using std::chrono::seconds;
        const auto left = floor<seconds>(sys_clock::time_point::max()).time_since_epoch().count()
                          - floor<seconds>(now).time_since_epoch().count();
        c.expires = *s.max_age <= 0 ? sys_clock::time_point::min()
                    : *s.max_age >= left ? sys_clock::time_point::max()
                                         : now + seconds(*s.max_age);
    } else if (s.expires) {
        c.expires = s.expires;
    }
    const bool domain_given = s.domain.has_value();
    if (s.domain)
        drop_trailing_dot(*s.domain);
    if (s.domain && options.reject_public_suffixes && !t.is_ip && is_public_suffix(*s.domain)) {
        if (*s.domain != t.host)
            return cookie_refusal::public_suffix;
        s.domain.reset(); // the host is itself a public suffix: a host-only cookie
    }
    if (s.domain) {
        if (!domain_match(t.host, *s.domain, t.is_ip))
            return cookie_refusal::domain_mismatch;
        c.host_only = t.is_ip; // an address has no subdomains: Domain=<itself> changes nothing
        c.domain = std::move(*s.domain);
    } else {
        c.domain = t.host;
    }
    const bool root_path_given = s.path && *s.path == "/";
    c.path = s.path ? std::move(*s.path) : default_path(t.path);
    if (c.path.size() > max_path_bytes)
        return cookie_refusal::too_large;
    c.secure = s.secure;
    c.http_only = s.http_only;
    c.same_site = s.same_site;
    if (c.secure && !t.secure)
        return cookie_refusal::secure_over_http;
    if (starts_with_nocase(c.name, "__Secure-") && !c.secure)
        return cookie_refusal::prefix_rules;
    if (starts_with_nocase(c.name, "__Host-") && (!c.secure || domain_given || !root_path_given))
        return cookie_refusal::prefix_rules;

    std::lock_guard lock(mutex);
    if (!t.secure && shadows_secure(c)) // RFC 6265bis: http may not shadow or replace a Secure cookie
        return cookie_refusal::overwrites_secure;
    c.created = c.last_access = now;
    put(std::move(c), now);
    return std::nullopt;
}

// Whether a Secure cookie of the same name lives on `c`'s domain or a parent or child of it, on a
// path `c`'s path is in (RFC 6265bis section 5.7, step 16). The caller holds the mutex.
bool cookie_jar::impl::shadows_secure(const cookie& c) const
{
    const auto shadowed = [&](const std::vector<cookie>& list) {
        return std::any_of(list.begin(), list.end(), [&](const cookie& old) {
            return old.secure && old.name == c.name && path_match(c.path, old.path)
                   && (domain_match(old.domain, c.domain, false) || domain_match(c.domain, old.domain, false));
        });
    };
    bool found = false;
    for_each_suffix(c.domain, false, [&](std::string_view site) {
        if (auto it = by_site.find(site); it != by_site.end())
            found = found || shadowed(it->second);
    });
    // A public suffix's subdomains are sites of their own ("a.test" under "test"): each is looked at.
    if (!found && is_public_suffix(c.domain)) {
        const std::string below = "." + c.domain;
        for (const auto& [site, list] : by_site)
            if (site.ends_with(below) && shadowed(list))
                return true;
    }
    return found;
}

// Adds or replaces (keeping the replaced one's creation time), or removes when expired; then keeps
// the limits. The caller holds the mutex.
void cookie_jar::impl::put(cookie c, sys_clock::time_point now)
{
    const std::string site = site_of(c);
    auto& list = by_site[site];
    const auto same = std::find_if(list.begin(), list.end(), [&](const cookie& old) {
        return old.name == c.name && old.domain == c.domain && old.path == c.path;
    });
    if (same != list.end()) {
        c.created = same->created;
        list.erase(same);
        --count;
    }
    if (!expired(c, now)) {
        list.push_back(std::move(c));
        ++count;
    }
    evict(list, now);
    if (list.empty())
        by_site.erase(site);
}

// Removes the expired cookies of one list, keeping the count. The caller holds the mutex.
void cookie_jar::impl::drop_expired(std::vector<cookie>& list, sys_clock::time_point now)
{
    const auto before = list.size();
    std::erase_if(list, [&](const cookie& c) { return expired(c, now); });
    count -= before - list.size();
}

// Section 5.3 step 12: expired cookies go first, then the least recently used of a site over its
// limit, then of the whole jar over its limit.
void cookie_jar::impl::evict(std::vector<cookie>& site, sys_clock::time_point now)
{
    const auto by_use = [](const cookie& a, const cookie& b) { return a.last_access < b.last_access; };
    if (site.size() > options.max_per_domain)
        drop_expired(site, now);
    while (site.size() > options.max_per_domain) {
        site.erase(std::min_element(site.begin(), site.end(), by_use));
        --count;
    }
    if (count > options.max_cookies)
        for (auto& [key, list] : by_site)
            drop_expired(list, now);
    while (count > options.max_cookies) {
        std::vector<cookie>* oldest_list = nullptr;
        std::vector<cookie>::iterator oldest;
        for (auto& [key, list] : by_site)
            if (!list.empty()) {
                auto it = std::min_element(list.begin(), list.end(), by_use);
                if (!oldest_list || it->last_access < oldest->last_access)
                    oldest_list = &list, oldest = it;
            }
        if (!oldest_list)
            break;
        oldest_list->erase(oldest);
        --count;
    }
    std::erase_if(by_site, [&](const auto& entry) { return entry.second.empty() && &entry.second != &site; });
}

std::string cookie_jar::impl::header(const target& t)
{
    const auto now = options.clock();
    std::vector<cookie*> chosen;
    std::lock_guard lock(mutex);
    for_each_suffix(t.host, t.is_ip, [&](std::string_view site) {
        const auto it = by_site.find(site);
        if (it == by_site.end())
            return;
        auto& list = it->second;
        drop_expired(list, now);
        for (cookie& c : list)
            if ((c.host_only ? c.domain == t.host : domain_match(t.host, c.domain, t.is_ip))
                && path_match(t.path, c.path) && (!c.secure || t.secure))
                chosen.push_back(&c);
    });
    std::stable_sort(chosen.begin(), chosen.end(), [](const cookie* a, const cookie* b) {
        return a->path.size() != b->path.size() ? a->path.size() > b->path.size() : a->created < b->created;
    });
    std::string out;
    for (cookie* c : chosen) {
        c->last_access = now;
        out.append(out.empty() ? "" : "; ").append(c->name).append("=").append(c->value);
    }
    return out;
}

cookie_jar::cookie_jar(cookie_jar_options options) : impl_(std::make_unique<impl>(std::move(options))) {}
cookie_jar::~cookie_jar() = default;

std::optional<cookie_refusal> cookie_jar::set_cookie(std::string_view url, std::string_view set_cookie_value)
{
    const auto t = target_of(url);
    if (!t)
        return cookie_refusal::invalid;
    return impl_->store(*t, set_cookie_value);
}

std::string cookie_jar::cookie_header(std::string_view url)
{
    {
        std::lock_guard lock(impl_->mutex);
        if (impl_->count == 0) // an empty jar: no URL to parse
            return {};
    }
    const auto t = target_of(url);
    return t ? impl_->header(*t) : std::string();
}

void cookie_jar::insert(cookie c)
{
    c.domain = lowercase(c.domain);
    if (c.domain.starts_with('.'))
        c.domain.erase(0, 1);
    drop_trailing_dot(c.domain);
    if (c.domain.empty() || c.name.empty())
        return;
    const auto now = impl_->options.clock();
    if (c.created == sys_clock::time_point{})
        c.created = now;
    if (c.last_access == sys_clock::time_point{})
        c.last_access = now;
    std::lock_guard lock(impl_->mutex);
    impl_->put(std::move(c), now);
}

std::vector<cookie> cookie_jar::cookies() const
{
    const auto now = impl_->options.clock();
    std::vector<cookie> out;
    {
        std::lock_guard lock(impl_->mutex);
        for (const auto& [site, list] : impl_->by_site)
            for (const cookie& c : list)
                if (!expired(c, now))
                    out.push_back(c);
    }
    std::sort(out.begin(), out.end(), [](const cookie& a, const cookie& b) {
        return std::tie(a.domain, a.path, a.name) < std::tie(b.domain, b.path, b.name);
    });
    return out;
}

void cookie_jar::clear()
{
    std::lock_guard lock(impl_->mutex);
    impl_->by_site.clear();
    impl_->count = 0;
}

std::size_t cookie_jar::load_netscape(std::string_view text)
{
    const auto is_true = [](std::string_view v) { return boost::beast::iequals(v, "true"); };
    std::size_t added = 0;
    while (!text.empty()) {
        const auto eol = text.find('\n');
        std::string_view line = text.substr(0, eol);
        text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
        if (line.ends_with('\r'))
            line.remove_suffix(1);
        while (!line.empty() && (line.front() == ' ' || line.front() == '\t'))
            line.remove_prefix(1);
        cookie c;
        constexpr std::string_view http_only_mark = "#HttpOnly_";
        if (line.starts_with(http_only_mark)) {
            c.http_only = true;
            line.remove_prefix(http_only_mark.size());
        } else if (line.empty() || line.front() == '#') {
            continue;
        }
        // Seven fields separated by tabs; curl writes six for a cookie with an empty value.
        std::vector<std::string_view> field;
        for (std::string_view rest = line;;) {
            const auto tab = rest.find('\t');
            field.push_back(rest.substr(0, tab));
            if (tab == std::string_view::npos)
                break;
            rest.remove_prefix(tab + 1);
        }
        if (field.size() != 6 && field.size() != 7)
            continue;
        std::int64_t expiry = 0;
        const auto [end, ec] = std::from_chars(field[4].data(), field[4].data() + field[4].size(), expiry);
        if (ec != std::errc{} || end != field[4].data() + field[4].size() || field[5].empty()
            || !field[2].starts_with('/'))
            continue;
        c.domain = field[0];
        c.host_only = !is_true(field[1]);
        c.path = field[2];
        c.secure = is_true(field[3]);
        if (expiry != 0)
            c.expires = clamped(std::chrono::sys_seconds(std::chrono::seconds(expiry)));
        c.name = field[5];
        c.value = field.size() == 7 ? field[6] : std::string_view{};
        if (c.expires && *c.expires <= impl_->options.clock())
            continue;
        if (field[0].empty() || field[0] == ".")
            continue;
        insert(std::move(c));
        ++added;
    }
    return added;
}

std::string cookie_jar::save_netscape() const
{
    std::string out = "# Netscape HTTP Cookie File\n"
                      "# Written by roundtrip; the format curl and wget read.\n\n";
    for (const cookie& c : cookies()) {
        if (!fits_a_line(c.name) || !fits_a_line(c.value) || !fits_a_line(c.domain) || !fits_a_line(c.path))
            continue;
        const auto expiry = c.expires ? std::chrono::duration_cast<std::chrono::seconds>(
                                            std::max(*c.expires, sys_clock::time_point{}).time_since_epoch())
                                            .count()
                                      : 0;
        out.append(c.http_only ? "#HttpOnly_" : "")
            .append(c.host_only ? "" : ".")
            .append(c.domain)
            .append(c.host_only ? "\tFALSE\t" : "\tTRUE\t")
            .append(c.path)
            .append(c.secure ? "\tTRUE\t" : "\tFALSE\t")
            .append(std::to_string(c.expires ? std::max<std::int64_t>(expiry, 1) : 0)) // 0: a session cookie
            .append("\t")
            .append(c.name)
            .append("\t")
            .append(c.value)
            .append("\n");
    }
    return out;
}

std::string_view to_string(cookie_refusal r) noexcept
{
    switch (r) {
    case cookie_refusal::invalid: return "invalid";
    case cookie_refusal::too_large: return "too_large";
    case cookie_refusal::public_suffix: return "public_suffix";
    case cookie_refusal::domain_mismatch: return "domain_mismatch";
    case cookie_refusal::secure_over_http: return "secure_over_http";
    case cookie_refusal::prefix_rules: return "prefix_rules";
    case cookie_refusal::overwrites_secure: return "overwrites_secure";
    }
    return "unknown";
}

} // namespace roundtrip
