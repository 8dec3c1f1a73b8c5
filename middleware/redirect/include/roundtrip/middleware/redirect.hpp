// The redirect middleware: follows 301, 302, 303, 307 and 308 responses as Go's client does, with
// the Fetch standard's care for credentials and request bodies.
#pragma once

#include <roundtrip/middleware.hpp>
#include <roundtrip/middleware/redirect_events.hpp>

#include <functional>
#include <string>
#include <vector>

namespace roundtrip {

/// What a redirect policy decides for one hop.
enum class redirect_decision {
    follow, ///< Send the next request.
    stop,   ///< Return the 3xx response to the caller (`redirect_refused{policy}`).
};

/// `redirect_options` configure the redirect middleware; each default is the one stated.
struct redirect_options {
    /// Redirects followed per call: past it the call fails with `redirect_error::too_many_redirects`.
    /// 0 refuses every redirect that way; -1 means no limit. Default 10, as Go's client.
    int max_redirects = 10;
    /// Follow a redirect from https to http. Default false: the 3xx is returned
    /// (`redirect_refused{downgrade}`).
    bool allow_downgrade = false;
    /// Header fields removed, beyond `Authorization`, `Proxy-Authorization` and `Cookie`, when a
    /// redirect leaves the origin (its scheme, host or port changes).
    std::vector<std::string> sensitive_headers;
    /// Decides each hop, like Go's `CheckRedirect`: called with the request about to be sent (the
    /// method, URL and headers the rules above made) and the 3xx's status and hop number. Empty:
    /// follow.
    std::function<redirect_decision(const request& next, unsigned status, std::uint32_t hop)> policy;
};

/// Returns the redirect middleware. For a response of 301, 302, 303, 307 or 308 with a `Location`,
/// it resolves `Location` against the request's URL (RFC 3986) and sends the next request, until a
/// response is not a redirect:
///   - 301, 302 and 303 turn any method but GET and HEAD into GET, and never carry a body (nor the
///     `Content-*` fields that described it), as Go's client does; an absolute `Location` is used as
///     sent, a relative one resolved.
///   - 307 and 308 keep the method and the body, and are followed only when the body can be sent
///     again (`body_is_replayable`'s body rule); otherwise the 3xx is returned.
///   - A redirect that leaves the origin removes `Authorization`, `Proxy-Authorization`, `Cookie`
///     and `sensitive_headers`; one from https to http is not followed unless allowed.
/// Each followed hop is a `redirect_followed` event, each refused one a `redirect_refused` event;
/// the 3xx bodies it does not return are discarded (a streamed one drained, so that its connection
/// can be reused). A response reached through redirects says where it came from in
/// `response::final_url` (the last hop's URL, as is the last `redirect_followed` event's `to`). Put
/// it above retry, so that each hop is retried on its own.
layer redirect(redirect_options options = {});

} // namespace roundtrip
