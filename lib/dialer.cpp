// Dialing with RFC 8305 fallback: one candidate stream per address started, the first to connect wins.
#include "dialer.hpp"

#include "error_from_exception.hpp"
#include "socks5.hpp"
#include "target.hpp"
#include "time.hpp"

#include <roundtrip/error.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/core/error.hpp>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <chrono>

namespace roundtrip::detail {
namespace {

// RFC 8305, section 4: alternate address families, starting with the family the resolver put first,
// whichever resolver answered.
std::vector<endpoint> interleave_families(std::vector<endpoint> in)
{
    if (in.empty())
        return in;
    bool first_v6 = in.front().address().is_v6();
    std::vector<endpoint> first, second, out;
    for (auto& e : in)
        (e.address().is_v6() == first_v6 ? first : second).push_back(e);
    out.reserve(in.size());
    for (std::size_t i = 0; i < std::max(first.size(), second.size()); ++i) {
        if (i < first.size())
            out.push_back(first[i]);
        if (i < second.size())
            out.push_back(second[i]);
    }
    return out;
}

} // namespace

dial::dial(executor strand, std::shared_ptr<watchdog> watchdog, const dial_options& options, std::shared_ptr<lookup_group> names,
           event_sink sink, const target& t, std::uint64_t conn_id, clock::duration connect_timeout,
           clock::time_point call_deadline, std::shared_ptr<tls_context> tls, std::string key)
    : strand_(strand), watchdog_(std::move(watchdog)), options_(options), names_(std::move(names)), sink_(std::move(sink)), origin_host_(t.host),
      origin_is_ip_(t.host_is_ip), origin_port_(t.port), route_(t.route), host_(route_ ? route_->via->host : t.host),
      host_is_ip_(t.host_is_ip), ip_(t.ip), port_(route_ ? route_->via->port : t.port), unix_path_(options.unix_socket),
      conn_id_(conn_id),
      dial_deadline_(bounded(connect_timeout, call_deadline)), call_deadline_(call_deadline),
      expiry_(strand), fallback_(strand), tls_(std::move(tls)), key_(std::move(key))
{
    if (route_) {
        error_code not_ip;
        ip_ = asio::ip::make_address(host_, not_ip);
        host_is_ip_ = !not_ip;
    }
}

void dial::start(handler_type handler)
{
    handler_.emplace(std::move(handler));
    expiry_.expires_at(dial_deadline_);
    expiry_.async_wait([self = shared_from_this()](error_code ec) { self->on_expired(ec); });

    if (route_ && route_->via->kind == proxy::protocol::socks5 && !origin_is_ip_) {
        // socks5:// sends the proxy an address: the server's name is resolved here, first.
        resolving_origin_ = true;
        return look_up(true);
    }
    tunnel_host_ = origin_host_;
    reach();
}

// Reaches the next hop, the server or its proxy: through the user's connect step, or by connecting to
// its address (an IP literal, a Unix-domain socket), or to those a lookup finds.
void dial::reach()
{
    if (options_.connect)
        // Not from inside start(): the step's events and completion come from the strand.
        return asio::post(strand_, [self = shared_from_this()] { self->run_connect_step(); });
    if (host_is_ip_ || !unix_path_.empty()) {
        addresses_.push_back(host_is_ip_ && unix_path_.empty() ? endpoint(ip_, port_) : endpoint());
        asio::post(strand_, [self = shared_from_this()] { self->connect_next(); });
        return;
    }
    look_up(true);
}

void dial::look_up(bool use_cache)
{
    const std::string& host = resolving_origin_ ? origin_host_ : host_;
    sink_.emit(conn_id_, [&] { return dns_start{host}; });
    resolve_started_ = clock::now();
    resolving_ = true;
    auto answered = names_->find(
        host, resolving_origin_ ? origin_port_ : port_, use_cache,
        // Weak: a lookup another dial shares must not keep this one (and its timers) alive.
        [weak = weak_from_this()](lookup_group::answer a) {
            if (auto self = weak.lock())
                self->on_resolved(std::move(a));
        },
        lookup_);
    pending_source_ = answered ? answered->source : lookup_.joined ? dns_source::coalesced : dns_source::lookup;
    if (answered) // pinned or cached; not from inside start(): the dial's events come from the strand
        asio::post(strand_, [self = shared_from_this(), a = std::move(*answered)]() mutable {
            self->on_resolved(std::move(a));
        });
}

void dial::cancel()
{
    if (done_ || stop_.stopped())
        return;
    stop_.stop(stop_state::reason::canceled);
    abort_all();
}

void dial::on_expired(error_code ec)
{
    // Cancelled, or already queued when the connect finished in time: the handshake that followed
    // has a timeout of its own, and cutting it here would pass for a failed handshake.
    if (ec || done_ || stop_.stopped() || handshaking_)
        return;
    // A tunnel being opened is bounded by the same deadline on its stream; stopping here as well
    // makes the outcome a connect timeout either way.
    stop_.stop(stop_state::reason::expired);
    abort_all();
}

// Ends what is in progress; each connect then completes with an error that `outcome` maps. A lookup
// is abandoned at once, whether or not the resolver honours cancellation: its answer is ignored.
void dial::abort_all()
{
    if (handshaking_) {
        handshaking_->stream.cancel();
        return;
    }
    if (stepping_) {
        // The step is told to stop; the dial does not wait for it (a step may not listen).
        stepping_ = false;
        step_cancel_.emit(asio::cancellation_type::terminal);
        const error_code ec = outcome({});
        sink_.emit(conn_id_, [&] { return connect_done{{}, ec, clock::now() - connect_started_.front(), {}}; });
        asio::post(strand_, [self = shared_from_this(), ec] { self->finish(ec, nullptr); });
        return;
    }
    if (tunneling_) {
        // Beast's read is several reads in turn: a cancel between two of them would be lost. Shutting
        // the socket down ends the next one too.
        tunneling_->stream.cancel();
        error_code ignored;
        tunneling_->stream.socket().shutdown(asio::socket_base::shutdown_both, ignored);
        return;
    }
    if (resolving_) {
        resolving_ = false;
        names_->withdraw(lookup_);
        const error_code ec = outcome({});
        sink_.emit(conn_id_, [&] { return dns_done{{}, ec, clock::now() - resolve_started_, pending_source_}; });
        asio::post(strand_, [self = shared_from_this(), ec] { self->finish(ec, nullptr); });
        return;
    }
    fallback_.cancel();
    for (auto& s : racing_)
        if (s)
            s->cancel();
}

error_code dial::outcome(error_code ec) const
{
    return stop_.outcome(ec, error::connect_timeout, call_deadline_);
}

void dial::on_resolved(lookup_group::answer found)
{
    if (!resolving_)
        return; // abandoned: abort_all() already reported and finished
    resolving_ = false;
    lookup_.id = 0;
    error_code ec = found.error;
    if (ec)
        ec = outcome(ec);
    else if (found.addresses.empty()) // a resolver's "success" with nothing to connect to
        ec = error::host_not_found;
    sink_.emit(conn_id_, [&] { return dns_done{found.addresses, ec, clock::now() - resolve_started_, found.source}; });
    if (ec)
        return finish(ec, nullptr);
    if (resolving_origin_) { // for socks5://: the proxy is sent the address the resolver put first, as curl does
        resolving_origin_ = false;
        tunnel_host_ = found.addresses.front().address().to_string();
        return reach();
    }
    source_ = found.source;
    addresses_ = interleave_families(std::move(found.addresses));
    connect_next();
}

void dial::connect_next()
{
    // A fallback timer's handler may already be queued when a failure has started the next address:
    // there may be nothing left to start.
    if (racing_.size() >= addresses_.size() && !done_ && !stop_.stopped())
        return;
    if (done_ || stop_.stopped()) {
        if (in_flight_ == 0)
            finish(outcome({}), nullptr);
        return;
    }
    const std::size_t index = racing_.size();
    const endpoint remote = addresses_[index];
    auto& stream = racing_.emplace_back(std::make_unique<timed_stream>(strand_, watchdog_));
    stream->expires_at(dial_deadline_);
    ++in_flight_;
    sink_.emit(conn_id_, [&] { return connect_start{remote, unix_path_}; });
    connect_started_.push_back(clock::now());
    const timed_stream::socket_type::endpoint_type peer =
        unix_path_.empty() ? timed_stream::socket_type::endpoint_type(remote)
                           : timed_stream::socket_type::endpoint_type(asio::local::stream_protocol::endpoint(unix_path_));
    if (const error_code refused = prepare(stream->socket(), peer)) {
        setup_failed_ = true;
        asio::post(strand_, [self = shared_from_this(), index, refused] { self->on_connected(index, refused); });
    } else
        stream->async_connect(peer, [self = shared_from_this(), index](error_code ec) {
            self->on_connected(index, ec);
        });
    if (racing_.size() < addresses_.size()) {
        fallback_.expires_after(options_.fallback_delay);
        fallback_.async_wait([self = shared_from_this()](error_code ec) {
            if (!ec && !self->done_ && self->winner_ == SIZE_MAX && !self->stop_.stopped())
                self->connect_next();
        });
    }
}

// Opens the socket and sets it up before it connects: roundtrip's TCP options, the local address, then
// the user's own (`prepare_socket`). A TCP option the system refuses is not worth failing a connect for.
error_code dial::prepare(timed_stream::socket_type& socket, const timed_stream::socket_type::endpoint_type& peer)
{
    error_code ec;
    socket.open(peer.protocol(), ec);
    if (ec)
        return ec;
    if (unix_path_.empty()) {
        error_code ignored;
        socket.set_option(asio::ip::tcp::no_delay(options_.tcp_no_delay), ignored);
        const auto& k = options_.keep_alive;
        socket.set_option(asio::socket_base::keep_alive(k.enabled), ignored);
        if (k.enabled) {
            const auto whole_seconds = [](clock::duration d) {
                const auto s = std::chrono::ceil<std::chrono::seconds>(d).count();
                return static_cast<int>(std::clamp<decltype(s)>(s, 1, 32767)); // the kernel's own bound
            };
            const auto set = [&](int name, int value) {
                ::setsockopt(socket.native_handle(), IPPROTO_TCP, name, &value, sizeof value);
            };
            set(TCP_KEEPIDLE, whole_seconds(k.idle));
            set(TCP_KEEPINTVL, whole_seconds(k.interval));
            set(TCP_KEEPCNT, std::clamp(k.count, 1, 127));
        }
        if (options_.local_address) {
            socket.bind(timed_stream::socket_type::endpoint_type(endpoint(*options_.local_address, 0)), ec);
            if (ec)
                return ec;
        }
    }
    if (options_.prepare_socket) {
        try {
            options_.prepare_socket(socket, ec);
        } catch (...) { // it runs in a handler of the strand: nothing may escape into the event loop
            ec = error_from_exception(std::current_exception());
        }
    }
    return ec;
}

void dial::on_connected(std::size_t index, error_code ec)
{
    --in_flight_;
    if (!ec && winner_ != SIZE_MAX)
        ec = error::canceled; // another address won the race
    else if (ec && winner_ != SIZE_MAX)
        ec = error::canceled;
    else if (ec || stop_.stopped())
        ec = outcome(ec ? ec : error_code(error::canceled));
    sink_.emit(conn_id_, [&] {
        return connect_done{addresses_[index], ec, clock::now() - connect_started_[index], unix_path_};
    });
    // A Unix-domain socket's path that is not there: nothing listens. The event keeps the system's
    // code; the dial ends with its meaning. (ENOENT means nothing of the kind elsewhere.)
    if (ec == boost::system::errc::no_such_file_or_directory && !unix_path_.empty())
        ec = error::connection_refused;

    if (!ec) {
        winner_ = index;
        fallback_.cancel();
        for (std::size_t i = 0; i < racing_.size(); ++i)
            if (i != index && racing_[i])
                racing_[i]->cancel();
    } else {
        racing_[index].reset();
        if (!first_error_ && winner_ == SIZE_MAX)
            first_error_ = ec;
    }

    // Losers report their connect_done before the dial completes, so every connect_start is paired
    // before got_conn.
    if (winner_ == SIZE_MAX && !stop_.stopped() && racing_.size() < addresses_.size()) {
        if (ec) {
            fallback_.cancel();
            connect_next(); // a failed address hands over at once, without waiting for the fallback delay
        }
        return;
    }
    if (in_flight_ > 0)
        return;
    if (winner_ != SIZE_MAX) {
        auto& stream = racing_[winner_];
        stream->expires_never();
        return connected(std::make_unique<connection>(std::move(stream), conn_id_, addresses_[winner_]));
    }
    if (!stop_.stopped() && source_ == dns_source::cache && !refreshed_ && !setup_failed_) {
        // Every address the cache gave refused or could not be reached: the name may have moved since
        // it was cached (curl and Go keep it for its time regardless). Drop it and look up once more.
        // Not when our own setup of a socket failed (a bind, prepare_socket): that says nothing about
        // the name.
        refreshed_ = true;
        names_->forget(host_, addresses_);
        racing_.clear();
        connect_started_.clear();
        addresses_.clear();
        first_error_ = {};
        return look_up(false);
    }
    finish(stop_.stopped() ? outcome({}) : first_error_, nullptr);
}

// The next hop is reached. An https:// proxy is spoken to over TLS: its handshake comes first.
void dial::connected(std::unique_ptr<connection> conn)
{
    conn->key = key_;
    if (route_ && route_->tls)
        return handshake(std::move(conn));
    hop_ready(std::move(conn));
}

// The next hop can be spoken to: a tunnel through it when there is a proxy (an HTTP proxy takes http
// requests as they are), then TLS with the server for https.
void dial::hop_ready(std::unique_ptr<connection> conn)
{
    if (route_ && (tls_ || is_socks(*route_->via)))
        return open_tunnel(std::move(conn));
    if (tls_)
        return handshake(std::move(conn));
    finish({}, std::move(conn));
}

// Runs the user's connect step; its socket comes back through on_step.
void dial::run_connect_step()
{
    if (done_)
        return;
    if (stop_.stopped()) // stopped while this was queued, with nothing in progress for abort_all() to end
        return finish(outcome({}), nullptr);
    sink_.emit(conn_id_, [&] { return connect_start{{}, {}}; });
    connect_started_.push_back(clock::now());
    stepping_ = true;
    const connect_target target{key_, host_, port_, route_ ? route_->via.get() : nullptr, origin_host_, origin_port_, strand_};
    // The handler keeps the dial alive, and with it the cancellation signal its slot refers to. It may
    // be called from any thread: it hops to the strand.
    auto done = asio::bind_cancellation_slot(step_cancel_.slot(), [self = shared_from_this()](error_code ec, stream_socket s) {
        asio::post(self->strand_, [self, ec, s = std::move(s)]() mutable { self->on_step(ec, std::move(s)); });
    });
    try {
        options_.connect(target, connect_handler(std::move(done)));
    } catch (...) { // it runs in a handler of the strand: nothing may escape into the event loop
        const error_code ec = error_from_exception(std::current_exception());
        asio::post(strand_, [self = shared_from_this(), ec] { self->on_step(ec, stream_socket(self->strand_)); });
    }
}

namespace {

// The path of a Unix-domain socket's endpoint, for the connect_done of a connect step; else empty.
std::string unix_path_of(const timed_stream::socket_type::endpoint_type& e)
{
    if (e.protocol().family() != AF_UNIX || e.size() <= offsetof(sockaddr_un, sun_path))
        return {};
    const auto* un = reinterpret_cast<const sockaddr_un*>(e.data());
    const std::size_t room = e.size() - offsetof(sockaddr_un, sun_path);
    return std::string(un->sun_path, strnlen(un->sun_path, room));
}

} // namespace

void dial::on_step(error_code ec, stream_socket socket)
{
    if (!stepping_) { // the dial ended without it: a late socket is not wanted
        error_code ignored;
        socket.close(ignored);
        return;
    }
    stepping_ = false;
    if (!ec && !socket.is_open())
        ec = error::invalid_config; // "connected", with no socket to show for it
    auto stream = std::make_unique<timed_stream>(strand_, watchdog_);
    if (!ec) {
        // The socket is re-homed on the strand, whatever executor the step made it with: the
        // connection's operations must complete there.
        int family = 0, protocol = 0;
        socklen_t size = sizeof family;
        ::getsockopt(socket.native_handle(), SOL_SOCKET, SO_DOMAIN, &family, &size);
        size = sizeof protocol;
        ::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PROTOCOL, &protocol, &size);
        const auto fd = socket.release(ec);
        if (!ec) {
            stream->socket().assign(asio::generic::stream_protocol(family, protocol), fd, ec);
            if (ec)
                ::close(fd); // released: nobody else owns it now
        }
    }
    error_code ignored;
    const auto peer = ec ? timed_stream::socket_type::endpoint_type() : stream->socket().remote_endpoint(ignored);
    const endpoint remote = ip_endpoint_of(peer);
    const std::string path = unix_path_of(peer);
    sink_.emit(conn_id_, [&] { return connect_done{remote, ec, clock::now() - connect_started_.front(), path}; });
    if (ec)
        return finish(ec, nullptr);
    connected(std::make_unique<connection>(std::move(stream), conn_id_, remote));
}

