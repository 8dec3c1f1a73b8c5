// See prometheus.hpp. Names follow OpenTelemetry's "Prometheus and OpenMetrics Compatibility"
// mapping, as its Prometheus exporters write them.
#include <roundtrip/middleware/metrics/prometheus.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <vector>

namespace roundtrip {
namespace {

bool digit(char c) noexcept { return c >= '0' && c <= '9'; }

// Replaces each character Prometheus does not allow in a metric name (letters, digits, `_`, and
// `:` outside labels) with `_`, and a run of `_` with one. A name that would start with a digit
// gets a prefix: `_` for a metric, `key_` for a label (names starting `__` are Prometheus's own).
std::string sanitize(std::string_view name, bool label)
{
    std::string out;
    if (name.empty() || digit(name.front()))
        out = label ? "key_" : "_";
    for (char c : name) {
        const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || digit(c) || (c == ':' && !label);
        const char mapped = allowed ? c : '_';
        if (mapped == '_' && !out.empty() && out.back() == '_')
            continue;
        out.push_back(mapped);
    }
    return out;
}

// The unit as a name suffix: UCUM's abbreviations spelled out, annotations (`{request}`) dropped.
std::string_view unit_suffix(std::string_view unit) noexcept
{
    if (unit.empty() || unit.front() == '{')
        return {};
    if (unit == "s")
        return "seconds";
    if (unit == "ms")
        return "milliseconds";
    if (unit == "By")
        return "bytes";
    if (unit == "1")
        return "ratio";
    return {};
}

std::string metric_name(const metric& m)
{
    std::string name = sanitize(m.name, false);
    if (const auto unit = unit_suffix(m.unit); !unit.empty() && !name.ends_with(unit))
        name.append("_").append(unit);
    if (m.kind == instrument_kind::counter && !name.ends_with("_total"))
        name.append("_total");
    return name;
}

void append_escaped(std::string& out, std::string_view text, bool quote)
{
    for (char c : text) {
        if (c == '\\')
            out.append("\\\\");
        else if (c == '\n')
            out.append("\\n");
        else if (c == '"' && quote)
            out.append("\\\"");
        else
            out.push_back(c);
    }
}

void append_number(std::string& out, double v)
{
    if (std::isinf(v)) {
        out.append(v > 0 ? "+Inf" : "-Inf");
        return;
    }
    char buffer[32];
    out.append(buffer, std::to_chars(buffer, buffer + sizeof buffer, v).ptr);
}

void append_number(std::string& out, std::int64_t v)
{
    char buffer[24];
    out.append(buffer, std::to_chars(buffer, buffer + sizeof buffer, v).ptr);
}

// `{key="value",...}`, with `le` last for a bucket; nothing when there are no labels. Keys that
// sanitize to one label name (`a.b` and `a_b`) become one label, their values joined with `;` in
// the order of their keys, as OpenTelemetry's mapping says.
void append_labels(std::string& out, const metric_point& p, const std::string* le = nullptr)
{
    if (p.attributes.empty() && !le)
        return;
    std::vector<std::pair<std::string, const metric_attribute*>> labels;
    for (const auto& a : p.attributes)
        labels.emplace_back(sanitize(a.key, true), &a);
    out.push_back('{');
    bool first = true;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        if (!labels[i].second)
            continue; // joined into an earlier label of the same name
        std::vector<const metric_attribute*> same{labels[i].second};
        for (std::size_t j = i + 1; j < labels.size(); ++j)
            if (labels[j].second && labels[j].first == labels[i].first) {
                same.push_back(labels[j].second);
                labels[j].second = nullptr;
            }
        std::sort(same.begin(), same.end(), [](auto* x, auto* y) { return x->key < y->key; });
        if (!first)
            out.push_back(',');
        first = false;
        out.append(labels[i].first).append("=\"");
        for (std::size_t k = 0; k < same.size(); ++k) {
            if (k > 0)
                out.push_back(';');
            append_escaped(out, same[k]->value, true);
        }
        out.push_back('"');
    }
    if (le) {
        if (!first)
            out.push_back(',');
        out.append("le=\"").append(*le).push_back('"');
    }
    out.push_back('}');
}

void append_sample(std::string& out, std::string_view name, const metric_point& p, double value,
                   const std::string* le = nullptr)
{
    out.append(name);
    append_labels(out, p, le);
    out.push_back(' ');
    append_number(out, value);
    out.push_back('\n');
}

} // namespace

std::string prometheus_text(const metrics_snapshot& snapshot)
{
    std::string out;
    for (const metric& m : snapshot.metrics) {
        const std::string name = metric_name(m);
        out.append("# HELP ").append(name).push_back(' ');
        append_escaped(out, m.description, false);
        out.append("\n# TYPE ").append(name).push_back(' ');
        out.append(m.kind == instrument_kind::counter           ? "counter"
                   : m.kind == instrument_kind::up_down_counter ? "gauge"
                                                                : "histogram");
        out.push_back('\n');
        for (const metric_point& p : m.points) {
            if (m.kind != instrument_kind::histogram) {
                out.append(name);
                append_labels(out, p);
                out.push_back(' ');
                append_number(out, p.value);
                out.push_back('\n');
                continue;
            }
            std::uint64_t cumulative = 0;
            std::string le;
            for (std::size_t i = 0; i < p.bucket_counts.size(); ++i) {
                cumulative += p.bucket_counts[i];
                le.clear();
                append_number(le, i < m.bounds.size() ? m.bounds[i] : INFINITY);
                append_sample(out, name + "_bucket", p, static_cast<double>(cumulative), &le);
            }
            append_sample(out, name + "_sum", p, p.sum);
            append_sample(out, name + "_count", p, static_cast<double>(p.count));
        }
    }
    return out;
}

} // namespace roundtrip
