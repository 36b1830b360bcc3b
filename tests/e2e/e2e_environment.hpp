// The one control plane (and cdc-guard install) an e2e test binary shares:
// started once before the first test, stopped after the last. Each test
// works in namespaces of its own, so tests do not see each other's
// connectors, but they share the registry, as teams do.
//
//   CDCGUARD_E2E_STRIMZI  "0.50.0" (default: v1 and v1beta2 served) or "1.x" (v1 only)
//   CDCGUARD_KUBE_TOOLS   the folder of bin/{etcd,kube-apiserver,kubectl} (default:
//                         what scripts/kube-tools.sh prints, building them if needed)
//   CDCGUARD_E2E_KEEP=1   keep the working folder (logs, kubeconfigs) afterwards
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "e2e/cdcguard_install.hpp"
#include "e2e/control_plane.hpp"

namespace cdcguard::e2e {

struct E2eWorld {
  fs::path dir;
  std::string strimzi;
  std::unique_ptr<ControlPlane> cluster;
  std::unique_ptr<CdcGuardInstall> install;
};

// The shared world; valid inside tests.
E2eWorld& world();

// A KafkaConnector manifest for a Debezium MySQL connector. `extra_metadata`
// lines follow the labels (strimzi.io/cluster, at 4 spaces): more labels at 4
// spaces, other metadata at 2.
struct ConnectorSpec {
  std::string ns;
  std::string name;  // empty with generate_name set
  std::string generate_name;
  std::string api_version = "kafka.strimzi.io/v1";
  std::optional<long> server_id;  // nullopt: no database.server.id (auto-assign)
  std::string topic_prefix;       // default: ns.name
  std::string history_topic;      // default: schema-history.<prefix>; "-" for none
  std::string hostname = "mysql.shared.svc";
  std::string extra_metadata;  // more lines under metadata, indented by 2
};
std::string connector_yaml(const ConnectorSpec& spec);

// A fresh namespace for a test (name made unique by a counter).
std::string new_namespace(const std::string& stem);

}  // namespace cdcguard::e2e
