// gzip and deflate through zlib. "deflate" is meant to be the zlib format (RFC 1950), but servers
// have long sent raw deflate (RFC 1951) under that name; as browsers and curl do, a body whose first
// bytes are not a zlib header is read as raw deflate. A gzip body may hold several members, read
// one after another (as `gzip -d` and Go do).
#include "decoder.hpp"

#include <zlib.h>

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
        if (ended_) {
            if (in.empty())
                return {};
            if (!gzip_) // bytes past the end of a zlib or deflate stream
                return {.failed = true};
            inflateReset(&z_); // the next gzip member
            ended_ = false;
        }
        z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
        z_.avail_in = static_cast<uInt>(in.size());
        z_.next_out = reinterpret_cast<Bytef*>(out.data());
        z_.avail_out = static_cast<uInt>(out.size());
        const int rc = inflate(&z_, Z_NO_FLUSH);
        decode_step step{in.size() - z_.avail_in, out.size() - z_.avail_out, false};
        if (rc == Z_DATA_ERROR && !gzip_ && !seen_input_ && !raw_) {
            // Not a zlib header: try raw deflate from the first byte.
            raw_ = true;
            if (inflateReset2(&z_, -MAX_WBITS) != Z_OK)
                return {.failed = true};
            return decode(in, out);
        }
        seen_input_ = seen_input_ || step.consumed > 0;
        if (rc == Z_STREAM_END)
            ended_ = true;
        else if (rc != Z_OK && rc != Z_BUF_ERROR) // Z_BUF_ERROR: no progress was possible, not a fault
            step.failed = true;
        return step;
    }

    bool complete() const noexcept override { return ended_; }

private:
    z_stream z_{};
    const bool gzip_;
    bool raw_ = false;
    bool seen_input_ = false;
    bool ended_ = false;
};

} // namespace

std::unique_ptr<decoder> make_zlib_decoder(bool gzip)
{
    return std::make_unique<zlib_decoder>(gzip);
}

} // namespace roundtrip::decompress_detail
