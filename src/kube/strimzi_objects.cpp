#include "cdcguard/kube/strimzi_objects.hpp"

#include <cctype>

#include "cdcguard/admission/admission_review.hpp"
#include "cdcguard/model/manifest.hpp"

namespace cdcguard::kube {
namespace {

std::string metadata_field(const nlohmann::json& object, const char* field) {
  const auto metadata = object.find("metadata");
  if (metadata == object.end() || !metadata->is_object()) return "";
  const auto value = metadata->find(field);
  return value != metadata->end() && value->is_string() ? value->get<std::string>() : "";
}

// Percent-encodes a continue token for the query string.
std::string query_escape(const std::string& text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace

std::string pick_strimzi_version(const nlohmann::json& group) {
  bool v1 = false;
  bool v1beta2 = false;
  if (const auto versions = group.find("versions"); versions != group.end() && versions->is_array()) {
    for (const auto& v : *versions) {
      const std::string name = v.is_object() ? v.value("version", std::string()) : std::string();
      v1 = v1 || name == "v1";
      v1beta2 = v1beta2 || name == "v1beta2";
    }
  }
  return v1 ? "v1" : v1beta2 ? "v1beta2" : "";
}

std::string discover_strimzi_version(KubeClient& client) {
  const auto response = client.get(std::string("/apis/") + kStrimziGroup);
  if (response.status == 404)
    throw ApiError(std::string("the API group ") + kStrimziGroup +
                   " is not served: are Strimzi's CRDs installed?");
  if (response.status != 200)
    throw ApiError("discovery of " + std::string(kStrimziGroup) + " answered " +
                   std::to_string(response.status) + ": " + status_message(response));
  std::string version;
  try {
    version = pick_strimzi_version(nlohmann::json::parse(response.body));
  } catch (const nlohmann::json::exception& e) {
    throw ApiError("discovery of " + std::string(kStrimziGroup) + ": not JSON: " + e.what());
  }
  if (version.empty()) throw ApiError(std::string(kStrimziGroup) + " serves neither v1 nor v1beta2");
  return version;
}

std::vector<nlohmann::json> list_all(KubeClient& client, const std::string& path, int page_size) {
  for (int attempt = 0;; ++attempt) {
    std::vector<nlohmann::json> items;
    std::string next;
    bool expired = false;
    do {
      std::string query =
          path + (path.find('?') == std::string::npos ? "?" : "&") + "limit=" + std::to_string(page_size);
      if (!next.empty()) query += "&continue=" + query_escape(next);
      const auto response = client.get(query);
      if (response.status == 410 && !next.empty() && attempt == 0) {
        expired = true;  // the continue token outlived the compaction window
        break;
      }
      if (response.status != 200)
        throw ApiError("LIST " + path + " answered " + std::to_string(response.status) + ": " +
                       status_message(response));
      nlohmann::json page;
      try {
        page = nlohmann::json::parse(response.body);
      } catch (const nlohmann::json::exception& e) {
        throw ApiError("LIST " + path + ": the answer is not JSON: " + e.what());
      }
      if (auto found = page.find("items"); found != page.end() && found->is_array()) {
        for (auto& item : *found) items.push_back(std::move(item));
      }
      next.clear();
      if (auto meta = page.find("metadata"); meta != page.end() && meta->is_object())
        next = meta->value("continue", std::string());
    } while (!next.empty());
    if (!expired) return items;
  }
}

std::optional<ConnectorFacts> connector_facts_of(const nlohmann::json& object) {
  std::vector<ManifestError> errors;
  const std::string ns = metadata_field(object, "namespace");
  auto facts = connector_from_object(admission::yaml_from_json(object), {}, ns, errors);
  if (facts) return facts;
  ConnectorFacts unreadable;
  unreadable.namespace_name = ns;
  unreadable.name = metadata_field(object, "name");
  unreadable.uid = metadata_field(object, "uid");
  if (unreadable.namespace_name.empty() || unreadable.name.empty()) return std::nullopt;
  return unreadable;
}

std::optional<ConnectClusterFacts> connect_cluster_facts_of(const nlohmann::json& object) {
  std::vector<ManifestError> errors;
  return connect_cluster_from_object(admission::yaml_from_json(object), {},
                                     metadata_field(object, "namespace"), errors);
}

ClusterView read_cluster_view(KubeClient& client, const std::string& version,
                              const std::vector<std::string>& namespaces) {
  ClusterView view;
  std::vector<std::string> scopes = namespaces;
  if (scopes.empty()) scopes.emplace_back();
  for (const auto& ns : scopes) {
    const std::string base =
        std::string("/apis/") + kStrimziGroup + "/" + version + (ns.empty() ? "" : "/namespaces/" + ns);
    for (const auto& item : list_all(client, base + "/kafkaconnectors")) {
      if (auto facts = connector_facts_of(item)) view.connectors.upsert(std::move(*facts));
    }
    for (const auto& item : list_all(client, base + "/kafkaconnects")) {
      if (auto facts = connect_cluster_facts_of(item)) view.connect_clusters.push_back(std::move(*facts));
    }
  }
  for (const auto& facts : view.connect_clusters) view.connect_index.add(facts);
  return view;
}

std::optional<nlohmann::json> get_configmap(KubeClient& client, const std::string& namespace_name,
                                            const std::string& name) {
  const std::string path = "/api/v1/namespaces/" + namespace_name + "/configmaps/" + name;
  const auto response = client.get(path);
  if (response.status == 404) return std::nullopt;
  if (response.status != 200)
    throw ApiError("GET ConfigMap " + namespace_name + "/" + name + " answered " +
                   std::to_string(response.status) + ": " + status_message(response));
  try {
    return nlohmann::json::parse(response.body);
  } catch (const nlohmann::json::exception& e) {
    throw ApiError("GET ConfigMap " + namespace_name + "/" + name + ": not JSON: " + e.what());
  }
}

}  // namespace cdcguard::kube
