// A throwaway public-key infrastructure for TLS tests, generated in memory when first used: two
// certificate authorities and the server and client identities they sign, as PEM strings. Nothing is
// downloaded or committed; every process makes its own keys.
#pragma once

#include <string>
#include <string_view>

namespace roundtrip::testing {

// A `pem_identity` is a certificate (the leaf alone, no chain) and its private key, both PEM.
struct pem_identity {
    std::string cert;
    std::string key; // PKCS#8, unencrypted
};

// A `test_pki` holds every identity a TLS test needs. Keys are EC P-256, signatures SHA-256.
// "Now" below is the moment pki() first ran.
struct test_pki {
    // The trust anchor for every server certificate below except `self_signed`: a client that trusts
    // it accepts `server`.
    std::string ca_cert;
    // A valid server certificate for localhost, 127.0.0.1 and ::1 (subjectAltName), with
    // extendedKeyUsage serverAuth, valid from now-1h to now+1 day. Not valid for 127.0.0.2.
    pem_identity server;
    // Like `server` but named only DNS:wrong.example: verifying it fails with
    // X509_V_ERR_HOSTNAME_MISMATCH (or IP_ADDRESS_MISMATCH when the client checks an address).
    pem_identity wrong_host;
    // Like `server` but valid from now-2 days to now-1 day: fails with X509_V_ERR_CERT_HAS_EXPIRED.
    pem_identity expired;
    // Names like `server` but signs itself: fails with X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT.
    pem_identity self_signed;
    // A second authority, for servers that require client certificates: it signs `client` only.
    std::string client_ca_cert;
    // A client certificate, CN=roundtrip-test-client, extendedKeyUsage clientAuth.
    pem_identity client;
    // A client certificate signed by an authority nobody trusts: a server requiring client
    // certificates rejects it.
    pem_identity stranger_client;
};

// Returns the PKI, generating it on the first call (a few milliseconds). Thread-safe; every call in
// a process returns the same object. Throws std::runtime_error naming the OpenSSL step that failed.
const test_pki& pki();

// Writes `contents` to a new file and returns its path, for APIs that take file names (CA bundles).
// The file lives in a directory of this process's own (mkdtemp under $TMPDIR, else /tmp), removed
// with its contents when the process exits normally. `name` is the file's suffix and must not
// contain '/'; a prefix keeps calls with the same name apart. Thread-safe. Throws on I/O errors.
std::string write_temp_file(std::string_view name, std::string_view contents);

} // namespace roundtrip::testing
