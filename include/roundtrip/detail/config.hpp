// Namespace aliases shared by roundtrip's headers. Not API beyond the aliases themselves.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>

namespace roundtrip {

namespace asio = boost::asio;

/// The error type of every roundtrip operation.
using error_code = boost::system::error_code;

/// The clock of deadlines, timeouts and event times.
using clock = std::chrono::steady_clock;

/// The executor type roundtrip objects are built with.
using executor = asio::any_io_executor;

} // namespace roundtrip
