// Fuzzes the decompress middleware's decoders (gzip, deflate, br, zstd, and two stacked) with what a
// hostile server sends: the input's first byte picks the codings, the second how the body arrives
// and how much the reader asks for; the rest is the body. Whatever it is, decoding stays within its
// bounds, and a body decoded whole and one decoded piece by piece, as a streamed body is, agree.
#include "require.hpp"

#include "../middleware/decompress/body_decoder.hpp"

#include <roundtrip/middleware/decompress_events.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

using namespace roundtrip;
using namespace roundtrip::decompress_detail;
using roundtrip::fuzz::require;

namespace {

constexpr decode_bounds bounds{.max_decoded = 4 * 1024 * 1024, .ratio_after = 64 * 1024, .max_ratio = 1000};

// Decodes `body` fed `piece` bytes at a time into reads of `want` bytes, as decoding_channel does.
std::string in_pieces(const std::vector<std::string>& codings, std::string_view body, std::size_t piece,
                      std::size_t want, error_code& ec)
{
    body_decoder d(codings, bounds);
    std::string out;
    std::vector<char> buffer(want);
    for (;;) {
        const std::size_t n = d.decode(buffer, ec);
        if (ec)
            return out;
        out.append(buffer.data(), n);
        require(out.size() <= bounds.max_decoded);
        if (n > 0)
            continue;
        if (!d.needs_input()) {
            ec = decompress_error::decoding_failed; // as decoding_channel treats a stuck decoder
            return out;
        }
        if (body.empty()) {
            ec = d.finish();
            return out;
        }
        const std::size_t take = std::min(piece, body.size());
        d.feed(body.substr(0, take));
        body.remove_prefix(take);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 2)
        return 0;
    static const char* const names[] = {"gzip", "deflate", "br", "zstd"};
    std::vector<std::string> codings{names[data[0] & 3]};
    if (data[0] & 4)
        codings.push_back(names[(data[0] >> 3) & 3]);
    const std::size_t piece = 1 + data[1] % 16 * 61;
    const std::size_t want = 1 + data[1] / 16 * 97;
    const std::string_view body(reinterpret_cast<const char*>(data) + 2, size - 2);

    error_code whole_error;
    const std::string whole = body_decoder(codings, bounds).decode_all(body, whole_error);
    require(whole.size() <= bounds.max_decoded);
    error_code pieces_error;
    const std::string pieces = in_pieces(codings, body, piece, want, pieces_error);
    // The bounds are checked at points that depend on the reads' sizes; decoding itself does not.
    if (whole_error != error::body_too_large && pieces_error != error::body_too_large) {
        require(whole_error == pieces_error);
        if (!whole_error)
            require(whole == pieces);
    }
    return 0;
}
