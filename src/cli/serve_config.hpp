#pragma once

#include <spdlog/common.h>

#include <chrono>
#include <string>
#include <vector>

#include "cdcguard/server/event_log.hpp"
#include "cdcguard/server/webhook_server.hpp"

// What `cdc-guard serve` was asked to do, read from its flags before anything
// starts.
namespace cdcguard::cli {

struct ServeConfig {
  bool help = false;  // -h/--help: print serve_help() and exit 0
  server::ServerOptions server;
  server::LogFormat log_format = server::LogFormat::Text;
  spdlog::level::level_enum log_level = spdlog::level::info;
  // Standalone mode: the registry file. Empty in cluster mode.
  std::string registry_file;
  // Cluster mode: the registry ConfigMap and what to watch.
  std::string configmap_namespace;
  std::string configmap_name;
  std::string kubeconfig;               // "": $KUBECONFIG, the service account, ~/.kube/config
  std::vector<std::string> namespaces;  // empty: all
  std::chrono::milliseconds confirm_interval{10000};
  std::chrono::milliseconds shutdown_delay{5000};

  bool cluster_mode() const { return registry_file.empty(); }
};

// Throws UsageError (with the message `serve` prints before its help) for an
// unknown flag, a missing or malformed value, or flags that do not go together.
ServeConfig parse_serve_args(const std::vector<std::string>& args);

const char* serve_help();

}  // namespace cdcguard::cli
