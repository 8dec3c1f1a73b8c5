// Reading pool keys in tests: whether some host's key in a pool snapshot contains a piece of text.
#pragma once

#include <roundtrip/transport.hpp>

#include <string_view>

namespace roundtrip::testing {

inline bool has_key_containing(const pool_stats& s, std::string_view part)
{
    for (const auto& h : s.hosts)
        if (h.key.find(part) != std::string::npos)
            return true;
    return false;
}

} // namespace roundtrip::testing
