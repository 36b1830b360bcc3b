#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>

// Certificates made at test time with OpenSSL: a CA, and serving certificates
// it signs for localhost and 127.0.0.1 (EC P-256, like cert-manager's default
// for webhooks). Nothing is checked in; every run gets fresh keys.
namespace cdcguard::testing_support {

struct PemPair {
  std::string cert;
  std::string key;
};

namespace pki_detail {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Cert = std::unique_ptr<X509, X509Free>;

inline void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test PKI: ") + what);
}

inline std::string pem_of(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}

inline std::string pem_of(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}

inline void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  check(ext != nullptr, "extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

enum class CertKind { Ca, Server, Client };

// `organization` (O=) is where Kubernetes reads a client certificate's groups.
inline Cert make_cert(const std::string& common_name, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key,
                      CertKind kind, long serial, long valid_seconds, const std::string& organization = "",
                      const std::string& subject_alt_names = "DNS:localhost,IP:127.0.0.1") {
  Cert cert(X509_new());
  check(cert != nullptr, "X509_new");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), valid_seconds);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (!organization.empty()) {
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(organization.c_str()), -1, -1, 0);
  }
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509* signer = issuer ? issuer : cert.get();
  if (kind == CertKind::Ca) {
    add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
    add_extension(cert.get(), signer, NID_key_usage, "critical,digitalSignature");
    add_extension(cert.get(), signer, NID_ext_key_usage,
                  kind == CertKind::Server ? "serverAuth" : "clientAuth");
    if (kind == CertKind::Server)
      add_extension(cert.get(), signer, NID_subject_alt_name, subject_alt_names.c_str());
  }
  check(X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256()) > 0, "X509_sign");
  return cert;
}

}  // namespace pki_detail

// A CA that signs serving certificates.
class TestCa {
 public:
  explicit TestCa(const std::string& name = "cdc-guard test CA") : key_(EVP_EC_gen("P-256")), cert_(nullptr) {
    pki_detail::check(key_ != nullptr, "EVP_EC_gen");
    cert_ = pki_detail::make_cert(name, key_.get(), nullptr, nullptr, pki_detail::CertKind::Ca, 1, 86400);
  }
  std::string cert_pem() const { return pki_detail::pem_of(cert_.get()); }

  // A certificate for localhost and 127.0.0.1 signed by this CA, and its key.
  PemPair issue(const std::string& common_name = "localhost", long valid_seconds = 86400) {
    pki_detail::Pkey key(EVP_EC_gen("P-256"));
    pki_detail::check(key != nullptr, "EVP_EC_gen");
    auto cert = pki_detail::make_cert(common_name, key.get(), cert_.get(), key_.get(),
                                      pki_detail::CertKind::Server, ++serial_, valid_seconds);
    return {pki_detail::pem_of(cert.get()), pki_detail::pem_of(key.get())};
  }

  // A serving certificate for other names (`subject_alt_names` in OpenSSL's
  // form: "DNS:a,IP:127.0.0.1").
  PemPair issue_server(const std::string& common_name, const std::string& subject_alt_names,
                       long valid_seconds = 86400) {
    pki_detail::Pkey key(EVP_EC_gen("P-256"));
    pki_detail::check(key != nullptr, "EVP_EC_gen");
    auto cert =
        pki_detail::make_cert(common_name, key.get(), cert_.get(), key_.get(), pki_detail::CertKind::Server,
                              ++serial_, valid_seconds, "", subject_alt_names);
    return {pki_detail::pem_of(cert.get()), pki_detail::pem_of(key.get())};
  }

  // A client certificate: Kubernetes reads the user from CN and a group from O.
  PemPair issue_client(const std::string& common_name, const std::string& organization = "",
                       long valid_seconds = 86400) {
    pki_detail::Pkey key(EVP_EC_gen("P-256"));
    pki_detail::check(key != nullptr, "EVP_EC_gen");
    auto cert = pki_detail::make_cert(common_name, key.get(), cert_.get(), key_.get(),
                                      pki_detail::CertKind::Client, ++serial_, valid_seconds, organization);
    return {pki_detail::pem_of(cert.get()), pki_detail::pem_of(key.get())};
  }

  // A bare key pair in PEM (a service-account signing key, say): the
  // public key in `cert`, the private key in `key`.
  static PemPair new_key_pair() {
    pki_detail::Pkey key(EVP_EC_gen("P-256"));
    pki_detail::check(key != nullptr, "EVP_EC_gen");
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, key.get());
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string public_pem(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return {public_pem, pki_detail::pem_of(key.get())};
  }

 private:
  pki_detail::Pkey key_;
  pki_detail::Cert cert_;
  long serial_ = 1;
};

inline void write_text_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot write " + path.string());
  out << text;
}

// Replaces `path` the way a Secret volume update does: a new file renamed over
// the old one, so no reader ever sees half of it.
inline void replace_file(const std::filesystem::path& path, const std::string& text) {
  const auto temp = path.string() + ".new";
  write_text_file(temp, text);
  std::filesystem::rename(temp, path);
}

}  // namespace cdcguard::testing_support
