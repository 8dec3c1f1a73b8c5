// A local OTLP/HTTP receiver for the exporters' tests (tracing's and metrics'): the loopback test
// server, keeping every request it is sent and answering as told. Test support, not installed.
#pragma once

#include <roundtrip/testing/test_server.hpp>

#include <boost/json/parse.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace roundtrip::testing {

// An OTLP/HTTP receiver on 127.0.0.1: keeps every request and answers as told.
class otlp_receiver {
public:
    enum class answer { accept, fail, never };

    explicit otlp_receiver(answer a = answer::accept)
        : answer_(a), server_([this](const testing::server_request& r, testing::exchange& ex) { on_request(r, ex); })
    {
    }

    std::string endpoint(std::string_view path) const { return server_.url(path); }

    // Waits until `n` requests have arrived, at most 5 s; returns whether they did.
    bool wait_for(std::size_t n)
    {
        std::unique_lock lock(mutex_);
        return arrived_.wait_for(lock, std::chrono::seconds(5), [&] { return requests_.size() >= n; });
    }

    std::vector<testing::server_request> requests() const
    {
        std::lock_guard lock(mutex_);
        return requests_;
    }

    // The body of request `i`, parsed (Boost.JSON rejects invalid UTF-8 and malformed JSON).
    boost::json::object body(std::size_t i) const { return boost::json::parse(requests().at(i).body).as_object(); }

private:
    void on_request(const testing::server_request& r, testing::exchange& ex)
    {
        {
            std::lock_guard lock(mutex_);
            requests_.push_back(r);
        }
        arrived_.notify_all();
        switch (answer_) {
        case answer::accept: return ex.reply(200, "{}", {{"Content-Type", "application/json"}});
        case answer::fail: return ex.reply(500, "{\"message\":\"unavailable\"}", {{"Content-Type", "application/json"}});
        case answer::never: return ex.stall(); // until the server stops
        }
    }

    const answer answer_;
    mutable std::mutex mutex_;
    std::condition_variable arrived_;
    std::vector<testing::server_request> requests_; // guarded by mutex_
    testing::test_server server_;                   // last: its handler threads use the members above
};

} // namespace roundtrip::testing
