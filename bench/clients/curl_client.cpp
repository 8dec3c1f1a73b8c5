// curl-client: libcurl's easy interface as its users write a load loop: one easy handle per worker
// thread, reused for every request so that libcurl keeps the connection alive.
//
//   curl-client --url URL --concurrency C --requests N [--new-conn] [--insecure]

#include "threaded_load.hpp"

#include <curl/curl.h>

#include <memory>
#include <stdexcept>

namespace {

constexpr const char* usage_text =
    "usage: curl-client --url URL --concurrency C --requests N [--new-conn] [--insecure]\n"
    "Sends N GET requests with C threads, one libcurl easy handle each, and prints one JSON line.\n";

std::size_t discard(char*, std::size_t size, std::size_t count, void*) { return size * count; }

struct easy_deleter {
    void operator()(CURL* h) const noexcept { curl_easy_cleanup(h); }
};
using easy_handle = std::unique_ptr<CURL, easy_deleter>;

easy_handle make_handle(const bench::load_settings& s)
{
    easy_handle h(curl_easy_init());
    if (!h)
        throw std::runtime_error("curl_easy_init failed");
    curl_easy_setopt(h.get(), CURLOPT_URL, s.url.c_str());
    curl_easy_setopt(h.get(), CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h.get(), CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h.get(), CURLOPT_TCP_NODELAY, 1L);
    if (s.insecure) {
        curl_easy_setopt(h.get(), CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h.get(), CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (s.new_conn) {
        curl_easy_setopt(h.get(), CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(h.get(), CURLOPT_FORBID_REUSE, 1L);
    }
    return h;
}

int run(const bench::load_settings& s)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        throw std::runtime_error("curl_global_init failed");
    std::vector<easy_handle> handles;
    for (std::uint64_t w = 0; w < s.concurrency; ++w)
        handles.push_back(make_handle(s));
    // CURLINFO_NUM_CONNECTS: the connections the handle's last transfer had to open.
    std::uint64_t opened_total = 0;
    auto send = [&](std::uint64_t w, std::uint64_t) {
        CURL* h = handles[w].get();
        long status = 0, connects = 0;
        const bool ok = curl_easy_perform(h) == CURLE_OK &&
                        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status == 200;
        curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);
        std::atomic_ref<std::uint64_t>(opened_total).fetch_add(static_cast<std::uint64_t>(connects),
                                                               std::memory_order_relaxed);
        return ok;
    };
    bench::phase_record warmup(bench::warmup_requests(s.requests));
    bench::run_threaded_phase(warmup, s.concurrency, send);
    const std::uint64_t opened_in_warmup = opened_total;
    bench::phase_record measured(s.requests);
    bench::run_threaded_phase(measured, s.concurrency, send);

    bench::figures f = bench::summarize(measured);
    f.conns_opened = opened_total - opened_in_warmup;
    f.conns_opened_warmup = opened_in_warmup;
    bench::print_figures("curl", f);
    handles.clear();
    curl_global_cleanup();
    return 0;
}

} // namespace

int main(int argc, char** argv) { return bench::run_load_program("curl-client", usage_text, argc, argv, run); }
