// A real server program (Debian's tinyproxy, microsocks) run in the foreground on a free loopback
// port for the cross-checks, and ended by its PID.
#pragma once

#include <roundtrip/testing/wait.hpp>

#include <doctest/doctest.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

extern char** environ;

namespace roundtrip::testing {

class local_daemon {
public:
    // `command` gives the program and its arguments for the port to listen on (127.0.0.1).
    explicit local_daemon(std::function<std::vector<std::string>(std::uint16_t port)> command)
    {
        const std::string program = command(0).front();
        REQUIRE_MESSAGE(::access(program.c_str(), X_OK) == 0, program << " is not installed: ./dev installs it");
        // The free port is found by binding port 0 and letting it go: another test may take it first,
        // and then the program does not start. A few tries with a new port settle it.
        for (int attempt = 0; attempt < 5; ++attempt)
            if (start(command))
                return;
        FAIL(program << " did not start");
    }
    ~local_daemon() { stop(); }
    local_daemon(const local_daemon&) = delete;
    local_daemon& operator=(const local_daemon&) = delete;

    std::uint16_t port() const { return port_; }

private:
    bool start(const std::function<std::vector<std::string>(std::uint16_t)>& command)
    {
        int s = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t size = sizeof a;
        ::bind(s, reinterpret_cast<sockaddr*>(&a), size);
        ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &size);
        port_ = ntohs(a.sin_port);
        ::close(s);
        const std::vector<std::string> args = command(port_);
        std::vector<char*> argv;
        for (const auto& arg : args)
            argv.push_back(const_cast<char*>(arg.c_str()));
        argv.push_back(nullptr);
        // Its chatter (microsocks logs every client) goes nowhere: the test's output is the test's.
        posix_spawn_file_actions_t quiet;
        posix_spawn_file_actions_init(&quiet);
        posix_spawn_file_actions_addopen(&quiet, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        const int spawned = ::posix_spawn(&pid_, argv[0], &quiet, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&quiet);
        REQUIRE(spawned == 0);
        const bool up = eventually([&] {
            if (::waitpid(pid_, nullptr, WNOHANG) == pid_) { // exited: the port was taken
                pid_ = 0;
                return true;
            }
            int probe = ::socket(AF_INET, SOCK_STREAM, 0);
            const bool listening = ::connect(probe, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
            ::close(probe);
            return listening;
        });
        if (up && pid_ != 0)
            return true;
        stop();
        return false;
    }
    void stop()
    {
        if (pid_ == 0)
            return;
        ::kill(pid_, SIGTERM);
        ::waitpid(pid_, nullptr, 0);
        pid_ = 0;
    }

    pid_t pid_ = 0;
    std::uint16_t port_ = 0;
};

} // namespace roundtrip::testing
