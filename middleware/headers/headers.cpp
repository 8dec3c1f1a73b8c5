// The headers middleware as a coroutine layer over a validated, shared list of rules.
#include <roundtrip/middleware/headers.hpp>

#include <roundtrip/error.hpp>
#include <roundtrip/header_fields.hpp>

#include <boost/system/system_error.hpp>

#include <algorithm>
#include <memory>

namespace roundtrip {

header_rules& header_rules::set(std::string name, std::string value)
{
    rules_.push_back({action::set, std::move(name), std::move(value), {}});
    return *this;
}

header_rules& header_rules::add(std::string name, std::string value)
{
    rules_.push_back({action::add, std::move(name), std::move(value), {}});
    return *this;
}

header_rules& header_rules::set_if_absent(std::string name, std::string value)
{
    rules_.push_back({action::set_if_absent, std::move(name), std::move(value), {}});
    return *this;
}

header_rules& header_rules::remove(std::string name)
{
    rules_.push_back({action::remove, std::move(name), {}, {}});
    return *this;
}

header_rules& header_rules::provide(std::string name, header_provider provider)
{
    rules_.push_back({action::provide, std::move(name), {}, std::move(provider)});
    return *this;
}

header_rules& header_rules::user_agent(std::string value)
{
    user_agent_ = std::move(value);
    return *this;
}

layer headers(header_rules rules, error_code& ec)
{
    ec = {};
    // First, so that the caller's own rules can replace or remove it.
    if (!rules.user_agent_.empty())
        rules.rules_.insert(rules.rules_.begin(),
                            {header_rules::action::set_if_absent, "User-Agent", std::move(rules.user_agent_), {}});
    for (const auto& r : rules.rules_) {
        if (!is_token(r.name))
            ec = error::invalid_header_name;
        else if (!is_field_value(r.value) || r.value.size() > 65535) // Beast throws for a longer one
            ec = error::invalid_header_value;
        if (ec) {
            return [ec](request, next) -> asio::awaitable<result> {
                result failed;
                failed.error = ec;
                co_return failed;
            };
        }
    }

    using action = header_rules::action;
    // Every rule but a provider's, applied to `fields`.
    static constexpr auto apply = [](const header_rules::rule& r, header_fields& fields) {
        switch (r.what) {
        case action::set: fields.set(r.name, r.value); break;
        case action::add: fields.insert(r.name, r.value); break;
        case action::set_if_absent:
            if (fields.count(r.name) == 0)
                fields.set(r.name, r.value);
            break;
        case action::remove: fields.erase(r.name); break;
        case action::provide: break;
        }
    };
    auto shared = std::make_shared<const std::vector<header_rules::rule>>(std::move(rules.rules_));
    const bool asks_providers = std::any_of(shared->begin(), shared->end(),
                                            [](const auto& r) { return r.what == action::provide; });
    if (!asks_providers) // nothing to wait for: no coroutine frame of its own
        return [shared](request req, next next) -> asio::awaitable<result> {
            for (const auto& r : *shared)
                apply(r, req.headers);
            return next(std::move(req));
        };
    return [shared](request req, next next) -> asio::awaitable<result> {
        for (const auto& r : *shared) {
            if (r.what != action::provide) {
                apply(r, req.headers);
                continue;
            }
            if (std::optional<std::string> value = co_await r.provider(req)) {
                // Beast refuses (throws for) a field value over 64 KiB: refuse it first.
                if (!is_field_value(*value) || value->size() > 65535) {
                    result refused;
                    refused.error = error::invalid_header_value;
                    co_return refused;
                }
                req.headers.set(r.name, *value);
            }
        }
        co_return co_await next(std::move(req));
    };
}

layer headers(header_rules rules)
{
    error_code ec;
    layer built = headers(std::move(rules), ec);
    if (ec)
        throw boost::system::system_error(ec, "roundtrip::headers");
    return built;
}

} // namespace roundtrip