// The CONNECT request and the proxy's answer, for as long as the tunnel is being opened.
struct dial::tunnel_exchange {
    std::string target; // host:port, IPv6 in brackets
    std::string request;
    boost::beast::flat_buffer in{16 * 1024}; // the answer's head must fit: a proxy has no reason to send more
    boost::beast::http::response_parser<boost::beast::http::empty_body> answer;
};

dial::~dial() = default;

// Asks the proxy for a tunnel to the server, bounded by the dial's deadline, as connecting is.
void dial::open_tunnel(std::unique_ptr<connection> conn)
{
    const std::string target = bracketed(tunnel_host_) + ":" + std::to_string(origin_port_);
    sink_.emit(conn_id_, [&] { return proxy_connect_start{route_->where, target}; });
    tunnel_started_ = clock::now();
    conn->stream.expires_at(dial_deadline_);
    tunneling_ = std::move(conn);
    if (!is_socks(*route_->via))
        return send_connect(target);
    asio::co_spawn(strand_, socks5::handshake(tunneling_->stream, *route_->via, tunnel_host_, origin_port_),
                   asio::bind_executor(strand_, [self = shared_from_this()](std::exception_ptr e, socks5::outcome o) {
                       if (e)
                           o = {0, error_from_exception(e)};
                       self->on_tunnel(o.error, o.reply);
                   }));
}

