// The caller's handle on a streamed response body; the work is the channel's (streamed_body.cpp).
#include "completion.hpp"

#include <roundtrip/body_reader.hpp>

#include <boost/asio/error.hpp>

namespace roundtrip {

void body_reader::start_read(asio::mutable_buffer into, detail::body_channel::read_handler handler)
{
    if (!channel_) // a buffered response's stream, or one already closed: at its end
        return detail::post_completion(std::move(handler), error_code(asio::error::eof), std::size_t{0});
    channel_->read_some(into, std::move(handler));
}

} // namespace roundtrip
