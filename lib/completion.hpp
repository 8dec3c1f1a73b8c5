// Invokes a completion handler on its associated executor, the way Asio operations do. Works for
// any handler, any_completion_handler included (whose executor supports only execute()).
#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/system_executor.hpp>
#include <boost/asio/execution/execute.hpp>
#include <boost/asio/prefer.hpp>

#include <tuple>
#include <utility>

namespace roundtrip::detail {

template <class Handler, class... Args>
auto bind_args(Handler handler, Args&&... args)
{
    return [h = std::move(handler), a = std::make_tuple(std::forward<Args>(args)...)]() mutable {
        std::apply([&h](auto&... v) { std::move(h)(std::move(v)...); }, a);
    };
}

// For completions that start from the initiating function: never runs the handler inside it.
// any_completion_executor (the executor of an any_completion_handler) cannot be required to be
// non-blocking in Boost 1.81 (a preference for it is silently ignored and a strand runs the handler
// inline), so the completion hops through the system executor, keeping the handler's context busy
// meanwhile, and then runs on the handler's own executor.
template <class Handler, class... Args>
void post_completion(Handler handler, Args&&... args)
{
    auto ex = boost::asio::prefer(boost::asio::get_associated_executor(handler),
                                  boost::asio::execution::outstanding_work.tracked);
    boost::asio::post(boost::asio::system_executor(),
                      [ex, f = bind_args(std::move(handler), std::forward<Args>(args)...)]() mutable {
                          ex.execute(std::move(f));
                      });
}

// For completions from another handler: runs inline when already on the handler's executor.
template <class Handler, class Executor, class... Args>
void dispatch_completion(const Executor& fallback, Handler handler, Args&&... args)
{
    auto ex = boost::asio::get_associated_executor(handler, fallback);
    ex.execute(bind_args(std::move(handler), std::forward<Args>(args)...));
}

} // namespace roundtrip::detail
