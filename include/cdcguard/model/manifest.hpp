#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cdcguard/model/connector.hpp"
#include "cdcguard/model/yaml_document.hpp"

// Strimzi objects found in manifests: multi-document YAML, JSON, `kind: List`.
// Other kinds are passed over.
namespace cdcguard {

struct ManifestError {
  SourceLocation location;
  std::string message;
};

// A ConfigMap whose data holds `registry.yaml` (the registry shipped as a manifest).
struct RegistryConfigMap {
  std::string namespace_name;
  std::string name;
  std::string text;         // data["registry.yaml"]
  SourceLocation location;  // where that text starts
  int line_offset = 0;      // add to a line of `text` to get a line of the file (0: no mapping)
};

struct ManifestSet {
  std::vector<ConnectorFacts> connectors;
  std::vector<ConnectClusterFacts> connect_clusters;
  std::vector<ManifestError> errors;
};

// Facts of one KafkaConnector object (already known to be one). Throws nothing;
// problems go to `errors`. Returns nullopt when the object is unusable.
std::optional<ConnectorFacts> connector_from_object(const YamlNode& object, const SourceLocation& where,
                                                    std::string_view default_namespace,
                                                    std::vector<ManifestError>& errors);
std::optional<ConnectClusterFacts> connect_cluster_from_object(const YamlNode& object,
                                                               const SourceLocation& where,
                                                               std::string_view default_namespace,
                                                               std::vector<ManifestError>& errors);

// The `spec.config` keys the two readers above look at, and the `spec` and
// `metadata` fields: what an admission keeps of an object, so a body is never
// converted beyond what a rule reads (see admission_review.cpp). A key read by
// connector_from_object or connect_cluster_from_object must be listed here
// (they assert it in debug builds).
bool is_rule_config_key(std::string_view key);

// Parses `text` (named `file` in messages) and appends what it finds to `out`.
// A YAML syntax error is recorded with its line; the rest of that file is lost.
void parse_manifests(std::string_view text, const std::string& file, std::string_view default_namespace,
                     ManifestSet& out);

// Same as parse_manifests, and also returns ConfigMaps carrying `registry.yaml`.
std::vector<RegistryConfigMap> find_registry_configmaps(std::string_view text, const std::string& file);
// The same over documents already parsed.
std::vector<RegistryConfigMap> find_registry_configmaps(const std::vector<YamlDocument>& docs,
                                                        const std::string& file);

}  // namespace cdcguard
