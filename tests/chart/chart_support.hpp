// The Helm chart under test (charts/cdc-guard) and the real helm that renders
// and installs it: $CDCGUARD_HELM, else what scripts/helm-tool.sh prints (it
// builds helm from the pinned module in tools/helm/ the first time).
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "e2e/process.hpp"

namespace cdcguard::chart {

namespace fs = std::filesystem;

fs::path helm_binary();
fs::path chart_dir();

// `helm <args>` with `env` added (KUBECONFIG, say).
e2e::ProcessResult helm(const std::vector<std::string>& args,
                        const std::map<std::string, std::string>& env = {});

// The objects of a multi-document YAML stream (empty documents dropped).
std::vector<YAML::Node> load_objects(const std::string& yaml);

// `helm template <release> charts/cdc-guard -n <ns> <args>`: the objects, or a
// thrown error with helm's output.
std::vector<YAML::Node> render(const std::vector<std::string>& args, const std::string& release = "cdc-guard",
                               const std::string& ns = "cdc-guard");

// The one object of `kind` (and `name` when given); throws when there is not exactly one.
YAML::Node find_one(const std::vector<YAML::Node>& objects, const std::string& kind,
                    const std::string& name = "");
std::size_t count_kind(const std::vector<YAML::Node>& objects, const std::string& kind);

// The cdc-guard container's args of a rendered Deployment.
std::vector<std::string> container_args(const YAML::Node& deployment);

}  // namespace cdcguard::chart
