#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "cdcguard/kube/kube_client.hpp"
#include "cdcguard/kube/kube_informer.hpp"
#include "cdcguard/model/connector.hpp"
#include "cdcguard/policy/cluster_view.hpp"
#include "cdcguard/policy/connector_index.hpp"
#include "cdcguard/policy/rules.hpp"

// The cluster as the rules see it: every KafkaConnector's and KafkaConnect's
// facts (not whole objects), kept current by informers, in the version of
// kafka.strimzi.io the cluster serves (v1 preferred, else v1beta2).
namespace cdcguard::kube {

class ClusterCache {
 public:
  struct Options {
    std::vector<std::string> namespaces;  // empty: all namespaces
    Informer::Options informer;           // its backoff and clock serve discovery too
    // Called after every LIST and watch event, without the cache's lock held
    // (the reconciler wakes on it).
    std::function<void()> on_change;
  };
  ClusterCache(KubeClient& client, Options options);
  ~ClusterCache();
  ClusterCache(const ClusterCache&) = delete;
  ClusterCache& operator=(const ClusterCache&) = delete;

  // Discovery (retried in the background until it succeeds), then the informers.
  void start();
  void stop();
  // Every informer has listed once.
  bool synced() const;
  // Why it is not synced, for /readyz and logs.
  std::string status() const;
  // The kafka.strimzi.io version in use ("" before discovery).
  std::string strimzi_version() const;
  std::shared_ptr<const ClusterView> snapshot() const;

 private:
  struct Scope;
  void discover_and_watch();
  void replace(bool connectors, const std::string& namespace_name, const std::vector<nlohmann::json>& items);
  void apply(bool connectors, std::string_view type, const nlohmann::json& object);

  KubeClient& client_;
  Options options_;
  mutable std::mutex mutex_;                             // guards everything below
  std::map<std::string, ConnectorFacts> connectors_;     // by namespace/name
  std::map<std::string, ConnectClusterFacts> clusters_;  // by namespace/name
  mutable std::shared_ptr<const ClusterView> built_;     // null when a change came since
  std::string version_;
  std::string discovery_error_;
  std::vector<std::unique_ptr<Informer>> informers_;
  bool stopping_ = false;
  std::stop_source stop_source_;  // ends discovery's backoff pause at once
  std::thread starter_;
};

}  // namespace cdcguard::kube
