// The one translation unit that compiles Beast for the whole library,
// because BOOST_BEAST_SEPARATE_COMPILATION is defined for every translation unit (see meson.build).
//
// Beast 1.81's parser asserts on valid input: a final chunk whose CRLF arrives in pieces trips
// BOOST_ASSERT(n >= 5) in basic_parser.ipp and aborts a debug build. Its release behaviour is
// right, so the parser, which is compiled only here, is compiled without Boost's assertions.
#define BOOST_DISABLE_ASSERTS
#include <boost/beast/src.hpp>
