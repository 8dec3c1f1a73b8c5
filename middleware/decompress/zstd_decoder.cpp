// zstd (RFC 8878) through libzstd. The window a frame may ask for is capped at 8 MiB, the bound
// RFC 8878 sets for HTTP, so a hostile frame cannot make the decoder allocate libzstd's default
// 128 MiB. A body may hold several frames, read one after another.
#include "decoder.hpp"

#include <zstd.h>

#include <new>

namespace roundtrip::decompress_detail {
namespace {

class zstd_decoder final : public decoder {
public:
    zstd_decoder() : ctx_(ZSTD_createDCtx())
    {
        if (!ctx_)
            throw std::bad_alloc();
        ZSTD_DCtx_setParameter(ctx_, ZSTD_d_windowLogMax, 23);
    }
    ~zstd_decoder() override { ZSTD_freeDCtx(ctx_); }

    decode_step decode(std::span<const char> in, std::span<char> out) override
    {
        ZSTD_inBuffer input{in.data(), in.size(), 0};
        ZSTD_outBuffer output{out.data(), out.size(), 0};
        const std::size_t rc = ZSTD_decompressStream(ctx_, &output, &input);
        if (ZSTD_isError(rc))
            return {.failed = true};
        if (input.pos > 0 || output.pos > 0)
            frame_done_ = rc == 0; // 0: a frame ended and all of it was written
        return {input.pos, output.pos, false};
    }

    bool complete() const noexcept override { return frame_done_; }

private:
    ZSTD_DCtx* ctx_;
    bool frame_done_ = false;
};

} // namespace

std::unique_ptr<decoder> make_zstd_decoder()
{
    return std::make_unique<zstd_decoder>();
}

} // namespace roundtrip::decompress_detail
