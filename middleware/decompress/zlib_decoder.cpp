// gzip and deflate through zlib. "deflate" is meant to be the zlib format (RFC 1950), but servers
// have long sent raw deflate (RFC 1951) under that name; as browsers do, a body whose first two
// bytes are not a zlib header is read as raw deflate. A gzip body may hold several members, read
// one after another (as `gzip -d` and Go do).
#include "decoder.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <climits>
#include <new>

namespace roundtrip::decompress_detail {
namespace {

class zlib_decoder final : public decoder {
public:
    explicit zlib_decoder(bool gzip) : gzip_(gzip)
    {
        if (inflateInit2(&z_, gzip ? 16 + MAX_WBITS : MAX_WBITS) != Z_OK)
            throw std::bad_alloc();
    }
    ~zlib_decoder() override { inflateEnd(&z_); }

    decode_step decode(std::span<const char> in, std::span<char> out) override
    {
        if (!gzip_ && head_size_ < 2) // deflate: which of the two it is shows in the first two bytes
            return decide(in, out);
        if (head_at_ < head_size_) { // the first bytes, held while deciding, go in first
            const decode_step step = inflate_some(std::span<const char>(head_).subspan(head_at_, head_size_ - head_at_), out);
            head_at_ += step.consumed;
            return {0, step.produced, step.failed};
        }
        if (ended_) {
            if (in.empty())
                return {};
            if (!gzip_) // bytes past the end of a zlib or deflate stream
                return {.failed = true};
            inflateReset(&z_); // the next gzip member
            ended_ = false;
        }
        return inflate_some(in, out);
    }

    bool complete() const noexcept override { return ended_ && head_at_ == head_size_; }

private:
    decode_step decide(std::span<const char> in, std::span<char> out)
    {
        std::size_t took = 0;
        while (head_size_ < 2 && took < in.size())
            head_[head_size_++] = in[took++];
        if (head_size_ < 2)
            return {took, 0, false};
        // A zlib header (RFC 1950): compression method 8, a window of at most 32 KiB, and the two
        // bytes a multiple of 31.
        const unsigned cmf = static_cast<unsigned char>(head_[0]), flg = static_cast<unsigned char>(head_[1]);
        const bool zlib_header = (cmf & 0x0F) == 8 && (cmf >> 4) <= 7 && (cmf * 256 + flg) % 31 == 0;
        if (!zlib_header && inflateReset2(&z_, -MAX_WBITS) != Z_OK)
            return {.failed = true};
        const decode_step step = decode({}, out);
        return {took, step.produced, step.failed};
    }

    decode_step inflate_some(std::span<const char> in, std::span<char> out)
    {
        // zlib counts in uInt: a larger span is taken in parts, and the callers loop.
        const uInt in_size = static_cast<uInt>(std::min<std::size_t>(in.size(), UINT_MAX));
        const uInt out_size = static_cast<uInt>(std::min<std::size_t>(out.size(), UINT_MAX));
        z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
        z_.avail_in = in_size;
        z_.next_out = reinterpret_cast<Bytef*>(out.data());
        z_.avail_out = out_size;
        const int rc = inflate(&z_, Z_NO_FLUSH);
        decode_step step{in_size - z_.avail_in, out_size - z_.avail_out, false};
        if (rc == Z_STREAM_END)
            ended_ = true;
        else if (rc != Z_OK && rc != Z_BUF_ERROR) // Z_BUF_ERROR: no progress was possible, not a fault
            step.failed = true;
        return step;
    }

    z_stream z_{};
    const bool gzip_;
    std::array<char, 2> head_{}; // deflate's first two bytes
    std::size_t head_size_ = 0, head_at_ = 0;
    bool ended_ = false;
};

} // namespace

std::unique_ptr<decoder> make_zlib_decoder(bool gzip)
{
    return std::make_unique<zlib_decoder>(gzip);
}

} // namespace roundtrip::decompress_detail
