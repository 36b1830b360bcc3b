#include "cdcguard/server/certificate_reloader.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace cdcguard::server {

struct CertificateReloader::Material {
  X509* leaf = nullptr;
  STACK_OF(X509) * chain = nullptr;
  EVP_PKEY* key = nullptr;
  std::int64_t not_after = 0;
  std::string subject;
  Material() = default;
  Material(const Material&) = delete;
  Material& operator=(const Material&) = delete;
  ~Material() {
    X509_free(leaf);
    sk_X509_pop_free(chain, X509_free);
    EVP_PKEY_free(key);
  }
};

namespace {

std::string openssl_error() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "no PEM data found";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return buf;
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

File open_pem(const std::string& path, const char* what) {
  File f(std::fopen(path.c_str(), "rb"));
  if (!f) throw TlsError(std::string("cannot read TLS ") + what + " " + path + ": " + std::strerror(errno));
  return f;
}

std::shared_ptr<const CertificateReloader::Material> load(const std::string& cert_path,
                                                          const std::string& key_path) {
  auto m = std::make_shared<CertificateReloader::Material>();
  ERR_clear_error();
  {
    File f = open_pem(cert_path, "certificate");
    m->leaf = PEM_read_X509(f.get(), nullptr, nullptr, nullptr);
    if (!m->leaf) throw TlsError("no certificate in " + cert_path + ": " + openssl_error());
    m->chain = sk_X509_new_null();
    while (X509* extra = PEM_read_X509(f.get(), nullptr, nullptr, nullptr)) sk_X509_push(m->chain, extra);
    ERR_clear_error();  // the end of the file reads as an error
  }
  {
    File f = open_pem(key_path, "key");
    m->key = PEM_read_PrivateKey(f.get(), nullptr, nullptr, nullptr);
    if (!m->key) throw TlsError("no private key in " + key_path + ": " + openssl_error());
  }
  if (X509_check_private_key(m->leaf, m->key) != 1) {
    ERR_clear_error();
    throw TlsError("the key in " + key_path + " does not match the certificate in " + cert_path);
  }
  const ASN1_TIME* end = X509_get0_notAfter(m->leaf);
  struct tm t {};
  if (end && ASN1_TIME_to_tm(end, &t) == 1) m->not_after = static_cast<std::int64_t>(timegm(&t));
  char subject[256];
  X509_NAME_oneline(X509_get_subject_name(m->leaf), subject, sizeof subject);
  m->subject = subject;
  return m;
}

// Device, inode, size and mtime of both files (stat follows the symlinks a
// Kubernetes Secret volume swaps atomically).
std::string identity(const std::string& cert_path, const std::string& key_path) {
  std::string out;
  for (const std::string* p : {&cert_path, &key_path}) {
    struct stat st {};
    if (::stat(p->c_str(), &st) != 0) {
      out += "missing;";
      continue;
    }
    out += std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) +
           ":" + std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + ";";
  }
  return out;
}

}  // namespace

CertificateReloader::CertificateReloader(std::string cert_path, std::string key_path)
    : cert_path_(std::move(cert_path)), key_path_(std::move(key_path)) {
  files_seen_ = identity(cert_path_, key_path_);
  material_ = load(cert_path_, key_path_);
}

bool CertificateReloader::configure(SSL_CTX& ctx) {
  if (SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION) != 1) return false;
  SSL_CTX_set_options(&ctx,
                      SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_cert_cb(&ctx, &CertificateReloader::select_certificate, this);
  return true;
}

int CertificateReloader::select_certificate(SSL* ssl, void* self) {
  const auto m = static_cast<CertificateReloader*>(self)->current();
  // SSL_use_cert_and_key takes its own references: a reload later frees nothing in use.
  return SSL_use_cert_and_key(ssl, m->leaf, m->key, m->chain, 1) == 1 ? 1 : 0;
}

std::shared_ptr<const CertificateReloader::Material> CertificateReloader::current() const {
  std::lock_guard guard(mutex_);
  return material_;
}

CertificateReloader::Reload CertificateReloader::reload_if_changed() {
  const std::string seen = identity(cert_path_, key_path_);
  {
    std::lock_guard guard(mutex_);
    if (seen == files_seen_) return Reload::Unchanged;
  }
  try {
    auto fresh = load(cert_path_, key_path_);
    std::lock_guard guard(mutex_);
    material_ = std::move(fresh);
    files_seen_ = seen;
    last_error_.clear();
    return Reload::Reloaded;
  } catch (const TlsError& e) {
    // Not remembered as seen: cert-manager may have written one file of two;
    // the next poll tries again.
    std::lock_guard guard(mutex_);
    const bool repeated = last_error_ == e.what();
    last_error_ = e.what();
    return repeated ? Reload::Unchanged : Reload::Failed;
  }
}

std::string CertificateReloader::last_error() const {
  std::lock_guard guard(mutex_);
  return last_error_;
}

std::int64_t CertificateReloader::not_after() const {
  return current()->not_after;
}

std::string CertificateReloader::subject() const {
  return current()->subject;
}

}  // namespace cdcguard::server
