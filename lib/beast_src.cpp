// The one translation unit that compiles Beast for the whole library,
// because BOOST_BEAST_SEPARATE_COMPILATION is defined for every translation unit (see meson.build).
#include <boost/beast/src.hpp>
