#pragma once

#include <spdlog/common.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
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
  // Split mode (--policy-configmap; DESIGN.md "Policy and state"): the policy
  // ConfigMap, read only; the one above then holds the state. Empty: none.
  std::string policy_namespace;
  std::string policy_name;
  std::string kubeconfig;               // "": $KUBECONFIG, the service account, ~/.kube/config
  std::vector<std::string> namespaces;  // empty: all
  // The reconciler (DESIGN.md "The reconciler"): this cluster's name in the
  // registry, and how often it passes over everything besides watch events.
  std::string cluster_name = "default";
  std::chrono::milliseconds resync_period{60000};
  // The audit on the leader: at most this often, and whether it writes Warning Events.
  std::chrono::milliseconds audit_period{60000};
  bool audit_events = true;
  // Leader election on a coordination.k8s.io/v1 Lease: one replica reconciles.
  bool leader_election = true;
  std::string lease_namespace;  // default: the registry ConfigMap's
  std::string lease_name = "cdc-guard-reconciler";
  std::chrono::milliseconds lease_duration{15000};
  std::chrono::milliseconds renew_deadline{10000};
  std::chrono::milliseconds retry_period{2000};
  std::chrono::milliseconds shutdown_delay{5000};

  bool cluster_mode() const { return registry_file.empty(); }
  bool split_mode() const { return !policy_name.empty(); }
};

// Throws UsageError (with the message `serve` prints before its help) for an
// unknown flag, a missing or malformed value, or flags that do not go together.
ServeConfig parse_serve_args(const std::vector<std::string>& args);

const char* serve_help();

// A Go-style duration: numbers with units ms, s, m, h ("1m30s", "500ms"), or a
// bare number of seconds. nullopt when malformed.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
// The shortest such text for `d` ("15s", "2m", "500ms").
std::string format_duration(std::chrono::milliseconds d);

}  // namespace cdcguard::cli
