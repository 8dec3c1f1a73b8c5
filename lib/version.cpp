// See version.hpp.
#include <roundtrip/version.hpp>

namespace roundtrip {

const char* library_version() noexcept { return ROUNDTRIP_VERSION_STRING; }

} // namespace roundtrip
