#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cdcguard/kube/cluster_cache.hpp"
#include "cdcguard/kube/configmap_registry_store.hpp"
#include "cdcguard/kube/kube_client.hpp"
#include "cdcguard/kube/monotonic_clock.hpp"
#include "cdcguard/model/time.hpp"

// Everything cluster mode runs besides the webhook: the API clients, the
// registry ConfigMap store, the cluster cache and the claim-confirmation loop
// (DESIGN.md "Race-free uniqueness": a Pending claim whose connector the cache
// sees with that id becomes Active).
namespace cdcguard::kube {

// At most about 3 s for one PUT with its retry, the cache's LISTs the default.
ClientOptions claims_client_options();

class ClusterRuntime {
 public:
  struct Options {
    std::string registry_namespace;
    std::string registry_name;
    std::vector<std::string> namespaces;  // watched for connectors; empty: all
    // The cache's LISTs and watches.
    ClientOptions client;
    // Claims are written inside an admission the API server abandons after
    // its 5 s webhook timeout: their requests get a shorter leash (at most
    // about 3 s for one PUT with its retry).
    ClientOptions claims_client = claims_client_options();
    ConfigMapRegistryStore::Options store;
    Informer::Options cache_informer;
    std::chrono::milliseconds confirm_interval{10000};
    // Paces the confirmation loop; null: the steady clock.
    std::shared_ptr<MonotonicClock> clock;
    // Calendar time, for a claim's expiry; null: the system clock, in seconds.
    std::function<TimePoint()> now;
    // Told how many claims a pass confirmed (only when some were), or why it
    // could not write them.
    std::function<void(std::size_t confirmed)> on_confirmed;
    std::function<void(const std::string& error)> on_confirm_error;
  };

  // Throws when the clients cannot be made from `cluster` (e.g. an unreadable CA).
  ClusterRuntime(const ClusterConfig& cluster, Options options);
  ~ClusterRuntime();
  ClusterRuntime(const ClusterRuntime&) = delete;
  ClusterRuntime& operator=(const ClusterRuntime&) = delete;

  // The store's and the cache's informers, then the confirmation loop.
  void start();
  // Idempotent. Stops the watches first: an informer blocked in a watch
  // would otherwise wait out its read timeout.
  void stop();

  // "" when the registry ConfigMap was read and every informer synced; else why not.
  std::string not_ready() const;
  // One confirmation pass (what the loop does every confirm_interval).
  // Returns how many claims it made Active.
  std::size_t confirm_claims_now();

  // The claim writer's and the cluster cache's counters, in Prometheus text.
  std::string metrics() const;

  ConfigMapRegistryStore& store() { return *store_; }
  ClusterCache& cache() { return *cache_; }
  const KubeClient& client() const { return *client_; }
  // The kafka.strimzi.io version in use ("" before discovery).
  std::string strimzi_version() const { return cache_->strimzi_version(); }

 private:
  void confirm_loop();

  Options options_;
  std::shared_ptr<MonotonicClock> clock_;
  std::unique_ptr<KubeClient> client_;
  std::unique_ptr<KubeClient> claims_client_;
  std::unique_ptr<ConfigMapRegistryStore> store_;
  std::unique_ptr<ClusterCache> cache_;

  std::mutex mutex_;
  std::condition_variable_any wake_;
  bool stopping_ = false;
  bool started_ = false;
  std::thread loop_;
};

}  // namespace cdcguard::kube
