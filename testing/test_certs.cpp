#include <roundtrip/testing/test_certs.hpp>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace roundtrip::testing {

namespace {

template <auto free_fn>
struct openssl_free {
    template <class T>
    void operator()(T* p) const noexcept
    {
        free_fn(p);
    }
};

using pkey_ptr = std::unique_ptr<EVP_PKEY, openssl_free<&EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, openssl_free<&X509_free>>;
using extension_ptr = std::unique_ptr<X509_EXTENSION, openssl_free<&X509_EXTENSION_free>>;
using bio_ptr = std::unique_ptr<BIO, openssl_free<&BIO_free>>;
using bignum_ptr = std::unique_ptr<BIGNUM, openssl_free<&BN_free>>;

// Throws unless `ok`, naming the step and the reason OpenSSL queued. The queue is per thread, so
// the reason is ours; it is cleared so that it cannot be blamed on a later call.
void check(bool ok, const char* step)
{
    if (ok)
        return;
    std::string what = std::string("test_certs: ") + step + " failed";
    if (unsigned long code = ERR_get_error()) {
        char reason[256];
        ERR_error_string_n(code, reason, sizeof reason);
        what += std::string(": ") + reason;
    }
    ERR_clear_error();
    throw std::runtime_error(what);
}

constexpr long hour = 60 * 60;
constexpr long day = 24 * hour;

// What to put in one certificate. Extension values use OpenSSL's configuration syntax
// (x509v3_config(5)); an empty one is left out.
struct cert_spec {
    std::string common_name;
    std::string basic_constraints = "critical,CA:FALSE";
    std::string key_usage = "critical,digitalSignature";
    std::string extended_key_usage;
    std::string subject_alt_names;
    long not_before = -hour; // seconds from now
    long not_after = day;
};

cert_spec authority(std::string common_name)
{
    cert_spec s;
    s.common_name = std::move(common_name);
    s.basic_constraints = "critical,CA:TRUE";
    s.key_usage = "critical,keyCertSign,cRLSign";
    // Wide enough to contain every leaf's validity, the expired one's included.
    s.not_before = -7 * day;
    s.not_after = 7 * day;
    return s;
}

constexpr const char* loopback_names = "DNS:localhost,IP:127.0.0.1,IP:::1";

cert_spec server_leaf(std::string common_name, std::string subject_alt_names = loopback_names)
{
    cert_spec s;
    s.common_name = std::move(common_name);
    s.extended_key_usage = "serverAuth";
    s.subject_alt_names = std::move(subject_alt_names);
    return s;
}

cert_spec client_leaf(std::string common_name)
{
    cert_spec s;
    s.common_name = std::move(common_name);
    s.extended_key_usage = "clientAuth";
    return s;
}

// A key and the certificate that binds it to a name.
struct keyed_cert {
    pkey_ptr key;
    x509_ptr cert;
};

void add_extension(X509* cert, X509V3_CTX& ctx, int nid, const std::string& value, const char* step)
{
    if (value.empty())
        return;
    extension_ptr ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value.c_str()));
    check(ext != nullptr, step);
    check(X509_add_ext(cert, ext.get(), -1) == 1, step);
}

// Makes a fresh key and a certificate for it, signed by `issuer`, or by itself when `issuer` is null.
keyed_cert issue(const cert_spec& spec, const keyed_cert* issuer)
{
    keyed_cert out;
    out.key.reset(EVP_EC_gen("P-256"));
    check(out.key != nullptr, "generating a P-256 key");
    out.cert.reset(X509_new());
    check(out.cert != nullptr, "allocating a certificate");
    X509* cert = out.cert.get();

    check(X509_set_version(cert, X509_VERSION_3) == 1, "setting the version");
    // Random serials: a client that caches by issuer and serial never sees two certificates alike,
    // even across test processes.
    bignum_ptr serial(BN_new());
    check(serial != nullptr, "allocating the serial number");
    check(BN_rand(serial.get(), 120, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) == 1, "drawing the serial number");
    check(BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert)) != nullptr, "setting the serial number");

    X509_NAME* subject = X509_get_subject_name(cert);
    check(X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                     reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1, -1, 0)
              == 1,
          "setting the subject");
    check(X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer->cert.get()) : subject) == 1,
          "setting the issuer");
    check(X509_gmtime_adj(X509_getm_notBefore(cert), spec.not_before) != nullptr, "setting notBefore");
    check(X509_gmtime_adj(X509_getm_notAfter(cert), spec.not_after) != nullptr, "setting notAfter");
    check(X509_set_pubkey(cert, out.key.get()) == 1, "setting the public key");

    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer ? issuer->cert.get() : cert, cert, nullptr, nullptr, 0);
    add_extension(cert, ctx, NID_basic_constraints, spec.basic_constraints, "adding basicConstraints");
    add_extension(cert, ctx, NID_key_usage, spec.key_usage, "adding keyUsage");
    add_extension(cert, ctx, NID_ext_key_usage, spec.extended_key_usage, "adding extendedKeyUsage");
    add_extension(cert, ctx, NID_subject_alt_name, spec.subject_alt_names, "adding subjectAltName");
    add_extension(cert, ctx, NID_subject_key_identifier, "hash", "adding subjectKeyIdentifier");
    // OpenSSL leaves the authority key id out of self-signed certificates unless forced; they need none.
    if (issuer)
        add_extension(cert, ctx, NID_authority_key_identifier, "keyid:always", "adding authorityKeyIdentifier");

    check(X509_sign(cert, issuer ? issuer->key.get() : out.key.get(), EVP_sha256()) > 0, "signing");
    return out;
}

