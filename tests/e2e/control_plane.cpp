#include "e2e/control_plane.hpp"

#include <cstdlib>
#include <stdexcept>
#include <thread>

namespace cdcguard::e2e {

namespace {

// Hang guards only: a healthy control plane is ready in seconds; a machine
// under load may take much longer, and that is not what these tests judge.
constexpr auto kReadyGuard = std::chrono::seconds(180);

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string kubeconfig_text(const std::string& server, const fs::path& ca, const std::string& user_block) {
  return "apiVersion: v1\nkind: Config\n"
         "clusters:\n- name: e2e\n  cluster:\n    server: " +
         server + "\n    certificate-authority: " + ca.string() +
         "\n"
         "users:\n- name: user\n  user:\n" +
         user_block +
         "contexts:\n- name: e2e\n  context: {cluster: e2e, user: user}\n"
         "current-context: e2e\n";
}

}  // namespace

fs::path kube_tools_dir() {
  if (const char* given = std::getenv("CDCGUARD_KUBE_TOOLS"); given && *given) return given;
  RunSpec spec;
  spec.argv = {"/bin/bash", std::string(CDCGUARD_SOURCE_DIR) + "/scripts/kube-tools.sh"};
  spec.timeout = std::chrono::seconds(3600);
  const auto r = run_process(spec);
  if (!r.ok()) throw std::runtime_error("scripts/kube-tools.sh failed: " + r.describe());
  // The folder is the last line it prints.
  const std::string out = trim(r.out);
  const auto newline = out.rfind('\n');
  return newline == std::string::npos ? out : out.substr(newline + 1);
}

ControlPlane::ControlPlane(fs::path tools, fs::path dir)
    : tools_(std::move(tools)), dir_(std::move(dir)), kubectl_(tools_ / "bin" / "kubectl") {
  for (const char* bin : {"etcd", "kube-apiserver", "kubectl"}) {
    if (!fs::exists(tools_ / "bin" / bin))
      throw std::runtime_error((tools_ / "bin" / bin).string() + " is missing: run scripts/kube-tools.sh");
  }
  fs::create_directories(dir_ / "pki");
  const auto pki = dir_ / "pki";
  write_file(pki / "ca.crt", ca_.cert_pem());
  const auto serving = ca_.issue_server("kube-apiserver",
                                        "DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,"
                                        "DNS:kubernetes.default.svc,IP:127.0.0.1,IP:10.0.0.1");
  write_file(pki / "apiserver.crt", serving.cert);
  write_file(pki / "apiserver.key", serving.key);
  const auto admin = ca_.issue_client("e2e-admin", "system:masters");
  write_file(pki / "admin.crt", admin.cert);
  write_file(pki / "admin.key", admin.key);
  const auto service_account = testing_support::TestCa::new_key_pair();
  write_file(pki / "sa.pub", service_account.cert);
  write_file(pki / "sa.key", service_account.key);

  // A port taken between free_port() and the bind is retried with new ones.
  std::string last;
  for (int attempt = 1;; ++attempt) {
    start_processes();
    if (wait_ready(last)) break;
    const std::string logs = "\n--- etcd ---\n" + etcd_.log_tail() + "\n--- kube-apiserver ---\n" +
                             apiserver_.log_tail() + "\n--- last /readyz ---\n" + last;
    stop();
    if (attempt == 3) throw std::runtime_error("the control plane did not become ready" + logs);
  }
}

ControlPlane::~ControlPlane() {
  stop();
}

void ControlPlane::stop() {
  apiserver_.stop(std::chrono::seconds(10));
  etcd_.stop(std::chrono::seconds(10));
}

void ControlPlane::start_processes() {
  const auto pki = dir_ / "pki";
  const int etcd_port = free_port();
  const int peer_port = free_port();
  api_port_ = free_port();
  const auto data = dir_ / "etcd-data";
  fs::remove_all(data);
  const std::string peer = "http://127.0.0.1:" + std::to_string(peer_port);
  const std::string client = "http://127.0.0.1:" + std::to_string(etcd_port);
  RunSpec etcd;
  etcd.argv = {(tools_ / "bin" / "etcd").string(),
               "--name=e2e",
               "--data-dir=" + data.string(),
               "--listen-client-urls=" + client,
               "--advertise-client-urls=" + client,
               "--listen-peer-urls=" + peer,
               "--initial-advertise-peer-urls=" + peer,
               "--initial-cluster=e2e=" + peer,
               "--unsafe-no-fsync=true",
               "--log-level=warn"};
  etcd_ = Daemon(etcd, dir_ / "etcd.log");

  RunSpec api;
  api.argv = {(tools_ / "bin" / "kube-apiserver").string(),
              "--etcd-servers=" + client,
              "--bind-address=127.0.0.1",
              "--advertise-address=127.0.0.1",
              "--secure-port=" + std::to_string(api_port_),
              "--tls-cert-file=" + (pki / "apiserver.crt").string(),
              "--tls-private-key-file=" + (pki / "apiserver.key").string(),
              "--client-ca-file=" + (pki / "ca.crt").string(),
              "--authorization-mode=RBAC",
              "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
              "--service-account-key-file=" + (pki / "sa.pub").string(),
              "--service-account-signing-key-file=" + (pki / "sa.key").string(),
              "--service-cluster-ip-range=10.0.0.0/24",
              "--allow-privileged=true",
              "--cert-dir=" + (dir_ / "apiserver-certs").string(),
              "--v=0"};
  apiserver_ = Daemon(api, dir_ / "kube-apiserver.log");

  admin_kubeconfig_ = dir_ / "admin.kubeconfig";
  write_file(admin_kubeconfig_,
             kubeconfig_text(server_url(), pki / "ca.crt",
                             "    client-certificate: " + (pki / "admin.crt").string() +
                                 "\n    client-key: " + (pki / "admin.key").string() + "\n"));
}

bool ControlPlane::wait_ready(std::string& last) {
  const auto deadline = std::chrono::steady_clock::now() + kReadyGuard;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!etcd_.running() || !apiserver_.running()) {
      last = "a process exited";
      return false;
    }
    const auto r = kubectl({"get", "--raw=/readyz", "--request-timeout=5s"});
    if (r.ok() && trim(r.out) == "ok") return true;
    last = r.describe();
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return false;
}

