// The checks of a sample program: a failed expectation prints one line, and the program's exit
// status says whether any failed, so a sample that stops behaving as its page says fails the tests.
#pragma once

#include <cstdio>

namespace doc_sample {

inline int failures = 0;

// Prints "FAILED: what" unless `ok`.
inline void expect(bool ok, const char* what)
{
    if (!ok) {
        std::printf("FAILED: %s\n", what);
        ++failures;
    }
}

// Prints the verdict about `page` and returns the exit status.
inline int verdict(const char* page)
{
    if (failures)
        std::printf("some samples did not behave as %s says\n", page);
    else
        std::printf("ok\n");
    return failures ? 1 : 0;
}

} // namespace doc_sample
