#include "otlp_json_writer.hpp"

#include <roundtrip/version.hpp>

#include <cmath>
#include <type_traits>
#include <variant>

namespace roundtrip::detail::otlp {

void append_double(std::string& out, double v)
{
    if (std::isnan(v))
        out += "\"NaN\"";
    else if (std::isinf(v))
        out += v > 0 ? "\"Infinity\"" : "\"-Infinity\"";
    else {
        char buf[32];
        out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
    }
}

std::uint64_t unix_nanos(std::chrono::system_clock::time_point t) noexcept
{
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
    return ns < 0 ? 0 : static_cast<std::uint64_t>(ns);
}

void append_value(std::string& out, const attribute_value& value)
{
    out += '{';
    std::visit(
        [&](const auto& v) {
            using type = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<type, std::string>) {
                append_key(out, "stringValue");
                append_json_string(out, v);
            } else if constexpr (std::is_same_v<type, std::int64_t>) {
                append_key(out, "intValue");
                append_quoted_integer(out, v);
            } else if constexpr (std::is_same_v<type, double>) {
                append_key(out, "doubleValue");
                append_double(out, v);
            } else {
                static_assert(std::is_same_v<type, bool>);
                append_key(out, "boolValue");
                out += v ? "true" : "false";
            }
        },
        value);
    out += '}';
}

void append_attributes(std::string& out, const std::vector<attribute>& attributes)
{
    append_key(out, "attributes");
    out += '[';
    for (std::size_t i = 0; i < attributes.size(); ++i) {
        if (i > 0)
            out += ',';
        out += '{';
        append_key(out, "key");
        append_json_string(out, attributes[i].key);
        out += ',';
        append_key(out, "value");
        append_value(out, attributes[i].value);
        out += '}';
    }
    out += ']';
}

void open_envelope(std::string& out, std::string_view kind, std::string_view items,
                   const std::vector<attribute>& resource, std::string_view scope)
{
    out.append("{\"resource").append(kind).append("\":[{\"resource\":{");
    append_attributes(out, resource);
    out.append("},\"scope").append(kind).append("\":[{\"scope\":{");
    append_key(out, "name");
    append_json_string(out, scope);
    out += ',';
    append_key(out, "version");
    append_json_string(out, ROUNDTRIP_VERSION_STRING);
    out.append("},");
    append_key(out, items);
    out += '[';
}

void close_envelope(std::string& out) { out += "]}]}]}"; }

} // namespace roundtrip::detail::otlp
