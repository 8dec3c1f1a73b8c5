// The pipe between a caller writing a request body and the transport reading it: a waiting write
// and a waiting read meet here, and bytes go straight from the writer's buffer to the reader's.
#include "completion.hpp"

#include <roundtrip/body_pipe.hpp>

#include <algorithm>
#include <cstring>

namespace roundtrip {

void body_pipe::start_write(asio::const_buffer bytes, write_handler handler)
{
    std::unique_lock lock(mutex_);
    if (finished_ || end_ || writer_) {
        // The call no longer reads, the body was closed, or a write is already waiting (misuse).
        const error_code why = finished_ && *finished_ ? *finished_
                               : writer_               ? error_code(asio::error::in_progress)
                                                       : error_code(asio::error::broken_pipe);
        lock.unlock();
        return detail::post_completion(std::move(handler), why, std::size_t{0});
    }
    if (bytes.size() == 0) {
        lock.unlock();
        return detail::post_completion(std::move(handler), error_code{}, std::size_t{0});
    }
    writer_.emplace(std::move(handler));
    writing_ = bytes;
    written_ = 0;
    match(lock);
}

void body_pipe::close(error_code why)
{
    std::unique_lock lock(mutex_);
    if (end_ || finished_)
        return;
    end_ = why ? why : error_code(asio::error::eof);
    match(lock);
}

void body_pipe::async_read_some(asio::mutable_buffer into, read_handler handler)
{
    std::unique_lock lock(mutex_);
    if (finished_) {
        const error_code why = *finished_ ? *finished_ : error_code(asio::error::eof);
        lock.unlock();
        return detail::post_completion(std::move(handler), why, std::size_t{0});
    }
    reader_.emplace(std::move(handler));
    reading_ = into;
    match(lock);
}

void body_pipe::finish(error_code why) noexcept
{
    std::unique_lock lock(mutex_);
    if (finished_)
        return;
    finished_ = why;
    match(lock);
}

void body_pipe::match(std::unique_lock<std::mutex>& lock)
{
    // Completions are posted after the lock is released: a handler may write again at once.
    std::optional<read_handler> read_done;
    std::optional<write_handler> write_done;
    error_code read_ec, write_ec;
    std::size_t read_n = 0;
    if (finished_) {
        // The call no longer reads: release both sides.
        read_ec = write_ec = *finished_ ? *finished_ : error_code(asio::error::broken_pipe);
        if (reader_)
            read_done.emplace(std::move(*reader_));
        if (writer_)
            write_done.emplace(std::move(*writer_));
    } else if (reader_ && writer_) {
        read_n = std::min(reading_.size(), writing_.size());
        std::memcpy(reading_.data(), writing_.data(), read_n);
        writing_ += read_n;
        written_ += read_n;
        read_done.emplace(std::move(*reader_));
        if (writing_.size() == 0)
            write_done.emplace(std::move(*writer_));
    } else if (reader_ && end_) {
        read_ec = *end_;
        read_done.emplace(std::move(*reader_));
    }
    if (read_done)
        reader_.reset();
    if (write_done)
        writer_.reset();
    const std::size_t write_n = written_;
    lock.unlock();
    if (read_done)
        detail::post_completion(std::move(*read_done), read_ec, read_n);
    if (write_done)
        detail::post_completion(std::move(*write_done), write_ec, write_n);
}

} // namespace roundtrip
