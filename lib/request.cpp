// The request value type, and the RFC 9110 syntax checks for methods and header fields.
#include "call_state.hpp"

#include <roundtrip/header_fields.hpp>
#include <roundtrip/request.hpp>

namespace roundtrip {

request::request(std::string_view m, std::string_view u) : method(m), url(u) {}

void request::observe(std::shared_ptr<observer> o, observer_hooks hooks)
{
    observers_ = std::make_shared<const detail::observer_node>(
        detail::observer_node{std::move(o), hooks, std::move(observers_)});
}

std::uint64_t request::call_id() const noexcept { return call_ ? call_->id : 0; }

bool body_is_replayable(const request& req) noexcept
{
    return !req.body_stream; // one-shot: what was read from a body_stream is gone
}

bool is_replayable(const request& req) noexcept
{
    if (!body_is_replayable(req))
        return false;
    constexpr std::string_view idempotent[] = {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"};
    for (auto m : idempotent)
        if (req.method == m)
            return true;
    return req.headers.count("Idempotency-Key") > 0;
}

bool is_token(std::string_view s) noexcept
{
    // tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
    //         / DIGIT / ALPHA                                             (RFC 9110, section 5.6.2)
    constexpr std::string_view specials = "!#$%&'*+-.^_`|~";
    if (s.empty())
        return false;
    for (unsigned char c : s) {
        bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!alnum && specials.find(static_cast<char>(c)) == std::string_view::npos)
            return false;
    }
    return true;
}

bool is_field_value(std::string_view s) noexcept
{
    // field-value = *field-content; VCHAR, obs-text, SP and HTAB are allowed (RFC 9110, section 5.5).
    for (unsigned char c : s)
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return false;
    return true;
}

} // namespace roundtrip
