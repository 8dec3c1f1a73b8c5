// The bench's count of heap allocations: every global operator new and aligned_alloc of the process,
// counted by the replacements in counting_new.cpp.
#pragma once

#include <cstdint>

namespace bench {

/// Returns how many times any global `operator new` (plain, array, nothrow or aligned) or
/// `aligned_alloc` has returned memory since the process started, in this process's code and in
/// every shared library it loads. `malloc` called directly (by libc or OpenSSL) is not counted.
std::uint64_t allocation_count() noexcept;

/// The same count, of the calling thread's allocations only.
std::uint64_t thread_allocation_count() noexcept;

} // namespace bench