ProcessResult ControlPlane::kubectl(const std::vector<std::string>& args,
                                    std::optional<std::string> stdin_text) const {
  return kubectl_as(admin_kubeconfig_, args, std::move(stdin_text));
}

ProcessResult ControlPlane::kubectl_as(const fs::path& kubeconfig, const std::vector<std::string>& args,
                                       std::optional<std::string> stdin_text) const {
  RunSpec spec;
  spec.argv = {kubectl_.string(), "--kubeconfig=" + kubeconfig.string()};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.stdin_text = std::move(stdin_text);
  // kubectl keeps a discovery cache; one per control plane, never the user's.
  spec.env["KUBECACHEDIR"] = (dir_ / "kubectl-cache").string();
  spec.env["HOME"] = dir_.string();
  spec.timeout = std::chrono::seconds(120);
  return run_process(spec);
}

std::string ControlPlane::must(const std::vector<std::string>& args,
                               std::optional<std::string> stdin_text) const {
  const auto r = kubectl(args, std::move(stdin_text));
  if (!r.ok()) {
    std::string cmd = "kubectl";
    for (const auto& a : args) cmd += " " + a;
    throw std::runtime_error(cmd + ": " + r.describe());
  }
  return r.out;
}

fs::path ControlPlane::write_token_kubeconfig(const std::string& name, const std::string& token) const {
  const auto path = dir_ / (name + ".kubeconfig");
  write_file(path,
             kubeconfig_text(server_url(), dir_ / "pki" / "ca.crt", "    token: " + trim(token) + "\n"));
  return path;
}

}  // namespace cdcguard::e2e
