// The one translation unit that compiles Asio (and its OpenSSL layer) for the whole library,
// because BOOST_ASIO_SEPARATE_COMPILATION is defined for every translation unit (see meson.build).
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
