// The fields of an event as (key, value) pairs: what lets a writer (the logging middleware, tracing,
// the CLI's --trace, a metrics exporter) show any event, roundtrip's own or a middleware's, without
// knowing its type.
#pragma once

#include <roundtrip/detail/config.hpp>

#include <boost/asio/ip/tcp.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace roundtrip {

/// A `field_writer` receives the fields of one event, in the order the event declares them
/// (`write_fields` in events.hpp). An event calls it as `out("key", value)`; a writer derives from
/// it and implements one function per kind of value. Keys are snake_case and stable: they are what
/// logs, traces and dashboards match on. Values are valid only during the call.
///
/// How the library's writers show each kind: numbers and booleans as they are; text as it is
/// (quoted in JSON); a duration in whole microseconds, its key suffixed `_us` in `describe` lines and
/// span attributes; an error by its class (`error_class`), `none` or `null` for success; an address as
/// `127.0.0.1:80` or `[::1]:80`.
class field_writer {
public:
    template <std::same_as<bool> B> // a template, so that no pointer or number turns into a bool
    void operator()(std::string_view key, B v)
    {
        boolean(key, v);
    }
    template <std::integral T>
        requires(!std::same_as<T, bool>)
    void operator()(std::string_view key, T v)
    {
        if constexpr (std::is_signed_v<T>)
            signed_number(key, static_cast<std::int64_t>(v));
        else
            number(key, static_cast<std::uint64_t>(v));
    }
    void operator()(std::string_view key, double v) { real(key, v); }
    void operator()(std::string_view key, std::string_view v) { text(key, v); }
    void operator()(std::string_view key, const char* v) { text(key, v); }
    void operator()(std::string_view key, std::nullptr_t) = delete;
    void operator()(std::string_view key, clock::duration v) { duration(key, v); }
    void operator()(std::string_view key, const error_code& v) { error(key, v); }
    void operator()(std::string_view key, const asio::ip::tcp::endpoint& v) { address(key, v); }
    void operator()(std::string_view key, std::span<const asio::ip::tcp::endpoint> v) { addresses(key, v); }

protected:
    ~field_writer() = default;

    virtual void boolean(std::string_view key, bool v) = 0;
    virtual void number(std::string_view key, std::uint64_t v) = 0;
    virtual void signed_number(std::string_view key, std::int64_t v) = 0;
    virtual void real(std::string_view key, double v) = 0;
    virtual void text(std::string_view key, std::string_view v) = 0;
    virtual void duration(std::string_view key, clock::duration v) = 0;
    virtual void error(std::string_view key, const error_code& v) = 0;
    virtual void address(std::string_view key, const asio::ip::tcp::endpoint& v) = 0;
    virtual void addresses(std::string_view key, std::span<const asio::ip::tcp::endpoint> v) = 0;
};

} // namespace roundtrip
