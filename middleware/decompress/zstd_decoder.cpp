// zstd (RFC 8878) through libzstd. The window a frame may ask for is capped at 8 MiB, the bound
// RFC 8878 sets for HTTP, so a hostile frame cannot make the decoder allocate libzstd's default
// 128 MiB. A body may hold several frames, read one after another.
#include "decoder.hpp"

#include <zstd.h>

#include <array>
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
        std::size_t took = 0;
        if (magic_size_ < magic_.size()) { // a frame starts: its magic number first, whole
            while (magic_size_ < magic_.size() && took < in.size())
                magic_[magic_size_++] = in[took++];
            if (magic_size_ < magic_.size())
                return {took, 0, false};
            if (!known_magic())
                return {.failed = true};
            const decode_step step = stream(magic_, out);
            if (step.failed || step.consumed < magic_.size()) // a magic number is always taken whole
                return {.failed = true};
            in = in.subspan(took);
        }
        decode_step step = stream(in, out);
        step.consumed += took;
        return step;
    }

    bool complete() const noexcept override { return frame_done_ && magic_size_ == 0; }

private:
    // The standard frame's magic number, or a skippable frame's (0x184D2A50 to 0x184D2A5F), little
    // endian. libzstd also reads the legacy formats of its 0.x versions, but only when a frame's first
    // four bytes arrive in one piece; they are no part of the HTTP coding (RFC 8878), so none is read.
    bool known_magic() const noexcept
    {
        const auto b = [this](int i) { return static_cast<unsigned char>(magic_[i]); };
        return (b(0) == 0x28 && b(1) == 0xB5 && b(2) == 0x2F && b(3) == 0xFD)
               || ((b(0) & 0xF0) == 0x50 && b(1) == 0x2A && b(2) == 0x4D && b(3) == 0x18);
    }

    decode_step stream(std::span<const char> in, std::span<char> out)
    {
        ZSTD_inBuffer input{in.data(), in.size(), 0};
        ZSTD_outBuffer output{out.data(), out.size(), 0};
        const std::size_t rc = ZSTD_decompressStream(ctx_, &output, &input);
        if (ZSTD_isError(rc))
            return {.failed = true};
        if (input.pos > 0 || output.pos > 0) {
            frame_done_ = rc == 0; // 0: a frame ended and all of it was written
            if (frame_done_)
                magic_size_ = 0; // the next bytes start a frame
        }
        return {input.pos, output.pos, false};
    }

    ZSTD_DCtx* ctx_;
    std::array<char, 4> magic_{};
    std::size_t magic_size_ = 0;
    bool frame_done_ = false;
};

} // namespace

std::unique_ptr<decoder> make_zstd_decoder()
{
    return std::make_unique<zstd_decoder>();
}

} // namespace roundtrip::decompress_detail
