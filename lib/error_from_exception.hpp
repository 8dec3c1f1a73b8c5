// What an exception that escaped a coroutine middleware becomes: errors travel as values between
// layers, so the coroutine's spawner turns it into the result's error.
#pragma once

#include <roundtrip/error.hpp>
#include <roundtrip/result.hpp>

#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>

#include <exception>

namespace roundtrip::detail {

// Returns the error a coroutine middleware's escaped exception becomes.
inline error_code error_from_exception(std::exception_ptr e) noexcept
{
    try {
        std::rethrow_exception(e);
    } catch (const boost::system::system_error& se) {
        return se.code() == boost::asio::error::operation_aborted ? error_code(error::canceled) : se.code();
    } catch (...) {
        return error::middleware_threw;
    }
}

} // namespace roundtrip::detail