// An HTTP proxy's tunnel: CONNECT host:port, with the proxy's credentials; through the proxy's TLS
// for an https:// one.
void dial::send_connect(std::string target)
{
    tunnel_ = std::make_unique<tunnel_exchange>();
    auto& x = *tunnel_;
    x.target = std::move(target);
    x.request = "CONNECT " + x.target + " HTTP/1.1\r\nHost: " + x.target + "\r\n";
    if (!route_->authorization.empty())
        x.request.append("Proxy-Authorization: ").append(route_->authorization).append("\r\n");
    x.request.append("\r\n");
    x.answer.skip(true); // a 2xx to CONNECT has no body; the tunnel's bytes follow the head
    x.answer.header_limit(16 * 1024);
    if (tunneling_->tls)
        exchange_connect(*tunneling_->tls);
    else
        exchange_connect(tunneling_->stream);
}

// Writes the CONNECT request on `s` and reads the answer's head. `s` belongs to tunneling_.
template <class Stream>
void dial::exchange_connect(Stream& s)
{
    asio::async_write(s, asio::buffer(tunnel_->request),
                      asio::bind_executor(strand_, [self = shared_from_this(), &s](error_code ec, std::size_t) {
                          if (ec || self->stop_.stopped()) // stopped as the write finished: no read to cancel
                              return self->on_connect_answer(ec);
                          auto& x = *self->tunnel_;
                          boost::beast::http::async_read(s, x.in, x.answer,
                                                         asio::bind_executor(self->strand_, [self](error_code ec, std::size_t) {
                                                             self->on_connect_answer(ec);
                                                         }));
                      }));
}

