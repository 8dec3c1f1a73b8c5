// The streamed body's decoding. Each read decodes what is already buffered, and reads the encoded
// body (16 KiB at a time) only when that is used up, so memory stays flat whatever the body's size.
// Decoding is plain computation: it runs wherever the read starts or the encoded read completes.
// No executor is kept: the transport's reader may outlive its client and let go of the client's
// strand, and this reader, which may outlive it too, must never touch that strand itself. So a read
// whose handler has no executor completes on the system executor, which get_executor() says.
#include "decoding_channel.hpp"

#include <roundtrip/middleware/decompress_events.hpp>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/system_executor.hpp>

#include <array>
#include <mutex>

namespace roundtrip::decompress_detail {
namespace {

class decoding_channel final : public detail::body_channel, public std::enable_shared_from_this<decoding_channel> {
public:
    decoding_channel(body_reader encoded, std::unique_ptr<body_decoder> decoder)
        : encoded_(std::move(encoded)), decoder_(std::move(decoder))
    {
    }

    void read_some(asio::mutable_buffer into, read_handler handler) override { step(into, std::move(handler)); }

    void release() noexcept override
    {
        std::lock_guard lock(mutex_);
        released_ = true;
        encoded_.close();
    }
    void discard() noexcept override
    {
        std::lock_guard lock(mutex_);
        released_ = true;
        encoded_.discard();
    }

    // Where reads complete when their handler has no executor of its own (a coroutine's has): the
    // system executor, since the client's strand may be gone before this reader is.
    executor get_executor() const noexcept override { return executor(asio::system_executor()); }

private:
    void step(asio::mutable_buffer into, read_handler handler)
    {
        if (failed_)
            return complete(std::move(handler), failed_, 0);
        if (into.size() == 0)
            return complete(std::move(handler), {}, 0);
        error_code ec;
        const std::size_t n = decoder_->decode({static_cast<char*>(into.data()), into.size()}, ec);
        if (ec)
            return fail(std::move(handler), ec);
        if (n > 0)
            return complete(std::move(handler), {}, n);
        if (!decoder_->needs_input()) // input it cannot use, and no output: never the case for a sound body
            return fail(std::move(handler), decompress_error::decoding_failed);
        if (encoded_ended_) {
            if (const error_code bad = decoder_->finish())
                return fail(std::move(handler), bad);
            return complete(std::move(handler), asio::error::eof, 0);
        }
        {
            std::lock_guard lock(mutex_);
            if (!released_) {
                // Its completion never runs inside this call, and runs where the transport's reader
                // completes (its executor, or the system's once the client is gone).
                encoded_.async_read_some(asio::buffer(input_), [self = shared_from_this(), into, h = std::move(handler)](
                                                                   error_code ec, std::size_t n) mutable {
                    self->on_encoded(ec, n, into, std::move(h));
                });
                return;
            }
        }
        complete(std::move(handler), asio::error::operation_aborted, 0);
    }

    void on_encoded(error_code ec, std::size_t n, asio::mutable_buffer into, read_handler handler)
    {
        if (n > 0)
            decoder_->feed({input_.data(), n});
        if (ec == asio::error::eof)
            encoded_ended_ = true;
        else if (ec) // the transport's error (a timeout, an unexpected end) ends the body as it is
            return fail(std::move(handler), ec);
        step(into, std::move(handler));
    }

    void fail(read_handler handler, error_code ec)
    {
        failed_ = ec;
        {
            // What is left of the encoded body is drained, bounded, as for any reader given up: its
            // framing does not depend on the coding, so the connection may still be reused.
            std::lock_guard lock(mutex_);
            encoded_.close();
        }
        complete(std::move(handler), ec, 0);
    }

    // Never inline: the handler goes through the system executor to its own (keeping that busy
    // meanwhile), as an Asio operation completes, whether or not this runs inside read_some.
    static void complete(read_handler handler, error_code ec, std::size_t n)
    {
        auto ex = asio::prefer(asio::get_associated_executor(handler), asio::execution::outstanding_work.tracked);
        asio::post(asio::system_executor(), [ex, h = std::move(handler), ec, n]() mutable {
            ex.execute([h = std::move(h), ec, n]() mutable { std::move(h)(ec, n); });
        });
    }

    std::mutex mutex_; // guards encoded_ and released_: release() may come from any thread
    body_reader encoded_;
    bool released_ = false;
    std::unique_ptr<body_decoder> decoder_; // the rest: one read at a time, so one thread at a time
    std::array<char, 16 * 1024> input_{};
    bool encoded_ended_ = false;
    error_code failed_;
};

} // namespace

body_reader decoding_reader(body_reader encoded, std::unique_ptr<body_decoder> decoder)
{
    return body_reader(std::make_shared<decoding_channel>(std::move(encoded), std::move(decoder)));
}

} // namespace roundtrip::decompress_detail
