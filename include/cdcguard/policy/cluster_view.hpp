#pragma once

#include <vector>

#include "cdcguard/model/connector.hpp"
#include "cdcguard/policy/connector_index.hpp"
#include "cdcguard/policy/rules.hpp"

namespace cdcguard {

// The other connectors and Connect clusters an admission is judged against:
// in a cluster, what the informers saw. One immutable version, shared by every
// admission that reads it.
struct ClusterView {
  ConnectorIndex connectors;
  std::vector<ConnectClusterFacts> connect_clusters;  // by namespace/name
  ConnectClusterIndex connect_index;                  // over connect_clusters
};

}  // namespace cdcguard
