// A real Kubernetes control plane for the end-to-end tests, run the way
// controller-runtime's envtest runs one: etcd and kube-apiserver (built from
// the pinned modules in tools/kube/ by scripts/kube-tools.sh) on loopback,
// ephemeral ports, certificates and service-account keys made at start, RBAC
// on, no kubelet or controller-manager; kubectl as the client.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "e2e/process.hpp"
#include "support/test_pki.hpp"

namespace cdcguard::e2e {

namespace fs = std::filesystem;

// The folder holding bin/{etcd,kube-apiserver,kubectl}: $CDCGUARD_KUBE_TOOLS,
// else what scripts/kube-tools.sh prints (it builds them the first time).
fs::path kube_tools_dir();

class ControlPlane {
 public:
  // Starts etcd and kube-apiserver under `dir` and waits for /readyz.
  // Throws with the logs' tails when either does not come up.
  ControlPlane(fs::path tools, fs::path dir);
  ~ControlPlane();
  ControlPlane(const ControlPlane&) = delete;
  ControlPlane& operator=(const ControlPlane&) = delete;

  void stop();

  const fs::path& dir() const { return dir_; }
  const fs::path& admin_kubeconfig() const { return admin_kubeconfig_; }
  std::string server_url() const { return "https://127.0.0.1:" + std::to_string(api_port_); }
  const fs::path& kubectl_path() const { return kubectl_; }

  // kubectl with the admin kubeconfig (system:masters), or another one.
  ProcessResult kubectl(const std::vector<std::string>& args,
                        std::optional<std::string> stdin_text = {}) const;
  ProcessResult kubectl_as(const fs::path& kubeconfig, const std::vector<std::string>& args,
                           std::optional<std::string> stdin_text = {}) const;
  // kubectl that must succeed: its stdout, or a thrown error with both streams.
  std::string must(const std::vector<std::string>& args, std::optional<std::string> stdin_text = {}) const;

  // A kubeconfig for a bearer token (a ServiceAccount's, from `kubectl create token`).
  fs::path write_token_kubeconfig(const std::string& name, const std::string& token) const;

  Daemon& etcd() { return etcd_; }
  Daemon& apiserver() { return apiserver_; }

 private:
  void start_processes();
  bool wait_ready(std::string& last);

  fs::path tools_;
  fs::path dir_;
  fs::path kubectl_;
  fs::path admin_kubeconfig_;
  testing_support::TestCa ca_{"cdc-guard e2e cluster CA"};
  int api_port_ = 0;
  Daemon etcd_;
  Daemon apiserver_;
};

}  // namespace cdcguard::e2e
