// Boost.URL compiled into the fuzzers from its source, instrumented like the code that calls it
// (Debian's libboost_url is not, so the fuzzer would see none of its branches).
#include <boost/url/src.hpp>
