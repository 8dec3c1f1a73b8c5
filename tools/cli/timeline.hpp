// --timeline: a waterfall of one request's phases for people, like httpstat, in 80 columns.
#pragma once

#include "call_stats.hpp"

#include <string>

namespace roundtrip::cli {

// Returns the waterfall; `colour` adds ANSI colours (only for a terminal).
std::string timeline(std::string_view title, const call_stats& s, clock::duration ttfb, clock::duration total,
                     bool colour);

} // namespace roundtrip::cli
