// The jar's storage model (RFC 6265 section 5.3, with RFC 6265bis's Secure rules) and the cookies it
// sends (section 5.4). Cookies are kept per domain, so a request looks only at the domains its host
// is in: the host, then each parent domain.
#include <roundtrip/middleware/cookie_jar.hpp>

#include "public_suffix.hpp"
#include "set_cookie.hpp"

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
    std::string host; // lowercase; an IP literal without brackets
    std::string path; // the URL's path, "/" when empty
    bool secure = false;
    bool is_ip = false;
};

std::optional<target> target_of(std::string_view url)
{
    const auto u = boost::urls::parse_uri(url);
    if (!u || !u->has_authority() || u->encoded_host().empty())
        return std::nullopt;
    target t;
    t.secure = u->scheme_id() == boost::urls::scheme::https;
    t.is_ip = u->host_type() != boost::urls::host_type::name;
    t.host = t.is_ip ? std::string(u->encoded_host_address()) : std::string(u->encoded_host());
    for (char& c : t.host)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c + 32);
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
    if (s.size() < prefix.size())
        return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        const char a = s[i] >= 'A' && s[i] <= 'Z' ? static_cast<char>(s[i] + 32) : s[i];
        const char b = prefix[i] >= 'A' && prefix[i] <= 'Z' ? static_cast<char>(prefix[i] + 32) : prefix[i];
        if (a != b)
            return false;
    }
    return true;
}

bool expired(const cookie& c, sys_clock::time_point now) noexcept { return c.expires && *c.expires <= now; }

} // namespace

struct cookie_jar::impl {
    explicit impl(cookie_jar_options o) : options(std::move(o))
    {
        if (!options.clock)
            options.clock = [] { return sys_clock::now(); };
    }

    std::optional<cookie_refusal> store(const target& t, std::string_view text);
    void put(cookie c, sys_clock::time_point now);
    void evict(const std::string& domain, sys_clock::time_point now);
    std::string header(const target& t);

    cookie_jar_options options;
    mutable std::mutex mutex;
    std::map<std::string, std::vector<cookie>> by_domain; // guarded by mutex
    std::size_t count = 0;                                // guarded by mutex
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
        constexpr std::int64_t ten_thousand_years = 10'000LL * 365 * 24 * 3600;
        c.expires = *s.max_age <= 0 ? sys_clock::time_point::min()
                                    : now + std::chrono::seconds(std::min(*s.max_age, ten_thousand_years));
    } else if (s.expires) {
        c.expires = s.expires;
    }
    if (s.domain && options.reject_public_suffixes && !t.is_ip && is_public_suffix(*s.domain)) {
        if (*s.domain != t.host)
            return cookie_refusal::public_suffix;
        s.domain.reset(); // the host is itself a public suffix: a host-only cookie
    }
    if (s.domain) {
        if (!domain_match(t.host, *s.domain, t.is_ip))
            return cookie_refusal::domain_mismatch;
        c.host_only = false;
        c.domain = std::move(*s.domain);
    } else {
        c.domain = t.host;
    }
    c.path = s.path ? std::move(*s.path) : default_path(t.path);
    c.secure = s.secure;
    c.http_only = s.http_only;
    c.same_site = s.same_site;
    if (c.secure && !t.secure)
        return cookie_refusal::secure_over_http;
    if (starts_with_nocase(c.name, "__Secure-") && !c.secure)
        return cookie_refusal::prefix_rules;
    if (starts_with_nocase(c.name, "__Host-") && (!c.secure || !c.host_only || c.path != "/"))
        return cookie_refusal::prefix_rules;

    std::lock_guard lock(mutex);
    if (!t.secure) { // RFC 6265bis: http may not shadow or replace a Secure cookie
        for (const auto& [domain, list] : by_domain) {
            if (!domain_match(domain, c.domain, false) && !domain_match(c.domain, domain, false))
                continue;
            for (const cookie& old : list)
                if (old.secure && old.name == c.name && path_match(c.path, old.path))
                    return cookie_refusal::overwrites_secure;
        }
    }
    c.created = c.last_access = now;
    put(std::move(c), now);
    return std::nullopt;
}

// Adds or replaces (keeping the replaced one's creation time), or removes when expired; then keeps
// the limits. The caller holds the mutex.
void cookie_jar::impl::put(cookie c, sys_clock::time_point now)
{
    auto& list = by_domain[c.domain];
    const auto same = std::find_if(list.begin(), list.end(), [&](const cookie& old) {
        return old.name == c.name && old.path == c.path;
    });
    if (same != list.end()) {
        c.created = same->created;
        list.erase(same);
        --count;
    }
    const std::string domain = c.domain;
    if (!expired(c, now)) {
        list.push_back(std::move(c));
        ++count;
    }
    evict(domain, now);
}

