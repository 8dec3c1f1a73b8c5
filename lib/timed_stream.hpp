// A stream socket whose operations are bounded by a deadline the transport's watchdog enforces: what
// Beast's tcp_stream offers (expires_at, expires_after, expires_never; an operation cut short by its
// deadline fails with beast::error::timeout), without a timer per operation. The socket is Asio's
// generic stream socket, so one type carries TCP, a Unix-domain socket, or the TCP socket of a
// tunnel through a proxy: whatever the connect step makes, HTTP and TLS run over it the same way.
#pragma once

#include "time.hpp"
#include "watchdog.hpp"

#include <roundtrip/detail/config.hpp>

#include <boost/asio/associator.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>

#include <cstddef>
#include <memory>
#include <utility>

namespace roundtrip::detail {

class timed_stream;

// Completes an operation of a timed_stream: an abort caused by the deadline reads as a timeout.
// `Sized`: the operation completes with (error_code, bytes), not with (error_code) as a connect does.
template <class Handler, bool Sized>
struct timed_completion {
    Handler handler;
    const timed_stream* stream;

    void operator()(error_code ec, std::size_t n = 0);
};

class timed_stream : private deadline_entry {
public:
    using socket_type = asio::generic::stream_protocol::socket;
    using executor_type = socket_type::executor_type;
    using lowest_layer_type = socket_type; // as Beast's tcp_stream: what asio::ssl::stream asks for

    timed_stream(executor ex, std::shared_ptr<watchdog> dog) : socket_(std::move(ex)), watchdog_(std::move(dog)) {}
    ~timed_stream() { watchdog::disarm(*this); } // while the watchdog surely lives
    timed_stream(const timed_stream&) = delete;
    timed_stream& operator=(const timed_stream&) = delete;

    socket_type& socket() noexcept { return socket_; }
    lowest_layer_type& lowest_layer() noexcept { return socket_; }
    executor_type get_executor() noexcept { return socket_.get_executor(); }

    // Operations started from now until the deadline `at` fail with beast::error::timeout once it
    // passes; time_point::max() means no deadline. Only on the strand.
    void expires_at(clock::time_point at)
    {
        timed_out_ = false;
        if (at == clock::time_point::max())
            return watchdog::disarm(*this);
        watchdog_->arm(*this, at);
    }
    void expires_after(clock::duration d) { expires_at(saturating_add(clock::now(), d)); }
    void expires_never() noexcept
    {
        timed_out_ = false;
        watchdog::disarm(*this);
    }

    // Ends every pending operation with operation_aborted.
    void cancel()
    {
        error_code ignored;
        socket_.cancel(ignored);
    }

    bool timed_out() const noexcept { return timed_out_; }

    template <class Token>
    auto async_connect(const socket_type::endpoint_type& to, Token&& token)
    {
        return timed<void(error_code), false>(token, [to](socket_type& s, auto h) { s.async_connect(to, std::move(h)); });
    }

    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token)
    {
        return timed<void(error_code, std::size_t), true>(
            token, [buffers](socket_type& s, auto h) { s.async_read_some(buffers, std::move(h)); });
    }

    template <class ConstBuffers, class Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token)
    {
        return timed<void(error_code, std::size_t), true>(
            token, [buffers](socket_type& s, auto h) { s.async_write_some(buffers, std::move(h)); });
    }

private:
    // The deadline passed: what is pending ends now, and what starts later fails at once, until the
    // next expires_at.
    void expired() noexcept override
    {
        timed_out_ = true;
        cancel();
    }

    // Starts `start(socket, handler)` under the deadline: a deadline that passed fails it at once,
    // and its completion reads an abort the deadline caused as a timeout. `Sized`: it completes with
    // (error_code, bytes).
    template <class Signature, bool Sized, class Token, class Start>
    auto timed(Token& token, Start start)
    {
        return asio::async_initiate<Token, Signature>(
            [this, start](auto handler) {
                using completion = timed_completion<decltype(handler), Sized>;
                if (timed_out_)
                    return fail(completion{std::move(handler), this});
                start(socket_, completion{std::move(handler), this});
            },
            token);
    }

    // An operation started after its deadline passed: it completes with the timeout, never inline,
    // on the handler's own executor.
    template <class Handler>
    void fail(Handler h)
    {
        asio::post(socket_.get_executor(),
                   boost::beast::bind_front_handler(std::move(h), error_code(boost::beast::error::timeout)));
    }

    socket_type socket_;
    std::shared_ptr<watchdog> watchdog_;
    bool timed_out_ = false;
};

template <class Handler, bool Sized>
void timed_completion<Handler, Sized>::operator()(error_code ec, std::size_t n)
{
    if (ec == asio::error::operation_aborted && stream->timed_out())
        ec = boost::beast::error::timeout;
    if constexpr (Sized)
        std::move(handler)(ec, n);
    else
        std::move(handler)(ec);
}

} // namespace roundtrip::detail

// A timed_completion has its handler's executor, allocator and cancellation slot.
template <template <class, class> class Associator, class Handler, bool Sized, class DefaultCandidate>
struct boost::asio::associator<Associator, roundtrip::detail::timed_completion<Handler, Sized>, DefaultCandidate>
    : Associator<Handler, DefaultCandidate> {
    static typename Associator<Handler, DefaultCandidate>::type
    get(const roundtrip::detail::timed_completion<Handler, Sized>& h) noexcept
    {
        return Associator<Handler, DefaultCandidate>::get(h.handler);
    }
    static auto get(const roundtrip::detail::timed_completion<Handler, Sized>& h, const DefaultCandidate& c) noexcept
        -> decltype(Associator<Handler, DefaultCandidate>::get(h.handler, c))
    {
        return Associator<Handler, DefaultCandidate>::get(h.handler, c);
    }
};
