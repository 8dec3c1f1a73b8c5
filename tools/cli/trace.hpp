// --trace: each lifecycle event, roundtrip's or a middleware's, as one JSON object on a line with its
// fields (write_fields).
#pragma once

#include <roundtrip/events.hpp>

#include <cstdio>
#include <string>

namespace roundtrip::cli {

// Returns `s` as a JSON string literal.
std::string json_string(std::string_view s);

// Writes every event it receives to `out` as a JSON line; `t_us` counts from `epoch`.
class trace_writer : public observer {
public:
    trace_writer(std::FILE* out, clock::time_point epoch) : out_(out), epoch_(epoch) {}
    void on_event(const event& e) noexcept override;

private:
    std::FILE* out_;
    clock::time_point epoch_;
};

} // namespace roundtrip::cli
