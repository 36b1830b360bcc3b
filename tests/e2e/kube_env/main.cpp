// `make kube-env`: the e2e tests' control plane (etcd, kube-apiserver) and
// cdc-guard install (three replicas, webhook configurations), left running
// until Ctrl-C so that a person can poke at it with kubectl.
//
//   cdcguard_kube_env [--strimzi 0.50.0|1.x] [--replicas N] [--dir DIR]
#include <signal.h>
#include <unistd.h>

#include <cstring>
#include <iostream>

#include "e2e/cdcguard_install.hpp"
#include "e2e/control_plane.hpp"

using namespace cdcguard::e2e;

int main(int argc, char** argv) {
  InstallOptions options;
  fs::path dir = fs::temp_directory_path() / "cdc-guard-kube-env";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--strimzi" && has_value) {
      options.strimzi = argv[++i];
    } else if (arg == "--replicas" && has_value) {
      options.replicas = std::atoi(argv[++i]);
    } else if (arg == "--dir" && has_value) {
      dir = argv[++i];
    } else {
      std::cerr << "usage: cdcguard_kube_env [--strimzi 0.50.0|1.x] [--replicas N] [--dir DIR]\n";
      return 2;
    }
  }
  // Block the signals we wait for before any thread starts, then sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  try {
    fs::remove_all(dir);
    fs::create_directories(dir);
    const auto tools = kube_tools_dir();
    std::cerr << "kube-env: starting etcd and kube-apiserver in " << dir.string() << "\n";
    ControlPlane cluster(tools, dir / "cluster");
    std::cerr << "kube-env: installing cdc-guard (" << options.replicas << " replicas, Strimzi CRDs "
              << options.strimzi << ")\n";
    CdcGuardInstall install(cluster, options);
    std::cout << "export KUBECONFIG=" << cluster.admin_kubeconfig().string() << "\n"
              << "export PATH=" << (tools / "bin").string() << ":$PATH\n"
              << "# API server " << cluster.server_url()
              << "; webhook at https://127.0.0.1:" << install.balancer().port()
              << "; the webhook's own kubeconfig (its ServiceAccount): "
              << install.serviceaccount_kubeconfig().string() << "\n"
              << "# logs: " << dir.string()
              << "/cluster/*.log and cluster/cdc-guard/replica-*.log; Ctrl-C stops it all" << std::endl;
    int sig = 0;
    sigwait(&stop_signals, &sig);
    std::cerr << "kube-env: stopping (" << strsignal(sig) << ")\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "kube-env: " << e.what() << "\n";
    return 1;
  }
}
