// What one request's attempts did, gathered from their lifecycle events: the figures of --json and
// --timeline. Phases are those of the final attempt, as the CLI contract says.
#pragma once

#include <roundtrip/events.hpp>

namespace roundtrip::cli {

class call_stats : public observer {
public:
    void on_event(const event& e) noexcept override;

    clock::duration dns{}, connect{}, tls{};   // of the final attempt; zero when they did not happen
    clock::time_point first_byte{};            // of the final attempt
    bool reused = false, was_idle = false, got_connection = false;
    clock::duration idle{};
    bool opened_connection = false; // some attempt got a connection that served nothing before

private:
    clock::time_point dns_start_{}, connect_start_{}, tls_start_{};
};

} // namespace roundtrip::cli