void dial::on_connect_answer(error_code ec)
{
    std::unique_ptr<tunnel_exchange> x = std::move(tunnel_);
    unsigned status = 0;
    // Not an HTTP answer, or the proxy closed the connection instead of answering (an https:// one
    // without its close_notify: truncated).
    if (ec && (ec.category() == boost::beast::http::make_error_code(boost::beast::http::error::end_of_stream).category()
               || ec == asio::ssl::error::stream_truncated))
        ec = error::proxy_error;
    else if (!ec && x->answer.is_header_done()) { // (not done: stopped before the read; on_tunnel says so)
        status = x->answer.get().result_int();
        // Anything but 2xx is a refusal (407: credentials, 403: not allowed there, 502: the server
        // could not be reached). Bytes after a 2xx head, before our TLS hello, are not the server's.
        if (status / 100 != 2 || x->in.size() != 0)
            ec = error::proxy_error;
    }
    on_tunnel(ec, status);
}

void dial::on_tunnel(error_code ec, unsigned status)
{
    std::unique_ptr<connection> conn = std::move(tunneling_);
    conn->stream.expires_never();
    if (stop_.stopped() || ec == boost::beast::error::timeout)
        ec = outcome(ec ? ec : error_code(error::canceled));
    sink_.emit(conn_id_, [&] { return proxy_connect_done{status, ec, clock::now() - tunnel_started_}; });
    if (ec) {
        conn->close();
        return finish(ec, nullptr);
    }
    if (tls_)
        return handshake(std::move(conn));
    finish({}, std::move(conn));
}

