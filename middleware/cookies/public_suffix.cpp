#include "public_suffix.hpp"

#include <libpsl.h>

#include <memory>
#include <string>

namespace roundtrip::cookies_detail {
namespace {

struct psl_deleter {
    void operator()(psl_ctx_t* p) const noexcept { psl_free(p); }
};

// The list the system keeps up to date (Debian's publicsuffix package), else the one built into
// libpsl. Loaded once; lookups only read it, from any thread.
const psl_ctx_t* list()
{
    static const std::unique_ptr<psl_ctx_t, psl_deleter> latest(psl_latest(nullptr));
    return latest ? latest.get() : psl_builtin();
}

} // namespace

bool is_public_suffix(std::string_view domain)
{
    const psl_ctx_t* psl = list();
    if (!psl) // no list at all: every Domain attribute is refused, rather than any accepted
        return true;
    return psl_is_public_suffix(psl, std::string(domain).c_str()) != 0;
}

std::string registrable_domain(std::string_view domain)
{
    const std::string text(domain);
    const char* site = list() ? psl_registrable_domain(list(), text.c_str()) : nullptr;
    return site ? std::string(site) : text;
}

} // namespace roundtrip::cookies_detail
