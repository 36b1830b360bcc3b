#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cdcguard/kube/kube_client.hpp"
#include "cdcguard/model/connector.hpp"
#include "cdcguard/policy/cluster_view.hpp"

// Reading Strimzi objects and ConfigMaps from the API server in one go (the
// audit and the import; the webhook keeps them current with informers
// instead): discovery, paged LISTs, and the facts of each object.
namespace cdcguard::kube {

inline constexpr const char* kStrimziGroup = "kafka.strimzi.io";

// The version of kafka.strimzi.io to read from a discovery document of the
// group: "v1" when served (Strimzi 0.49+), else "v1beta2", else "".
std::string pick_strimzi_version(const nlohmann::json& group);
// GET /apis/kafka.strimzi.io and pick_strimzi_version(). Throws ApiError
// saying why (the group not served: Strimzi's CRDs missing).
std::string discover_strimzi_version(KubeClient& client);

// Every item of a LIST, in pages of `page_size` (limit and continue, as the
// API server serves large collections); starts over once if a continue token
// expired (410). Throws ApiError naming the path and the server's message.
std::vector<nlohmann::json> list_all(KubeClient& client, const std::string& path, int page_size = 500);

// The facts of a KafkaConnector as the API server sends it. One whose facts
// cannot be read is kept as an object that exists (no class, no id): no rule
// judges it and the reconciler does not take it for deleted. nullopt without
// a namespace and name.
std::optional<ConnectorFacts> connector_facts_of(const nlohmann::json& object);
std::optional<ConnectClusterFacts> connect_cluster_facts_of(const nlohmann::json& object);

// The KafkaConnectors and KafkaConnects of `namespaces` (empty: all), read
// now with list_all(): a ClusterView as the cluster cache would hold it.
// `version`: from discover_strimzi_version().
ClusterView read_cluster_view(KubeClient& client, const std::string& version,
                              const std::vector<std::string>& namespaces);

// A ConfigMap: nullopt when it does not exist; throws ApiError otherwise.
std::optional<nlohmann::json> get_configmap(KubeClient& client, const std::string& namespace_name,
                                            const std::string& name);

}  // namespace cdcguard::kube