// TLS with an https:// proxy, verified against the proxy's name, when that is not up yet; else TLS
// with the server: directly on the socket, or inside the proxy's TLS.
void dial::handshake(std::unique_ptr<connection> conn)
{
    expiry_.cancel(); // connecting is over; the handshake has a timeout of its own
    const bool nested = conn->tls.has_value(); // the proxy's is up: the server's runs inside it
    const bool with_proxy = route_ && route_->tls && !nested;
    const std::shared_ptr<tls_context>& config = with_proxy ? route_->tls : tls_;
    const std::string& name = with_proxy ? host_ : origin_host_;
    const bool name_is_ip = with_proxy ? host_is_ip_ : origin_is_ip_;
    SSL* ssl = nullptr;
    if (nested) {
        conn->via_tls->tunneled_config = config;
        ssl = conn->via_tls->tunneled.emplace(*conn->tls, config->native()).native_handle();
    } else {
        conn->tls_config = config;
        ssl = conn->tls.emplace(conn->stream, config->native()).native_handle();
    }
    // The proxy's sessions are kept under its URL, the server's under the pool key.
    if (with_proxy) {
        conn->via_tls = std::make_unique<proxy_tls_layer>();
        conn->via_tls->session_key = route_->where;
    }
    config->prepare(ssl, name, name_is_ip, with_proxy ? conn->via_tls->session_key : conn->key);
    sink_.emit(conn_id_, [&] { return tls_handshake_start{name_is_ip ? std::string_view() : name}; });
    handshake_started_ = clock::now();
    conn->stream.expires_at(bounded(config->options().handshake_timeout, call_deadline_));
    handshaking_ = std::move(conn);
    auto done = asio::bind_executor(strand_, [self = shared_from_this()](error_code ec) { self->on_handshake(ec); });
    if (nested)
        handshaking_->via_tls->tunneled->async_handshake(asio::ssl::stream_base::client, std::move(done));
    else
        handshaking_->tls->async_handshake(asio::ssl::stream_base::client, std::move(done));
}

