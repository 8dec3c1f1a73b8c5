// Runs a phase of a blocking client: one thread per worker, each taking the next request index until
// none is left. For the clients whose API blocks (libcurl's easy interface, cpp-httplib).
#pragma once

#include "../load.hpp"

#include <atomic>
#include <thread>
#include <vector>

namespace bench {

// `send(worker, index)` sends one request on the worker's own client and returns whether it got a
// response of status 200. Returns when every request of the phase has completed.
template <class Send>
void run_threaded_phase(phase_record& p, std::uint64_t concurrency, Send& send)
{
    std::atomic<std::uint64_t> next{0};
    std::atomic<std::uint64_t> errors{0};
    const std::uint64_t workers = std::min(concurrency, p.count);
    p.start();
    {
        std::vector<std::jthread> threads;
        for (std::uint64_t w = 0; w < workers; ++w)
            threads.emplace_back([&, w] {
                for (std::uint64_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < p.count;) {
                    const auto sent = bench_clock::now();
                    if (!send(w, i))
                        errors.fetch_add(1, std::memory_order_relaxed);
                    p.latencies[i] = bench_clock::now() - sent;
                }
            });
    } // joins
    p.finish();
    p.errors = errors.load();
}

} // namespace bench
