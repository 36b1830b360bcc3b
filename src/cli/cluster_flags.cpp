#include "cli/cluster_flags.hpp"

namespace cdcguard::cli {

std::pair<std::string, std::string> configmap_flag(const std::string& value, const char* flag) {
  const auto slash = value.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == value.size() ||
      value.find('/', slash + 1) != std::string::npos)
    throw UsageError(std::string(flag) + " must be NAMESPACE/NAME, got \"" + value + "\"");
  return {value.substr(0, slash), value.substr(slash + 1)};
}

std::vector<std::string> namespaces_flag(const std::string& value) {
  std::vector<std::string> namespaces;
  std::string rest = value;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string ns = rest.substr(0, comma);
    if (ns.empty()) throw UsageError("--namespaces has an empty name in \"" + value + "\"");
    namespaces.push_back(ns);
    rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
  }
  if (namespaces.empty()) throw UsageError("--namespaces needs at least one namespace");
  return namespaces;
}

kube::ClusterConfig cluster_config_from_flags(const ParsedArgs& parsed) {
  std::string kubeconfig;
  if (auto it = parsed.flags.find("--kubeconfig"); it != parsed.flags.end()) {
    if (it->second.empty()) throw UsageError("--kubeconfig needs a file");
    kubeconfig = it->second;
  }
  std::string context;
  if (auto it = parsed.flags.find("--context"); it != parsed.flags.end()) {
    if (it->second.empty()) throw UsageError("--context needs a name");
    context = it->second;
  }
  return kube::resolve_cluster_config(kubeconfig, context);
}

}  // namespace cdcguard::cli
