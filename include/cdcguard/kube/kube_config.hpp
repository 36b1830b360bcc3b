#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

// Where the Kubernetes API server is and how to authenticate to it: from
// kubeconfig files (merged as kubectl merges them; their current context, or a
// named one) or from inside a pod (the service account). The kube/ layer's
// only contact with the environment.
namespace cdcguard::kube {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A client-go credential plugin (kubeconfig `users[].user.exec`): a program
// that prints an ExecCredential with a token or a client certificate. Its
// `interactiveMode` is checked when the kubeconfig is read and not kept:
// cdc-guard never has a terminal to lend, so the plugin always runs without
// stdin and is told `interactive: false` (`Always` is refused).
struct ExecPluginConfig {
  std::string api_version;  // client.authentication.k8s.io/v1 or /v1beta1
  // An absolute path (a relative one with a slash was resolved against the
  // kubeconfig's directory, as client-go does), or a bare name looked up on PATH.
  std::string command;
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;  // added to cdc-guard's own environment
  std::string install_hint;                              // shown when the command cannot be run
  bool provide_cluster_info = false;                     // put spec.cluster into KUBERNETES_EXEC_INFO
  // The cluster's extension `client.authentication.k8s.io/exec` as JSON (its
  // spec.cluster.config); "" when there is none.
  std::string cluster_config_json;
  std::string origin;  // for messages: `kubeconfig PATH: user "NAME"`
};

struct ClusterConfig {
  std::string server;  // "https://host:port" as configured
  std::string host;    // parsed from server; IPv6 without brackets
  int port = 443;
  std::string ca_pem;  // PEM of the CA(s) to trust; empty: the system's default store
  bool insecure_skip_tls_verify = false;
  // The name sent as SNI and checked against the server's certificate, when it
  // is not `host` (kubeconfig `tls-server-name`); "": `host`.
  std::string tls_server_name;
  std::string token;  // a static bearer token (kubeconfig `token`)
  std::string
      token_file;  // a bearer token file, re-read when it changes (in-cluster; kubeconfig `tokenFile`)
  std::string client_cert_pem;  // client certificate authentication (kubeconfig)
  std::string client_key_pem;
  // A credential plugin; unset when the user has none, and when it also has a
  // token, tokenFile or client certificate (those win, as in client-go).
  std::optional<ExecPluginConfig> exec;
  // For messages: "in-cluster service account", "kubeconfig PATH (context
  // NAME)", or with merged files "kubeconfig PATH (context NAME, cluster from
  // PATH2, user from PATH3)" naming where each entry came from.
  std::string source;
};

// Reads one kubeconfig: the given context, else `current-context`. Supports
// `server`, `certificate-authority` (relative paths resolve against the
// kubeconfig's directory) and `-data`, `insecure-skip-tls-verify`,
// `tls-server-name`, `token`, `tokenFile`, `client-certificate`/`-data`,
// `client-key`/`-data` and `exec` credential plugins
// (client.authentication.k8s.io/v1 and v1beta1). Throws ConfigError naming
// the file, the entry and what is missing or wrong; `auth-provider`, basic
// authentication and `proxy-url` are refused with a clear message.
ClusterConfig load_kubeconfig(const std::string& path, const std::string& context = "");

// Several kubeconfigs merged the way kubectl merges the files of $KUBECONFIG:
// a cluster, user or context is taken from the first file that defines that
// name; `current-context` from the first file that sets it; relative paths
// resolve against the directory of the file the entry came from. Files that
// do not exist are skipped (repeated ones are read once); none existing, or
// one that cannot be read or parsed, is a ConfigError.
ClusterConfig load_kubeconfig_files(const std::vector<std::string>& paths, const std::string& context = "");

// Inside a pod: KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT, the token
// file and CA under `secrets_dir`. Throws ConfigError when not in a pod.
ClusterConfig in_cluster_config(
    const std::string& secrets_dir = "/var/run/secrets/kubernetes.io/serviceaccount");

// The order client-go uses for a controller: `--kubeconfig PATH` when given
// (that file alone), else the files of $KUBECONFIG (`:`-separated) merged,
// else in-cluster when KUBERNETES_SERVICE_HOST is set, else ~/.kube/config.
// A `context` (kubectl's --context) picks a kubeconfig's context instead of
// its current-context, and rules out the in-cluster service account.
ClusterConfig resolve_cluster_config(const std::string& kubeconfig_flag, const std::string& context = "");

}  // namespace cdcguard::kube