namespace {


// The subject of the peer's certificate on one line, as `openssl x509 -subject` prints it.
std::string peer_subject(SSL* ssl)
{
    const X509* peer = SSL_get0_peer_certificate(ssl);
    if (!peer) { // a handshake whose verification failed keeps only the chain the server sent
        const STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
        peer = chain && sk_X509_num(chain) > 0 ? sk_X509_value(chain, 0) : nullptr;
    }
    if (!peer)
        return {};
    std::unique_ptr<BIO, decltype(&BIO_free)> out(BIO_new(BIO_s_mem()), &BIO_free);
    if (!out || X509_NAME_print_ex(out.get(), X509_get_subject_name(peer), 0, XN_FLAG_ONELINE) < 0)
        return {};
    char* text = nullptr;
    const long n = BIO_get_mem_data(out.get(), &text);
    return n > 0 ? std::string(text, static_cast<std::size_t>(n)) : std::string();
}

} // namespace

void dial::on_handshake(error_code ec)
{
    std::unique_ptr<connection> conn = std::move(handshaking_);
    conn->stream.expires_never();
    SSL* ssl = conn->http_tls(); // the one just set up
    if (stop_.canceled())
        ec = error::canceled;
    else if (ec == boost::beast::error::timeout)
        ec = timed_out(call_deadline_, error::tls_handshake_timeout);
    else if (ec)
        ec = tls_context::handshake_failure(ssl, ec);
    if (ec) {
        // A refused certificate is named with its subject, as curl and Go do: "issued for whom" and
        // "why not" are what the user needs to fix it.
        const long verify = SSL_get_verify_result(ssl);
        const std::string subject = verify != X509_V_OK ? peer_subject(ssl) : std::string();
        sink_.emit(conn_id_, [&] {
            tls_handshake_done done{ec};
            done.took = clock::now() - handshake_started_;
            if (verify != X509_V_OK) {
                done.peer_subject = subject;
                done.verify_error = X509_verify_cert_error_string(verify);
            }
            return done;
        });
        conn->close();
        return finish(ec, nullptr);
    }
    sink_.emit(conn_id_, [&] {
        const unsigned char* alpn = nullptr;
        unsigned alpn_size = 0;
        SSL_get0_alpn_selected(ssl, &alpn, &alpn_size);
        conn->tls_peer = peer_subject(ssl);
        return tls_handshake_done{{},
                                  SSL_get_version(ssl),
                                  SSL_get_cipher_name(ssl),
                                  std::string_view(reinterpret_cast<const char*>(alpn), alpn_size),
                                  SSL_session_reused(ssl) == 1,
                                  conn->tls_peer,
                                  {},
                                  clock::now() - handshake_started_};
    });
    if (conn->via_tls && !conn->tunneled_tls()) { // the proxy's handshake, not yet the server's
        // The proxy's handshake had a timeout of its own: the connect timeout, which bounds the
        // CONNECT that follows, does not count it.
        if (dial_deadline_ != clock::time_point::max())
            dial_deadline_ = std::min(dial_deadline_ + (clock::now() - handshake_started_), call_deadline_);
        return hop_ready(std::move(conn));
    }
    finish({}, std::move(conn));
}

void dial::finish(error_code ec, std::unique_ptr<connection> conn)
{
    if (done_)
        return;
    done_ = true;
    expiry_.cancel();
    fallback_.cancel();
    racing_.clear();
    handler_type handler(std::move(*handler_));
    handler_.reset();
    std::move(handler)(ec, std::move(conn));
}

} // namespace roundtrip::detail
