// The command line of `roundtrip`: what each flag means, parsed into one struct.
#pragma once

#include <roundtrip/detail/config.hpp>
#include <roundtrip/proxy.hpp>

#include <boost/asio/ip/address.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace roundtrip::cli {

// --resolve HOST:PORT:ADDR[,ADDR]...: a name pinned to addresses, as curl's.
struct pinned {
    std::string host;
    std::uint16_t port = 0;
    std::vector<asio::ip::address> addresses;
};

struct options {
    std::string url;
    bool url_given = false; // an empty URL argument is invalid input, no URL at all a usage error
    std::optional<std::string> method;                       // -X; else GET, or POST with -d
    std::vector<std::pair<std::string, std::string>> headers; // -H, in order
    std::string header_problem; // why an -H argument is not 'Name: value'; empty when none is wrong
    std::optional<std::string> body;                          // -d BODY; "@file" is read later
    unsigned requests = 1;                                    // -n
    unsigned concurrency = 1;                                 // -c
    unsigned retries = 0;                                     // --retry
    bool follow = false;                                      // -L, --location
    int max_redirects = 10;                                   // --max-redirs (-1: no limit)
    bool compressed = false;                                  // --compressed
    std::optional<std::string> cookie;     // -b, --cookie: a Netscape cookie file, or NAME=VALUE data
    std::optional<std::string> cookie_jar; // --cookie-jar FILE: where the jar is written after the run
    clock::duration timeout{};                                // --timeout (whole call)
    std::optional<clock::duration> connect_timeout;
    std::optional<std::size_t> max_conns_per_host;
    std::optional<clock::duration> idle_timeout;
    clock::duration sleep_between{};
    bool insecure = false;
    std::optional<std::string> cacert;
    std::vector<pinned> resolve; // --resolve, in order; a later one for the same host and port wins
    std::optional<std::string> unix_socket; // --unix-socket PATH
    std::optional<roundtrip::proxy> proxy;  // -x, --proxy URL, with --proxy-user's credentials
    std::optional<std::string> noproxy;     // --noproxy LIST
    std::optional<std::size_t> max_body;
    std::optional<std::size_t> max_header;
    std::optional<std::string> output_file; // -o
    bool include_headers = false;           // -i
    bool silent = false;                    // -s
    bool verbose = false;                   // -v
    bool json = false;
    bool trace = false;
    bool timeline = false;
    bool metrics = false;
    bool demo = false;
    bool help = false;
};

// A mistake on the command line: exit status 2 with a hint.
struct usage_error {
    std::string message;
};

// Parses argv; throws usage_error.
options parse(int argc, char** argv);

// The --help text.
extern const char* const help_text;

} // namespace roundtrip::cli
