// A response body's decoding: the chain of decoders its Content-Encoding lists, and the bounds that
// keep a small body from decoding into an unbounded one.
#pragma once

#include "decoder.hpp"

#include <roundtrip/detail/config.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace roundtrip::decompress_detail {

struct decode_bounds {
    std::uint64_t max_decoded = UINT64_MAX; ///< Past it: body_too_large.
    std::uint64_t ratio_after = 0;          ///< Decoded bytes after which max_ratio applies.
    std::uint32_t max_ratio = 0;            ///< Decoded to encoded; 0: none.
};

class body_decoder {
public:
    /// The most codings one body may list (curl allows 5, browsers about as few).
    static constexpr std::size_t max_codings = 4;

    /// Takes the codings as listed (applied first to last); decodes them last to first.
    body_decoder(const std::vector<std::string>& codings, decode_bounds bounds);

    /// Gives the next encoded bytes, which must stay valid until `needs_input()`. Only when it does.
    void feed(std::string_view encoded) noexcept
    {
        stages_.front().pending = encoded;
        encoded_ += encoded.size();
    }
    /// Whether everything fed has been consumed.
    bool needs_input() const noexcept { return stages_.front().pending.empty(); }

    /// Decodes into `out`, returning how many bytes were written; 0 without an error means that it
    /// needs more input (or `out` is empty). Errors: decompress_error::decoding_failed,
    /// error::body_too_large.
    std::size_t decode(std::span<char> out, error_code& ec);

    /// The encoded body ended (everything fed was decoded): an error unless every coding is complete.
    error_code finish() const;

    /// Decodes a whole buffered body.
    std::string decode_all(std::string_view encoded, error_code& ec);

private:
    struct stage {
        std::unique_ptr<decoder> coding;
        std::string_view pending;  // input not consumed yet
        std::vector<char> buffer;  // where the stage beneath writes (all but the first stage)
        std::uint64_t produced = 0;
    };
    std::size_t pull(std::size_t i, std::span<char> out, error_code& ec);
    // Whether `decoded` bytes from what was consumed so far break the bounds.
    bool past_bounds(std::uint64_t decoded) const noexcept;

    std::vector<stage> stages_; // stages_[0] reads the encoded body
    decode_bounds bounds_;
    std::uint64_t encoded_ = 0;  // fed
    std::uint64_t consumed_ = 0; // taken by the first decoder: what the ratio is measured against
    std::uint64_t decoded_ = 0;
};

/// Returns the codings of a response's Content-Encoding field lines, lowercase, `identity` left out.
std::vector<std::string> parse_codings(const std::vector<std::string_view>& field_values);

/// Returns whether make_decoder knows every one of `codings`.
bool all_known(const std::vector<std::string>& codings);

} // namespace roundtrip::decompress_detail
