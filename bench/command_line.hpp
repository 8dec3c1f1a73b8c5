// What the bench programs share about their command lines: a mistake is one line on stderr and exit
// status 2; a failure while running is one line and status 1.
#pragma once

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>

namespace bench {

// A mistake on the command line, said in one line.
struct usage_error {
    std::string message;
};

// Walks a command line: each flag in turn, and the value after a flag that takes one.
class arguments {
public:
    arguments(int argc, char** argv) : argc_(argc), argv_(argv) {}

    // Moves to the next flag; false after the last.
    bool next() noexcept { return ++i_ < argc_; }
    std::string_view flag() const noexcept { return argv_[i_]; }
    // Takes the word after the current flag as its value.
    std::string_view value()
    {
        if (i_ + 1 >= argc_)
            throw usage_error{std::string(flag()) + " needs a value"};
        return argv_[++i_];
    }

private:
    int argc_;
    char** argv_;
    int i_ = 0;
};

// Reads the value of `flag`: a whole number from `min` to `max`.
inline std::uint64_t parse_number(std::string_view flag, std::string_view text, std::uint64_t min, std::uint64_t max)
{
    std::uint64_t v = 0;
    const char* end = text.data() + text.size();
    auto [stop, ec] = std::from_chars(text.data(), end, v);
    if (ec != std::errc{} || stop != end || v < min || v > max)
        throw usage_error{std::string(flag) + " takes a whole number from " + std::to_string(min) + " to " +
                          std::to_string(max) + ", not '" + std::string(text) + "'"};
    return v;
}

// Runs `run(parse())` as a program's main: a usage_error from `parse` exits 2, an exception from
// `run` exits 1, each after one line on stderr that starts with the program's name.
template <class Parse, class Run>
int run_program(const char* program, Parse parse, Run run)
{
    decltype(parse()) settings;
    try {
        settings = parse();
    } catch (const usage_error& e) {
        std::fprintf(stderr, "%s: %s\n", program, e.message.c_str());
        return 2;
    }
    try {
        return run(settings);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: %s\n", program, e.what());
        return 1;
    }
}

} // namespace bench