// Section 5.3 step 12: expired cookies go first, then the least recently used of a domain over its
// limit, then of the whole jar over its limit.
void cookie_jar::impl::evict(const std::string& domain, sys_clock::time_point now)
{
    const auto drop_expired = [&](std::vector<cookie>& list) {
        const auto before = list.size();
        std::erase_if(list, [&](const cookie& c) { return expired(c, now); });
        count -= before - list.size();
    };
    const auto by_use = [](const cookie& a, const cookie& b) { return a.last_access < b.last_access; };
    auto& list = by_domain[domain];
    if (list.size() > options.max_per_domain)
        drop_expired(list);
    while (list.size() > options.max_per_domain) {
        list.erase(std::min_element(list.begin(), list.end(), by_use));
        --count;
    }
    if (count > options.max_cookies)
        for (auto& [d, l] : by_domain)
            drop_expired(l);
    while (count > options.max_cookies) {
        std::vector<cookie>* oldest_list = nullptr;
        std::vector<cookie>::iterator oldest;
        for (auto& [d, l] : by_domain)
            if (!l.empty()) {
                auto it = std::min_element(l.begin(), l.end(), by_use);
                if (!oldest_list || it->last_access < oldest->last_access)
                    oldest_list = &l, oldest = it;
            }
        if (!oldest_list)
            break;
        oldest_list->erase(oldest);
        --count;
    }
    std::erase_if(by_domain, [](const auto& entry) { return entry.second.empty(); });
}

std::string cookie_jar::impl::header(const target& t)
{
    const auto now = options.clock();
    std::vector<cookie*> chosen;
    std::lock_guard lock(mutex);
    // The host, then each parent domain ("a.b.example" -> "b.example" -> "example"); an IP only itself.
    std::string_view domain = t.host;
    for (;;) {
        if (auto it = by_domain.find(std::string(domain)); it != by_domain.end()) {
            auto& list = it->second;
            const auto before = list.size();
            std::erase_if(list, [&](const cookie& c) { return expired(c, now); });
            count -= before - list.size();
            for (cookie& c : list)
                if ((!c.host_only || domain == t.host) && path_match(t.path, c.path) && (!c.secure || t.secure))
                    chosen.push_back(&c);
        }
        const auto dot = domain.find('.');
        if (t.is_ip || dot == std::string_view::npos)
            break;
        domain.remove_prefix(dot + 1);
    }
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
    const auto t = target_of(url);
    return t ? impl_->header(*t) : std::string();
}

void cookie_jar::insert(cookie c)
{
    for (char& ch : c.domain)
        if (ch >= 'A' && ch <= 'Z')
            ch = static_cast<char>(ch + 32);
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
        for (const auto& [domain, list] : impl_->by_domain)
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
    impl_->by_domain.clear();
    impl_->count = 0;
}

std::size_t cookie_jar::load_netscape(std::string_view text)
{
    std::size_t added = 0;
    while (!text.empty()) {
        const auto eol = text.find('\n');
        std::string_view line = text.substr(0, eol);
        text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
        if (line.ends_with('\r'))
            line.remove_suffix(1);
        cookie c;
        constexpr std::string_view http_only_mark = "#HttpOnly_";
        if (line.starts_with(http_only_mark)) {
            c.http_only = true;
            line.remove_prefix(http_only_mark.size());
        } else if (line.empty() || line.front() == '#') {
            continue;
        }
        // Seven fields split at tabs; the last, the value, is the rest of the line.
        std::string_view field[7];
        std::size_t n = 0;
        for (std::string_view rest = line;;) {
            const auto tab = n == 6 ? std::string_view::npos : rest.find('\t');
            field[n++] = rest.substr(0, tab);
            if (tab == std::string_view::npos)
                break;
            rest.remove_prefix(tab + 1);
        }
        if (n < 6) // curl writes 6 fields for a cookie with an empty value
            continue;
        std::int64_t expiry = 0;
        const auto [end, ec] = std::from_chars(field[4].data(), field[4].data() + field[4].size(), expiry);
        std::string_view domain = field[0];
        if (domain.starts_with('.'))
            domain.remove_prefix(1);
        if (ec != std::errc{} || end != field[4].data() + field[4].size() || domain.empty() || field[5].empty()
            || !field[2].starts_with('/'))
            continue;
        c.domain = domain;
        c.host_only = field[1] != "TRUE";
        c.path = field[2];
        c.secure = field[3] == "TRUE";
        if (expiry != 0)
            c.expires = sys_clock::time_point(std::chrono::seconds(expiry));
        c.name = field[5];
        c.value = n == 7 ? field[6] : std::string_view{};
        if (c.expires && *c.expires <= impl_->options.clock())
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
            .append(std::to_string(expiry))
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
