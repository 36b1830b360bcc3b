#include "cdcguard/kube/credential_provider.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <utility>

namespace cdcguard::kube {

namespace {

class StaticToken final : public CredentialProvider {
 public:
  explicit StaticToken(std::string token) : credential_{std::move(token)} {}
  Credential current() override { return credential_; }
  // The same token again would be refused again.
  bool unauthorized(const Credential&) override { return false; }

 private:
  const Credential credential_;
};

// A bearer token from a file the kubelet rewrites (projected service account
// tokens rotate hourly and the old one expires soon after): re-read when its
// stat changes, looked at every `check_interval`, and at once after a 401.
class TokenFile final : public CredentialProvider {
 public:
  TokenFile(std::string file, std::chrono::milliseconds check_interval, std::shared_ptr<MonotonicClock> clock)
      : file_(std::move(file)), check_interval_(check_interval), clock_(std::move(clock)) {}

  Credential current() override {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto now = clock_->now();
    if (loaded_ && now < next_check_) return {token_};
    next_check_ = now + check_interval_;
    struct stat st {};
    if (::stat(file_.c_str(), &st) != 0) {
      if (loaded_) return {token_};  // keep the last good one; the file may be mid-swap
      throw CredentialError("cannot read the bearer token file " + file_ + ": " + std::strerror(errno));
    }
    const Stamp stamp{st.st_dev, st.st_ino, st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec};
    if (loaded_ && stamp == stamp_) return {token_};
    std::ifstream in(file_, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in) {
      if (loaded_) return {token_};
      throw CredentialError("cannot read the bearer token file " + file_);
    }
    std::string token = text.str();
    while (!token.empty() &&
           (token.back() == '\n' || token.back() == '\r' || token.back() == ' ' || token.back() == '\t')) {
      token.pop_back();
    }
    token_ = std::move(token);
    stamp_ = stamp;
    loaded_ = true;
    return {token_};
  }

  // The kubelet may have rotated the token since it was last read: read the
  // file on the next use whatever the interval and the stat say.
  bool unauthorized(const Credential&) override {
    std::lock_guard<std::mutex> lock(mutex_);
    next_check_ = MonotonicClock::time_point::min();
    stamp_ = Stamp{};
    return true;
  }

 private:
  struct Stamp {
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    time_t sec = 0;
    long nsec = 0;
    bool operator==(const Stamp&) const = default;
  };

  std::mutex mutex_;
  const std::string file_;
  const std::chrono::milliseconds check_interval_;
  const std::shared_ptr<MonotonicClock> clock_;
  std::string token_;
  Stamp stamp_;
  bool loaded_ = false;
  MonotonicClock::time_point next_check_{};
};

// A credential plugin's answer, kept as client-go keeps it (exec.go getCreds):
// until its expirationTimestamp has passed, or without one until the server
// refuses it. The plugin runs under the lock, so concurrent requests wait for
// one run instead of starting several.
class ExecPlugin final : public CredentialProvider {
 public:
  ExecPlugin(ClusterConfig config, CredentialOptions options)
      : config_(std::move(config)), options_(std::move(options)) {
    if (!options_.wall_clock) options_.wall_clock = [] { return std::chrono::system_clock::now(); };
  }

  Credential current() override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cached_ && !expired()) return {cached_->token};
    ExecCredential fresh = run_exec_plugin(config_, options_.exec);
    install_certificate(fresh);
    cached_ = std::move(fresh);
    return {cached_->token};
  }

  // Another request may have got a fresh credential since `used` was sent:
  // that one is kept (exec.go maybeRefreshCreds), else the plugin runs again.
  bool unauthorized(const Credential& used) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cached_ && cached_->token == used.token) cached_.reset();
    return true;
  }

 private:
  bool expired() const { return cached_->expires && options_.wall_clock() > *cached_->expires; }

  void install_certificate(const ExecCredential& fresh) {
    if (fresh.client_certificate_pem.empty()) return;
    if (fresh.client_certificate_pem == installed_cert_ && fresh.client_key_pem == installed_key_) return;
    const ExecPluginConfig& exec = *config_.exec;
    const std::string what = exec.origin + ": exec plugin \"" + exec.command + "\"";
    if (!options_.use_client_certificate) {
      throw CredentialError(what + " returned a client certificate, which this client cannot use");
    }
    try {
      options_.use_client_certificate(fresh.client_certificate_pem, fresh.client_key_pem);
    } catch (const ConfigError& e) {
      throw CredentialError(what + " returned a client certificate and key that cannot be used: " + e.what());
    }
    installed_cert_ = fresh.client_certificate_pem;
    installed_key_ = fresh.client_key_pem;
  }

  std::mutex mutex_;
  const ClusterConfig config_;
  CredentialOptions options_;
  std::optional<ExecCredential> cached_;
  std::string installed_cert_;
  std::string installed_key_;
};

}  // namespace

std::unique_ptr<CredentialProvider> make_credential_provider(const ClusterConfig& config,
                                                             CredentialOptions options) {
  if (config.exec) return std::make_unique<ExecPlugin>(config, std::move(options));
  if (!config.token_file.empty()) {
    return std::make_unique<TokenFile>(config.token_file, options.token_check_interval,
                                       options.clock ? options.clock : steady_monotonic_clock());
  }
  return std::make_unique<StaticToken>(config.token);
}

}  // namespace cdcguard::kube
