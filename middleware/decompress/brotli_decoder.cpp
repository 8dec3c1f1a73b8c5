// br (RFC 7932) through libbrotli's decoder, whose window is bounded by the format (16 MiB; the
// large-window extension stays off).
#include "decoder.hpp"

#include <brotli/decode.h>

#include <cstdint>
#include <new>

namespace roundtrip::decompress_detail {
namespace {

class brotli_decoder final : public decoder {
public:
    brotli_decoder() : state_(BrotliDecoderCreateInstance(nullptr, nullptr, nullptr))
    {
        if (!state_)
            throw std::bad_alloc();
    }
    ~brotli_decoder() override { BrotliDecoderDestroyInstance(state_); }

    decode_step decode(std::span<const char> in, std::span<char> out) override
    {
        if (ended_)
            return {.failed = !in.empty()}; // bytes past the end of the stream
        std::size_t in_left = in.size(), out_left = out.size();
        auto next_in = reinterpret_cast<const std::uint8_t*>(in.data());
        auto next_out = reinterpret_cast<std::uint8_t*>(out.data());
        const auto rc = BrotliDecoderDecompressStream(state_, &in_left, &next_in, &out_left, &next_out, nullptr);
        decode_step step{in.size() - in_left, out.size() - out_left, rc == BROTLI_DECODER_RESULT_ERROR};
        ended_ = rc == BROTLI_DECODER_RESULT_SUCCESS;
        if (ended_ && in_left > 0)
            step.failed = true;
        return step;
    }

    bool complete() const noexcept override { return ended_; }

private:
    BrotliDecoderState* state_;
    bool ended_ = false;
};

} // namespace

std::unique_ptr<decoder> make_brotli_decoder()
{
    return std::make_unique<brotli_decoder>();
}

} // namespace roundtrip::decompress_detail
