#include "otlp_sender.hpp"

#include <algorithm>
#include <chrono>

namespace roundtrip::detail::otlp {
namespace {

client_options without_middleware(const transport_options& transport)
{
    client_options c;
    c.transport = transport;
    return c;
}

} // namespace

sender::sender(std::string endpoint, header_fields headers, const transport_options& transport)
    : endpoint_(std::move(endpoint)), headers_(std::move(headers)), client_(without_middleware(transport))
{
}

bool sender::post(std::string body, clock::duration timeout) noexcept
{
    try {
        request req("POST", endpoint_);
        req.headers = headers_;
        req.headers.set(boost::beast::http::field::content_type, "application/json");
        req.body = std::move(body);
        // 0 would mean "the client's default", which is none.
        req.timeout = std::max<clock::duration>(timeout, std::chrono::milliseconds(1));
        error_code ec;
        const response res = client_.send(std::move(req), ec);
        return !ec && res.status >= 200 && res.status < 300;
    } catch (...) {
        return false; // out of memory: the export is lost
    }
}

void sender::close() noexcept
{
    try {
        client_.close();
    } catch (...) {
        // close() only posts to the client's strand; nothing to undo if it could not.
    }
}

} // namespace roundtrip::detail::otlp
