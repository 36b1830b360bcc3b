#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "cdcguard/kube/exec_credential.hpp"
#include "cdcguard/kube/kube_config.hpp"
#include "cdcguard/kube/monotonic_clock.hpp"

// Where KubeClient's credentials come from, behind one interface: a static
// token, a token file the kubelet rotates, or a credential plugin whose
// answer is cached until it expires. Each says what a 401 from the API server
// means for it, so the client retries only when a retry can carry something
// new.
namespace cdcguard::kube {

struct Credential {
  std::string token;  // the bearer token; "" for none
  bool operator==(const Credential&) const = default;
};

class CredentialProvider {
 public:
  virtual ~CredentialProvider() = default;
  // The credential for the next request. Thread-safe; throws CredentialError
  // when there is none to be had.
  virtual Credential current() = 0;
  // The API server answered 401 to a request that carried `used`. Returns
  // true when the next current() may differ (the file is read again, the
  // plugin runs again), so that the request is worth one more try.
  virtual bool unauthorized(const Credential& used) = 0;
};

struct CredentialOptions {
  std::chrono::milliseconds token_check_interval{1000};  // how often a token file is re-checked
  std::shared_ptr<MonotonicClock> clock;                 // for that interval; null: the steady clock
  // Wall time, against a plugin credential's expirationTimestamp; null: the
  // system clock.
  std::function<std::chrono::system_clock::time_point()> wall_clock;
  ExecPluginLimits exec;
  // Called (under the provider's lock, so in order) when a plugin returns a
  // client certificate and key other than the last ones; it installs them in
  // the transport and throws ConfigError when they cannot be used.
  std::function<void(const std::string& cert_pem, const std::string& key_pem)> use_client_certificate;
};

// The provider `config` calls for: its exec plugin when set, else its token
// file, else its static token (maybe none).
std::unique_ptr<CredentialProvider> make_credential_provider(const ClusterConfig& config,
                                                             CredentialOptions options);

}  // namespace cdcguard::kube
