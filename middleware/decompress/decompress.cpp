// The decompress middleware: one coroutine layer that offers the codings it decodes and undoes the
// one a response arrives in.
#include <roundtrip/middleware/decompress.hpp>

#include "body_decoder.hpp"
#include "decoding_channel.hpp"

#include <memory>

namespace roundtrip {
namespace {

using namespace decompress_detail;

class category_impl final : public classified_category {
public:
    const char* name() const noexcept override { return "roundtrip.decompress"; }
    std::string message(int ev) const override
    {
        return ev == static_cast<int>(decompress_error::decoding_failed) ? "response body does not decode"
                                                                          : "unknown decompress error";
    }
    std::string_view class_name(int ev) const noexcept override
    {
        return ev == static_cast<int>(decompress_error::decoding_failed) ? "decoding_failed" : "other";
    }
};

constexpr std::string_view offered = "gzip, deflate, br, zstd";

// Whether a response of this status (to a method other than HEAD) is decoded: not a 1xx, 204 or 304
// (no body), nor a 206 (a part of the encoded body, which does not decode alone), nor another 3xx
// (a body hardly anyone reads, which should not fail a redirect a layer above would follow).
bool may_decode(unsigned status) noexcept
{
    return status >= 200 && status != 204 && status != 206 && (status < 300 || status > 399);
}

std::string joined(const std::vector<std::string>& codings)
{
    std::string out;
    for (const auto& c : codings)
        out.append(out.empty() ? "" : ", ").append(c);
    return out;
}

struct decompressor {
    explicit decompressor(decompress_options o) : options(o) {}
    asio::awaitable<result> handle(request req, next next) const;
    result decode(result r, const emitter& events, std::uint64_t max_body_bytes) const;
    const decompress_options options;
};

asio::awaitable<result> decompressor::handle(request req, next next) const
{
    // As Go's transport: a request with an Accept-Encoding of its own wants the body as sent.
    if (req.headers.count("Accept-Encoding") || req.headers.count("Range") || req.method == "HEAD")
        co_return co_await next(std::move(req));
    req.headers.set("Accept-Encoding", offered);
    const std::uint64_t max_body_bytes = req.limits ? req.limits->max_body_bytes : options.max_body_bytes;
    const emitter events(req);
    result r = co_await next(std::move(req));
    if (r.error || !may_decode(r.response.status) || !r.response.headers.count("Content-Encoding"))
        co_return r;
    co_return decode(std::move(r), events, max_body_bytes);
}

result decompressor::decode(result r, const emitter& events, std::uint64_t max_body_bytes) const
{
    auto& headers = r.response.headers;
    std::vector<std::string_view> values;
    for (auto [it, end] = headers.equal_range("Content-Encoding"); it != end; ++it)
        values.push_back(it->value());
    const std::vector<std::string> codings = parse_codings(values);
    if (!all_known(codings)) // passed through: the caller may know what to do with it
        return r;
    if (codings.size() > body_decoder::max_codings) {
        r.response.body_stream.discard(); // given up on purpose: its connection may still be pooled
        return result{decompress_error::decoding_failed, {}, r.attempt};
    }
    headers.erase("Content-Encoding");
    if (codings.empty()) // only identity: the body is as sent, its length too
        return r;
    headers.erase("Content-Length");

    const std::string coding = joined(codings);
    decode_bounds bounds{UINT64_MAX, options.ratio_after_bytes, options.max_ratio};
    if (r.response.body_stream.is_open()) {
        r.response.body_stream = decoding_reader(std::move(r.response.body_stream),
                                                 std::make_unique<body_decoder>(codings, bounds));
        events(content_decoded{coding, true, 0, 0});
        return r;
    }
    bounds.max_decoded = max_body_bytes;
    error_code ec;
    std::string decoded = body_decoder(codings, bounds).decode_all(r.response.body, ec);
    if (ec)
        return result{ec, {}, r.attempt};
    events(content_decoded{coding, false, r.response.body.size(), decoded.size()});
    r.response.body = std::move(decoded);
    return r;
}

} // namespace

const classified_category& decompress_category() noexcept
{
    static const category_impl instance;
    return instance;
}

layer decompress(decompress_options options)
{
    auto shared = std::make_shared<const decompressor>(options);
    return [shared](request req, next next) -> asio::awaitable<result> {
        return shared->handle(std::move(req), next);
    };
}

} // namespace roundtrip
