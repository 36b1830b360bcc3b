#include "cdcguard/kube/cluster_runtime.hpp"

#include <utility>

#include "cdcguard/policy/claim_confirmation.hpp"
#include "cdcguard/store/registry_store.hpp"

namespace cdcguard::kube {

ClientOptions claims_client_options() {
  ClientOptions claims;
  claims.request_timeout = std::chrono::milliseconds(1500);
  claims.max_attempts = 2;
  claims.backoff_max = std::chrono::milliseconds(200);
  return claims;
}

ClusterRuntime::ClusterRuntime(const ClusterConfig& cluster, Options options)
    : options_(std::move(options)),
      clock_(options_.clock ? options_.clock : steady_monotonic_clock()),
      client_(std::make_unique<KubeClient>(cluster, options_.client)),
      claims_client_(std::make_unique<KubeClient>(cluster, options_.claims_client)) {
  if (!options_.now)
    options_.now = [] { return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()); };
  store_ = std::make_unique<ConfigMapRegistryStore>(*claims_client_, options_.registry_namespace,
                                                    options_.registry_name, options_.store);
  cache_ = std::make_unique<ClusterCache>(
      *client_, ClusterCache::Options{options_.namespaces, options_.cache_informer});
}

ClusterRuntime::~ClusterRuntime() {
  stop();
}

void ClusterRuntime::start() {
  store_->start();
  cache_->start();
  std::lock_guard guard(mutex_);
  if (started_ || stopping_) return;
  started_ = true;
  loop_ = std::thread([this] { confirm_loop(); });
}

void ClusterRuntime::stop() {
  {
    std::lock_guard guard(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (loop_.joinable()) loop_.join();
  client_->stop_streams();
  claims_client_->stop_streams();
  cache_->stop();
  store_->stop();
}

std::string ClusterRuntime::not_ready() const {
  if (!store_->synced()) return store_->status();
  if (!cache_->synced()) return cache_->status();
  return "";
}

// Every replica may do this: the write is a compare-and-swap and the change
// is the same, so a second replica finds nothing left to do.
std::size_t ClusterRuntime::confirm_claims_now() {
  if (!store_->synced() || !cache_->synced()) return 0;
  try {
    const auto view = cache_->snapshot();
    const TimePoint now = options_.now();
    if (confirmable_claims(store_->snapshot()->registry, view->connectors, now) == 0) return 0;
    std::size_t confirmed = 0;
    store_->update([&](Registry& registry) {
      confirmed = confirm_claims(registry, view->connectors, now);
      return confirmed > 0;
    });
    if (confirmed > 0 && options_.on_confirmed) options_.on_confirmed(confirmed);
    return confirmed;
  } catch (const StoreError& e) {
    if (options_.on_confirm_error) options_.on_confirm_error(e.what());
    return 0;
  }
}

void ClusterRuntime::confirm_loop() {
  std::unique_lock lock(mutex_);
  auto next = clock_->now() + options_.confirm_interval;
  while (!stopping_) {
    clock_->wait_until(lock, wake_, next, [this] { return stopping_; });
    if (stopping_) break;
    if (clock_->now() < next) continue;
    lock.unlock();
    confirm_claims_now();
    lock.lock();
    next = clock_->now() + options_.confirm_interval;
  }
}

std::string ClusterRuntime::metrics() const {
  const auto stats = store_->stats();
  const auto view = cache_->snapshot();
  std::string out;
  const auto metric = [&](const char* name, const char* type, const char* help, long long value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
           std::to_string(value) + "\n";
  };
  metric("cdcguard_registry_claim_changes_total", "counter",
         "Registry changes (claims, confirmations) handed to the ConfigMap writer.", stats.changes);
  metric("cdcguard_registry_write_batches_total", "counter", "Batches of changes the ConfigMap writer took.",
         stats.batches);
  metric("cdcguard_registry_puts_total", "counter", "PUTs of the registry ConfigMap.", stats.puts);
  metric("cdcguard_registry_conflicts_total", "counter",
         "PUTs answered 409 Conflict (another replica wrote first).", stats.conflicts);
  metric("cdcguard_cluster_cache_synced", "gauge",
         "1 when every informer has listed once and the registry ConfigMap was read.",
         cache_->synced() && store_->synced() ? 1 : 0);
  metric("cdcguard_cluster_connectors", "gauge", "KafkaConnectors in the cluster cache.",
         static_cast<long long>(view->connectors.size()));
  metric("cdcguard_cluster_connect_clusters", "gauge", "KafkaConnects in the cluster cache.",
         static_cast<long long>(view->connect_clusters.size()));
  return out;
}

}  // namespace cdcguard::kube
