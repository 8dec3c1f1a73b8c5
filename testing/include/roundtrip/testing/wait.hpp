// Waits, bounded, for something another thread does: a test never waits without a limit.
#pragma once

#include <chrono>
#include <thread>

namespace roundtrip::testing {

// Polls `done` every few milliseconds for up to `limit`; returns its last value.
template <class Done>
bool eventually(Done done, std::chrono::milliseconds limit = std::chrono::seconds(5))
{
    const auto give_up = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= give_up)
            return done();
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
}

} // namespace roundtrip::testing