template <class Write>
std::string to_pem(Write write, const char* step)
{
    bio_ptr bio(BIO_new(BIO_s_mem()));
    check(bio != nullptr, "allocating a memory BIO");
    check(write(bio.get()) == 1, step);
    char* data = nullptr;
    long size = BIO_get_mem_data(bio.get(), &data);
    check(size > 0 && data != nullptr, step);
    return std::string(data, static_cast<std::size_t>(size));
}

std::string cert_pem(const keyed_cert& c)
{
    return to_pem([&](BIO* b) { return PEM_write_bio_X509(b, c.cert.get()); }, "writing a certificate as PEM");
}

pem_identity identity(const keyed_cert& c)
{
    pem_identity out;
    out.cert = cert_pem(c);
    out.key = to_pem(
        [&](BIO* b) { return PEM_write_bio_PrivateKey(b, c.key.get(), nullptr, nullptr, 0, nullptr, nullptr); },
        "writing a private key as PEM");
    return out;
}

test_pki generate()
{
    const keyed_cert ca = issue(authority("roundtrip test CA"), nullptr);
    const keyed_cert client_ca = issue(authority("roundtrip test client CA"), nullptr);
    const keyed_cert untrusted_ca = issue(authority("roundtrip untrusted CA"), nullptr);

    cert_spec expired = server_leaf("roundtrip-test-expired");
    expired.not_before = -2 * day;
    expired.not_after = -day;

    cert_spec self_signed = server_leaf("roundtrip-test-self-signed");
    // A keyUsage without keyCertSign would stop OpenSSL from treating the certificate as self-signed
    // (it could not have signed itself), and verification would fail for a missing issuer instead.
    self_signed.key_usage.clear();

    test_pki out;
    out.ca_cert = cert_pem(ca);
    out.server = identity(issue(server_leaf("roundtrip-test-server"), &ca));
    out.wrong_host = identity(issue(server_leaf("wrong.example", "DNS:wrong.example"), &ca));
    out.expired = identity(issue(expired, &ca));
    out.self_signed = identity(issue(self_signed, nullptr));
    out.client_ca_cert = cert_pem(client_ca);
    out.client = identity(issue(client_leaf("roundtrip-test-client"), &client_ca));
    out.stranger_client = identity(issue(client_leaf("roundtrip-test-stranger"), &untrusted_ca));
    return out;
}

// The directory write_temp_file fills, created on first use and removed when the process exits.
class temp_dir {
public:
    temp_dir() : owner_(::getpid())
    {
        const char* base = std::getenv("TMPDIR");
        std::string pattern = std::string(base && *base ? base : "/tmp") + "/roundtrip-test-XXXXXX";
        if (!::mkdtemp(pattern.data()))
            throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
        path_ = pattern;
    }

    // A child made by fork() that exits normally runs this too; only the creator removes the files.
    ~temp_dir()
    {
        if (::getpid() != owner_)
            return;
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }

    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    const std::filesystem::path& path() const noexcept { return path_; }

private:
    pid_t owner_;
    std::filesystem::path path_;
};

} // namespace

const test_pki& pki()
{
    static const test_pki generated = generate();
    return generated;
}

std::string write_temp_file(std::string_view name, std::string_view contents)
{
    if (name.empty() || name.find('/') != std::string_view::npos)
        throw std::invalid_argument("write_temp_file: name must be a plain file name");
    static const temp_dir dir;
    static std::atomic<unsigned> files{0};
    const std::filesystem::path path = dir.path() / (std::to_string(++files) + "-" + std::string(name));
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    out.close();
    if (!out)
        throw std::runtime_error("write_temp_file: cannot write " + path.string());
    return path.string();
}

} // namespace roundtrip::testing
