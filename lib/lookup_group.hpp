// Name lookups for the transport's dials: a pinned name first, then the DNS cache, then the
// resolver, with one resolver call per name however many dials want it at once (Go's lookupGroup,
// a singleflight over net.Resolver). A dial that withdraws leaves the others' lookup running; the
// lookup is cancelled only when no dial wants it any more. Only on the transport's strand.
#pragma once

#include "dns_cache.hpp"

#include <roundtrip/events.hpp>
#include <roundtrip/resolver.hpp>
#include <roundtrip/transport.hpp>

#include <boost/asio/cancellation_signal.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace roundtrip::detail {

class lookup_group : public std::enable_shared_from_this<lookup_group> {
public:
    // Where a dial's addresses came from, and what they are.
    struct answer {
        error_code error;
        std::vector<endpoint> addresses;
        dns_source source = dns_source::lookup;
    };
    using answer_handler = std::function<void(answer)>;

    // What a dial holds while its lookup is out, to withdraw from it.
    struct ticket {
        std::string host;
        std::uint64_t id = 0; // 0: none
        bool joined = false;  // joined a lookup another dial started
    };

    // `options` (and the resolver and pins it names) must outlive the group.
    lookup_group(executor strand, std::shared_ptr<resolver> names, const dial_options& options);

    // Answers `host` at once from its pin or, when `use_cache`, from the cache. Otherwise joins the
    // lookup in flight for `host` or starts one, fills `out` and returns nothing: `then` runs later,
    // on the strand, with the answer, unless withdrawn first.
    std::optional<answer> find(std::string_view host, std::uint16_t port, bool use_cache, answer_handler then,
                               ticket& out);

    // `then` of `t` will not run. The last dial to withdraw from a lookup cancels it.
    void withdraw(ticket& t);

    // Drops what the cache keeps for `host` if it is still `addresses` (in any order): a dial whose
    // cached addresses all failed must not drop a newer answer another dial stored meanwhile.
    void forget(std::string_view host, const std::vector<endpoint>& addresses);

private:
    struct joined {
        std::uint64_t id;
        std::uint16_t port;
        answer_handler then;
    };
    struct flight {
        std::uint64_t starter; // the ticket of the dial that started it: its answer says `lookup`
        std::shared_ptr<asio::cancellation_signal> cancel;
        std::vector<joined> waiting;
    };

    void on_answer(const std::string& host, std::uint64_t starter, error_code ec, std::vector<endpoint> found);

    executor strand_;
    std::shared_ptr<resolver> resolver_;
    const dial_options& options_;
    dns_cache cache_;
    std::map<std::string, flight, std::less<>> flights_; // by lowercased host name
    std::uint64_t last_ticket_ = 0;
};

} // namespace roundtrip::detail
