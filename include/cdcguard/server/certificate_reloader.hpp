#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

// The serving certificate and key, read from PEM files and swapped in when the
// files change (cert-manager rotates the Secret behind them), without a restart
// and without touching connections already established: every new TLS
// handshake picks the current pair through SSL_CTX_set_cert_cb.
namespace cdcguard::server {

class TlsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class CertificateReloader {
 public:
  // Loads the pair; throws TlsError naming the file and what is wrong with it.
  CertificateReloader(std::string cert_path, std::string key_path);

  // TLS 1.2 minimum, no compression or renegotiation, and the callback that
  // hands each handshake the current pair. `ctx` must not outlive this object.
  bool configure(SSL_CTX& ctx);

  enum class Reload { Unchanged, Reloaded, Failed };
  // Reads the files again when either changed (inode, size or mtime). On
  // failure (unreadable, half-written, key not matching the certificate) the
  // previous pair stays in use and last_error() says why.
  Reload reload_if_changed();

  std::string last_error() const;
  std::int64_t not_after() const;  // of the current certificate, Unix seconds
  std::string subject() const;     // of the current certificate, one line

  struct Material;  // leaf, chain and key (OpenSSL objects)

 private:
  static int select_certificate(SSL* ssl, void* self);
  std::shared_ptr<const Material> current() const;

  std::string cert_path_;
  std::string key_path_;
  mutable std::mutex mutex_;
  std::shared_ptr<const Material> material_;
  std::string files_seen_;  // identity of both files when last read
  std::string last_error_;
};

}  // namespace cdcguard::server
