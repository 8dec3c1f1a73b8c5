// The JSON form of each event: durations in microseconds, errors as their class, enums by name.
#include "trace.hpp"

#include <roundtrip/detail/json.hpp>
#include <roundtrip/error.hpp>

#include <charconv>
#include <chrono>
#include <cmath>

namespace roundtrip::cli {
namespace {

std::string us(clock::duration d)
{
    return std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
}

// Writes each field as `,"key":value`: durations in microseconds under `key_us`, errors as their
// class (null for success), addresses as strings.
class json_fields final : public field_writer {
public:
    explicit json_fields(std::string& out) : o_(out) {}

private:
    void add(std::string_view k, std::string_view v, std::string_view suffix = {})
    {
        o_.append(",").append(json_string(std::string(k).append(suffix))).append(":").append(v);
    }
    void boolean(std::string_view k, bool v) override { add(k, v ? "true" : "false"); }
    void number(std::string_view k, std::uint64_t v) override { add(k, std::to_string(v)); }
    void signed_number(std::string_view k, std::int64_t v) override { add(k, std::to_string(v)); }
    void real(std::string_view k, double v) override
    {
        char text[32];
        const auto [end, ec] = std::to_chars(text, text + sizeof text, v);
        add(k, ec == std::errc{} && std::isfinite(v) ? std::string_view(text, end - text) : "null");
    }
    void text(std::string_view k, std::string_view v) override { add(k, json_string(v)); }
    void duration(std::string_view k, clock::duration v) override { add(k, us(v), "_us"); }
    void error(std::string_view k, const error_code& v) override { add(k, v ? json_string(error_class(v)) : "null"); }
    void address(std::string_view k, const endpoint& v) override { add(k, json_string(to_string(v))); }
    void addresses(std::string_view k, std::span<const endpoint> v) override
    {
        std::string list = "[";
        for (std::size_t i = 0; i < v.size(); ++i)
            list.append(i ? "," : "").append(json_string(to_string(v[i])));
        add(k, list + "]");
    }

    std::string& o_;
};

} // namespace

std::string json_string(std::string_view s)
{
    std::string out;
    detail::append_json_string(out, s);
    return out;
}

void trace_writer::on_event(const event& e) noexcept
{
    try {
        std::string line = "{\"event\":" + json_string(name(e)) + ",\"t_us\":" + us(e.at - epoch_) +
                           ",\"call\":" + std::to_string(e.call) + ",\"attempt\":" + std::to_string(e.attempt) +
                           ",\"conn\":" + (e.conn ? std::to_string(e.conn) : std::string("null"));
        json_fields fields(line);
        write_fields(e, fields);
        line += "}\n";
        std::fwrite(line.data(), 1, line.size(), out_);
    } catch (...) {
        // Out of memory while tracing: the line is lost, the request is not.
    }
}

} // namespace roundtrip::cli
