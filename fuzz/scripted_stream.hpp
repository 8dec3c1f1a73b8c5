// A stream for fuzzing the exchange without sockets: reads deliver a script of server bytes in
// pieces of a chosen size, then end of file; writes accept everything. It offers what the exchange
// asks of Beast's tcp_stream (it is its own lowest layer and socket), all of it without effect.
#pragma once

#include <roundtrip/detail/config.hpp>

#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <string_view>

namespace roundtrip::fuzz {

class scripted_stream {
public:
    using executor_type = executor;

    scripted_stream(executor ex, std::string_view script, std::size_t piece)
        : ex_(std::move(ex)), script_(script), piece_(std::max<std::size_t>(piece, 1))
    {
    }

    executor_type get_executor() const noexcept { return ex_; }

    // What the exchange sets on the lowest layer; time plays no part here.
    void expires_at(clock::time_point) noexcept {}
    void expires_after(clock::duration) noexcept {}
    void expires_never() noexcept {}
    scripted_stream& socket() noexcept { return *this; }
    void cancel() noexcept {}

    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token)
    {
        std::size_t n = 0;
        error_code ec;
        if (script_.empty()) {
            ec = asio::error::eof;
        } else {
            const std::size_t want = std::min({piece_, script_.size(), asio::buffer_size(buffers)});
            n = asio::buffer_copy(buffers, asio::buffer(script_.data(), want));
            script_.remove_prefix(n);
        }
        return complete(std::forward<Token>(token), ec, n);
    }

    template <class ConstBuffers, class Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token)
    {
        return complete(std::forward<Token>(token), error_code{}, asio::buffer_size(buffers));
    }

private:
    template <class Token>
    auto complete(Token&& token, error_code ec, std::size_t n)
    {
        return asio::async_initiate<Token, void(error_code, std::size_t)>(
            [this](auto handler, error_code e, std::size_t got) {
                asio::post(ex_, [h = std::move(handler), e, got]() mutable { std::move(h)(e, got); });
            },
            token, ec, n);
    }

    executor ex_;
    std::string_view script_;
    std::size_t piece_;
};

} // namespace roundtrip::fuzz
