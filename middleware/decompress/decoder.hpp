// One content coding's decoder (RFC 9110, section 8.4.1): incremental, fed and drained a buffer at a
// time, so that neither side of it has to be in memory at once.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>

namespace roundtrip::decompress_detail {

struct decode_step {
    std::size_t consumed = 0; ///< Encoded bytes taken from the input.
    std::size_t produced = 0; ///< Decoded bytes written to the output.
    bool failed = false;      ///< The input is not valid in this coding (the decoder is unusable after).
};

class decoder {
public:
    virtual ~decoder() = default;
    /// Decodes from `in` into `out`. With an empty `in`, writes what it still holds. Consuming and
    /// producing nothing means it needs more input (or `out` is empty).
    virtual decode_step decode(std::span<const char> in, std::span<char> out) = 0;
    /// Whether the encoded data may end here: the coding's stream is complete and nothing is left
    /// to write.
    virtual bool complete() const noexcept = 0;
};

/// Returns a decoder for `coding` (lowercase: "gzip", "x-gzip", "deflate", "br", "zstd"), or null
/// for a coding there is none for. Throws `std::bad_alloc` when the library cannot allocate its state.
std::unique_ptr<decoder> make_decoder(std::string_view coding);

/// The decoders of each library, for make_decoder.
std::unique_ptr<decoder> make_zlib_decoder(bool gzip);
std::unique_ptr<decoder> make_brotli_decoder();
std::unique_ptr<decoder> make_zstd_decoder();

} // namespace roundtrip::decompress_detail
