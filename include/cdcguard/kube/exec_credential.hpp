#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cdcguard/kube/http_transport.hpp"
#include "cdcguard/kube/kube_config.hpp"
#include "cdcguard/kube/monotonic_clock.hpp"

// client-go credential plugins (kubeconfig `users[].user.exec`), as
// k8s.io/client-go/plugin/pkg/client/auth/exec runs them: the program gets
// the ExecCredential request in KUBERNETES_EXEC_INFO and prints an
// ExecCredential whose status holds a token or a client certificate and key,
// and when they expire. Caching and refreshing are CredentialProvider's
// (credential_provider.hpp); this is one run.
namespace cdcguard::kube {

// No credential could be had: a plugin failed, a token file cannot be read.
// An ApiError, because no request can be made without one; the message names
// the kubeconfig, the user and what went wrong, never a secret.
class CredentialError : public ApiError {
 public:
  using ApiError::ApiError;
};

// What a plugin returned (ExecCredential status).
struct ExecCredential {
  std::string token;
  std::string client_certificate_pem;
  std::string client_key_pem;
  // Unset: valid until the API server refuses it.
  std::optional<std::chrono::system_clock::time_point> expires;
};

// The ExecCredential request given to the plugin in KUBERNETES_EXEC_INFO:
// kind, apiVersion, spec.interactive (always false: no terminal), and with
// provideClusterInfo spec.cluster (server, tls-server-name,
// insecure-skip-tls-verify, certificate-authority-data and the cluster's
// client.authentication.k8s.io/exec extension as `config`). Pure.
std::string exec_credential_request(const ClusterConfig& config);

// Reads what a plugin printed for a request of `api_version`: an
// ExecCredential of that very apiVersion with a token or a certificate and
// key (both), and an optional RFC 3339 expirationTimestamp. Throws
// std::invalid_argument saying what is wrong (without quoting the output: it
// holds secrets). Pure.
ExecCredential parse_exec_credential(std::string_view output, std::string_view api_version);

struct ExecPluginLimits {
  // A plugin still running after this is killed (with what it started).
  std::chrono::milliseconds timeout{30000};
  std::size_t max_output = std::size_t{1} << 20;  // bytes of stdout; a plugin printing more is killed
  std::shared_ptr<MonotonicClock> clock;          // measures the timeout; null: the steady clock
};

// Runs `config.exec` (which must be set) once: its environment is ours plus
// its `env` plus KUBERNETES_EXEC_INFO, stdin is /dev/null, and its stderr is
// passed on to ours when it succeeds. Throws CredentialError naming the
// kubeconfig, the user and the command and saying what went wrong: not found
// (with the installHint), exit code and the last lines of stderr, a timeout,
// output that is no ExecCredential of the right apiVersion, no token.
ExecCredential run_exec_plugin(const ClusterConfig& config, const ExecPluginLimits& limits);

}  // namespace cdcguard::kube
