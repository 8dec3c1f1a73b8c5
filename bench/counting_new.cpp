// Replaces every global operator new and delete with versions over malloc and free that count
// allocations, and interposes aligned_alloc to count it too. Linking this file into a program
// replaces them for the whole process: the ELF dynamic linker binds the shared libraries'
// (libroundtrip's, libstdc++'s) references to these names to the executable's definitions.
#include "counting_new.hpp"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cerrno>
#include <cstdlib>
#include <new>

namespace {

// Relaxed: the count orders nothing else. A read between phases may miss an increment another
// thread (the resolver's) makes at that moment: one allocation of noise in a whole phase.
std::atomic<std::uint64_t> allocations{0};
thread_local std::uint64_t thread_allocations = 0;

// Loops on the new-handler as [new.delete.single] requires of a replaceable operator new. Plain
// requests go to malloc; over-aligned ones to posix_memalign, which wants at least pointer alignment
// (aligned_alloc would also want the size to be a multiple of the alignment, which callers do not
// promise).
void* allocate(std::size_t size, std::size_t align = alignof(std::max_align_t))
{
    if (size == 0)
        size = 1;
    for (;;) {
        void* p = nullptr;
        if (align <= alignof(std::max_align_t) ? (p = std::malloc(size)) != nullptr
                                                : posix_memalign(&p, std::max(align, sizeof(void*)), size) == 0) {
            allocations.fetch_add(1, std::memory_order_relaxed);
            ++thread_allocations;
            return p;
        }
        std::new_handler handler = std::get_new_handler();
        if (!handler)
            throw std::bad_alloc();
        handler();
    }
}

void* allocate_aligned(std::size_t size, std::align_val_t alignment)
{
    return allocate(size, static_cast<std::size_t>(alignment));
}

template <class F>
void* or_null(F&& f) noexcept
{
    try {
        return f();
    } catch (...) {
        return nullptr;
    }
}

} // namespace

namespace bench {

std::uint64_t allocation_count() noexcept { return allocations.load(std::memory_order_relaxed); }

std::uint64_t thread_allocation_count() noexcept { return thread_allocations; }

} // namespace bench

void* operator new(std::size_t size) { return allocate(size); }
void* operator new[](std::size_t size) { return allocate(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept
{
    return or_null([&] { return allocate(size); });
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept
{
    return or_null([&] { return allocate(size); });
}
void* operator new(std::size_t size, std::align_val_t a) { return allocate_aligned(size, a); }
void* operator new[](std::size_t size, std::align_val_t a) { return allocate_aligned(size, a); }
void* operator new(std::size_t size, std::align_val_t a, const std::nothrow_t&) noexcept
{
    return or_null([&] { return allocate_aligned(size, a); });
}
void* operator new[](std::size_t size, std::align_val_t a, const std::nothrow_t&) noexcept
{
    return or_null([&] { return allocate_aligned(size, a); });
}

// Asio takes the memory it recycles for handlers and coroutine frames from std::aligned_alloc, not
// operator new (aligned_new in boost/asio/detail/memory.hpp): about a fifth of a request's
// allocations, which counting operator new alone would miss. posix_memalign underneath, since it
// is a different symbol and so cannot call back into this one.
extern "C" void* aligned_alloc(std::size_t alignment, std::size_t size) noexcept
{
    void* p = nullptr;
    const int rc = posix_memalign(&p, alignment < sizeof(void*) ? sizeof(void*) : alignment, size);
    if (rc != 0) {
        errno = rc;
        return nullptr;
    }
    allocations.fetch_add(1, std::memory_order_relaxed);
    ++thread_allocations;
    return p;
}

// Memory from malloc, posix_memalign and aligned_alloc alike goes back through free.
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
