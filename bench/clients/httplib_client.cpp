// httplib-client: cpp-httplib's blocking client as its users write a load loop: one client object per
// worker thread, kept alive across requests (or, with --new-conn, a connection per request).
//
//   httplib-client --url URL --concurrency C --requests N [--new-conn] [--insecure]

#include "threaded_load.hpp"

#include <httplib.h>

#include <memory>

namespace {

constexpr const char* usage_text =
    "usage: httplib-client --url URL --concurrency C --requests N [--new-conn] [--insecure]\n"
    "Sends N GET requests with C threads, one cpp-httplib client each, and prints one JSON line.\n";

std::unique_ptr<httplib::ClientImpl> make_client(const bench::url_parts& u, const bench::load_settings& s)
{
    std::unique_ptr<httplib::ClientImpl> c;
    if (u.tls) {
        auto tls = std::make_unique<httplib::SSLClient>(u.host, u.port);
        tls->enable_server_certificate_verification(!s.insecure);
        c = std::move(tls);
    } else
        c = std::make_unique<httplib::ClientImpl>(u.host, u.port);
    c->set_keep_alive(!s.new_conn);
    c->set_tcp_nodelay(true);
    return c;
}

int run(const bench::load_settings& s)
{
    const bench::url_parts u = bench::split_url(s.url);
    std::vector<std::unique_ptr<httplib::ClientImpl>> clients;
    for (std::uint64_t w = 0; w < s.concurrency; ++w)
        clients.push_back(make_client(u, s));
    auto send = [&](std::uint64_t w, std::uint64_t) {
        const httplib::Result r = clients[w]->Get(u.target);
        return r && r->status == 200;
    };
    bench::phase_record warmup(bench::warmup_requests(s.requests));
    bench::run_threaded_phase(warmup, s.concurrency, send);
    bench::phase_record measured(s.requests);
    bench::run_threaded_phase(measured, s.concurrency, send);
    bench::print_figures("httplib", bench::summarize(measured)); // cpp-httplib does not say when it connects
    return 0;
}

} // namespace

int main(int argc, char** argv) { return bench::run_load_program("httplib-client", usage_text, argc, argv, run); }
