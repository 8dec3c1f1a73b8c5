// The cookies middleware: a client's calls share a cookie jar, as a browser's tabs do.
#pragma once

#include <roundtrip/middleware.hpp>
#include <roundtrip/middleware/cookie_events.hpp>
#include <roundtrip/middleware/cookie_jar.hpp>

#include <memory>

namespace roundtrip {

/// Returns the cookies middleware over `jar`: each request gets the jar's cookies for its URL in a
/// `Cookie` field (after the request's own `Cookie` value, when it has one, as Go's client does),
/// and each response's `Set-Cookie` fields, 3xx responses' included, go into the jar; a refused one
/// is a `cookie_refused` event. Put it beneath redirect, so that every hop sends and stores its own.
layer cookies(std::shared_ptr<cookie_jar> jar);

} // namespace roundtrip
