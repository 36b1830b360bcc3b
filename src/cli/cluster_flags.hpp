#pragma once

#include <string>
#include <utility>
#include <vector>

#include "cdcguard/kube/kube_config.hpp"
#include "cli/commands.hpp"

// Flags that name things in a cluster, shared by `serve`, `audit` and
// `registry import`: how to reach it, which ConfigMap, which namespaces.
namespace cdcguard::cli {

// NAMESPACE/NAME, both non-empty; else a UsageError naming `flag`.
std::pair<std::string, std::string> configmap_flag(const std::string& value, const char* flag);

// "a,b,c" -> {a, b, c}; a UsageError for an empty name or an empty list.
std::vector<std::string> namespaces_flag(const std::string& value);

// --kubeconfig FILE and --context NAME, resolved the way kubectl does:
// the file given, else $KUBECONFIG, else in a pod its service account, else
// ~/.kube/config. Throws kube::ConfigError.
kube::ClusterConfig cluster_config_from_flags(const ParsedArgs& parsed);

}  // namespace cdcguard::cli
