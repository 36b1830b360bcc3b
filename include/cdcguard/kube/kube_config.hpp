#pragma once

#include <stdexcept>
#include <string>

// Where the Kubernetes API server is and how to authenticate to it: from a
// kubeconfig file (its current context, or a named one) or from inside a pod
// (the service account). The kube/ layer's only contact with the environment.
namespace cdcguard::kube {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ClusterConfig {
  std::string server;  // "https://host:port" as configured
  std::string host;    // parsed from server; IPv6 without brackets
  int port = 443;
  std::string ca_pem;  // PEM of the CA(s) to trust; empty: the system's default store
  bool insecure_skip_tls_verify = false;
  std::string token;  // a static bearer token (kubeconfig `token`)
  std::string
      token_file;  // a bearer token file, re-read when it changes (in-cluster; kubeconfig `tokenFile`)
  std::string client_cert_pem;  // client certificate authentication (kubeconfig)
  std::string client_key_pem;
  std::string source;  // for messages: "in-cluster service account" or "kubeconfig PATH (context NAME)"
};

// Reads a kubeconfig: the given context, else `current-context`. Supports
// `certificate-authority` (relative paths resolve against the kubeconfig's
// directory) and `-data`, `insecure-skip-tls-verify`, `token`, `tokenFile`,
// `client-certificate`/`-data`, `client-key`/`-data`. Throws ConfigError naming
// the file and what is missing or wrong (exec and auth-provider plugins are
// refused with a clear message).
ClusterConfig load_kubeconfig(const std::string& path, const std::string& context = "");

// Inside a pod: KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT, the token
// file and CA under `secrets_dir`. Throws ConfigError when not in a pod.
ClusterConfig in_cluster_config(
    const std::string& secrets_dir = "/var/run/secrets/kubernetes.io/serviceaccount");

// The order client-go uses for a controller: `--kubeconfig PATH` when given,
// else the first file in $KUBECONFIG, else in-cluster when
// KUBERNETES_SERVICE_HOST is set, else ~/.kube/config.
ClusterConfig resolve_cluster_config(const std::string& kubeconfig_flag);

}  // namespace cdcguard::kube
