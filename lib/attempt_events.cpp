// The delivery of an attempt's events to observers in chain order, and the numbering of attempts
// for round trippers of users' own.
#include "call_state.hpp"

#include <roundtrip/attempt_events.hpp>
#include <roundtrip/error.hpp>
#include <roundtrip/request.hpp>

namespace roundtrip {

void observer::on_attempt_headers(attempt_id, header_fields&) noexcept {}

namespace {

// The list is stored innermost first; chain order is outermost first.
void deliver_outermost_first(const detail::observer_node* node, const event& e) noexcept
{
    if (!node)
        return;
    deliver_outermost_first(node->outer.get(), e);
    node->target->on_event(e);
}

void stamp_outermost_first(const detail::observer_node* node, attempt_id id, header_fields& headers) noexcept
{
    if (!node)
        return;
    stamp_outermost_first(node->outer.get(), id, headers);
    if (node->hooks == observer_hooks::events_and_headers)
        node->target->on_attempt_headers(id, headers);
}

} // namespace

attempt_events::attempt_events(const request& req, const std::vector<std::shared_ptr<observer>>& observers)
    : observers_(&observers), scoped_(detail::request_access::observers(req))
{
    if (const auto& call = detail::request_access::call(req)) {
        call_ = call->id;
        attempt_ = ++call->attempts;
    } else {
        attempt_ = 1;
    }
}

void attempt_events::deliver(const event& e) const noexcept
{
    if (observers_)
        for (const auto& o : *observers_)
            o->on_event(e);
    deliver_outermost_first(scoped_.get(), e);
}

bool attempt_events::stamps_headers() const noexcept
{
    for (const detail::observer_node* n = scoped_.get(); n; n = n->outer.get())
        if (n->hooks == observer_hooks::events_and_headers)
            return true;
    return false;
}

void attempt_events::stamp_headers(header_fields& headers) const noexcept
{
    stamp_outermost_first(scoped_.get(), attempt_id{call_, attempt_}, headers);
}

executor attempt_events::call_executor(const request& req) noexcept
{
    const auto& call = detail::request_access::call(req);
    return call && call->strand ? *call->strand : executor();
}

bool attempt_events::retries_transparently(const request& req, const result& r) noexcept
{
    const bool stale_connection = r.error == condition::eof || r.error == condition::connection_reset;
    const bool safe = r.attempt.progress == request_progress::not_sent
                      || (r.attempt.progress == request_progress::possibly_processed && is_replayable(req));
    return r.attempt.reused && stale_connection && safe;
}

void attempt_events::request_write_started(const request& req) noexcept
{
    if (const auto& call = detail::request_access::call(req))
        call->request_write_started = true;
}

void attempt_events::request_body_sent(const request& req) noexcept
{
    if (const auto& call = detail::request_access::call(req))
        call->body_read_to_end = true;
}

} // namespace roundtrip
