// --timeline: a waterfall of one request's phases for people, like httpstat, in 80 columns.
#pragma once

#include "call_stats.hpp"

#include <string>

namespace roundtrip::cli {

// Returns the waterfall; `colour` adds ANSI colours (only for a terminal).
// The call ran from `start` to `end`; its final attempt's phases are in `s`; the response came from
// `came_from` (redacted), which a line names when there were redirects.
std::string timeline(std::string_view title, const call_stats& s, clock::time_point start, clock::time_point end,
                     std::string_view came_from, bool colour);

} // namespace roundtrip::cli
