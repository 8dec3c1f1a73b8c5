#include "body_decoder.hpp"

#include <roundtrip/middleware/decompress_events.hpp>

#include <algorithm>

namespace roundtrip::decompress_detail {

std::unique_ptr<decoder> make_decoder(std::string_view coding)
{
    if (coding == "gzip" || coding == "x-gzip")
        return make_zlib_decoder(true);
    if (coding == "deflate")
        return make_zlib_decoder(false);
    if (coding == "br")
        return make_brotli_decoder();
    if (coding == "zstd")
        return make_zstd_decoder();
    return nullptr;
}

namespace {
constexpr std::size_t stage_buffer_bytes = 16 * 1024;

bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }
} // namespace

std::vector<std::string> parse_codings(const std::vector<std::string_view>& field_values)
{
    std::vector<std::string> out;
    for (std::string_view v : field_values) {
        while (!v.empty()) {
            const auto comma = v.find(',');
            std::string_view item = v.substr(0, comma);
            v = comma == std::string_view::npos ? std::string_view{} : v.substr(comma + 1);
            while (!item.empty() && is_ows(item.front()))
                item.remove_prefix(1);
            while (!item.empty() && is_ows(item.back()))
                item.remove_suffix(1);
            std::string coding(item);
            std::transform(coding.begin(), coding.end(), coding.begin(),
                           [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); });
            if (!coding.empty() && coding != "identity")
                out.push_back(std::move(coding));
        }
    }
    return out;
}

bool all_known(const std::vector<std::string>& codings)
{
    static constexpr std::string_view known[] = {"gzip", "x-gzip", "deflate", "br", "zstd"};
    return std::all_of(codings.begin(), codings.end(), [](const std::string& c) {
        return std::find(std::begin(known), std::end(known), c) != std::end(known);
    });
}

body_decoder::body_decoder(const std::vector<std::string>& codings, decode_bounds bounds) : bounds_(bounds)
{
    // The last coding applied is the first to undo.
    for (auto it = codings.rbegin(); it != codings.rend(); ++it) {
        stage s{make_decoder(*it), {}, {}, 0};
        if (!stages_.empty())
            s.buffer.resize(stage_buffer_bytes);
        stages_.push_back(std::move(s));
    }
}

std::size_t body_decoder::pull(std::size_t i, std::span<char> out, error_code& ec)
{
    stage& s = stages_[i];
    for (;;) {
        if (s.pending.empty() && i > 0) {
            const std::size_t n = pull(i - 1, s.buffer, ec);
            if (ec)
                return 0;
            s.pending = {s.buffer.data(), n};
        }
        const decode_step step = s.coding->decode(s.pending, out);
        if (step.failed) {
            ec = decompress_error::decoding_failed;
            return 0;
        }
        s.pending.remove_prefix(step.consumed);
        if (i == 0)
            consumed_ += step.consumed;
        // A stage beneath the last one is bounded too: its output may be swallowed whole by the
        // next (a gzip header's comment, brotli metadata, zstd skippable frames), and stacked codings
        // would otherwise decode without end for a few encoded bytes.
        s.produced += step.produced;
        if (i + 1 < stages_.size() && past_bounds(s.produced)) {
            ec = error::body_too_large;
            return 0;
        }
        if (step.produced > 0 || step.consumed == 0)
            return step.produced;
    }
}

bool body_decoder::past_bounds(std::uint64_t decoded) const noexcept
{
    return decoded > bounds_.max_decoded
           || (bounds_.max_ratio > 0 && decoded > bounds_.ratio_after
               && decoded / bounds_.max_ratio > std::max<std::uint64_t>(consumed_, 1));
}

std::size_t body_decoder::decode(std::span<char> out, error_code& ec)
{
    if (out.empty())
        return 0;
    const std::size_t n = pull(stages_.size() - 1, out, ec);
    decoded_ += n;
    if (!ec && past_bounds(decoded_))
        ec = error::body_too_large;
    return ec ? 0 : n;
}

error_code body_decoder::finish() const
{
    if (encoded_ == 0) // an empty body is an empty body, whatever it claims to be coded in
        return {};
    for (const stage& s : stages_)
        if (!s.pending.empty() || !s.coding->complete())
            return decompress_error::decoding_failed;
    return {};
}

std::string body_decoder::decode_all(std::string_view encoded, error_code& ec)
{
    std::string out;
    feed(encoded);
    std::size_t size = 0;
    for (;;) {
        if (out.size() - size < stage_buffer_bytes) {
            // Never past the bound's first byte over: the decode that writes it fails.
            std::uint64_t grow = std::max<std::uint64_t>(out.size() * 2, encoded.size() + stage_buffer_bytes);
            if (bounds_.max_decoded < grow)
                grow = bounds_.max_decoded + 1;
            if (grow > out.size())
                out.resize(static_cast<std::size_t>(grow));
        }
        const std::size_t n = decode(std::span<char>(out).subspan(size), ec);
        if (ec)
            return {};
        if (n == 0)
            break;
        size += n;
    }
    out.resize(size);
    ec = finish();
    return out;
}

} // namespace roundtrip::decompress_detail
