// What a harness asserts: a promise the code under test broke aborts, so libFuzzer keeps the input
// (BOOST_ASSERT and assert are off in these builds).
#pragma once

#include <cstdlib>

namespace roundtrip::fuzz {

inline void require(bool holds)
{
    if (!holds)
        std::abort();
}

} // namespace roundtrip::fuzz
