#include "cdcguard/kube/cluster_cache.hpp"

#include "cdcguard/admission/admission_review.hpp"
#include "cdcguard/kube/strimzi_objects.hpp"

namespace cdcguard::kube {
namespace {

constexpr const char* kGroup = kStrimziGroup;

std::string metadata_field(const nlohmann::json& object, const char* field) {
  const auto metadata = object.find("metadata");
  if (metadata == object.end() || !metadata->is_object()) return "";
  const auto value = metadata->find(field);
  return value != metadata->end() && value->is_string() ? value->get<std::string>() : "";
}

std::string key_of(const nlohmann::json& object) {
  return metadata_field(object, "namespace") + "/" + metadata_field(object, "name");
}

}  // namespace

ClusterCache::ClusterCache(KubeClient& client, Options options)
    : client_(client), options_(std::move(options)) {}

ClusterCache::~ClusterCache() {
  stop();
}

void ClusterCache::start() {
  if (starter_.joinable()) return;
  starter_ = std::thread([this] { discover_and_watch(); });
}

void ClusterCache::stop() {
  {
    std::lock_guard guard(mutex_);
    stopping_ = true;
  }
  stop_source_.request_stop();
  if (starter_.joinable()) starter_.join();
  for (auto& informer : informers_) informer->stop();
}

void ClusterCache::discover_and_watch() {
  const auto clock = options_.informer.clock ? options_.informer.clock : steady_monotonic_clock();
  auto delay = options_.informer.backoff_base;
  std::string version;
  for (;;) {
    std::string error;
    try {
      const auto response = client_.get(std::string("/apis/") + kGroup);
      if (response.status == 200) {
        version = pick_strimzi_version(nlohmann::json::parse(response.body));
        if (version.empty()) error = std::string(kGroup) + " serves neither v1 nor v1beta2";
      } else if (response.status == 404) {
        error = std::string("the API group ") + kGroup + " is not served: are Strimzi's CRDs installed?";
      } else {
        error = "discovery of " + std::string(kGroup) + " answered " + std::to_string(response.status);
      }
    } catch (const std::exception& e) {
      error = std::string("discovery of ") + kGroup + ": " + e.what();
    }
    {
      std::lock_guard guard(mutex_);
      if (stopping_) return;
      if (error.empty()) {
        version_ = version;
        discovery_error_.clear();
        break;
      }
      discovery_error_ = error;
    }
    if (!clock->sleep_for(delay, stop_source_.get_token())) return;
    delay = std::min(options_.informer.backoff_max, delay * 2);
  }
  std::vector<std::string> scopes = options_.namespaces;
  if (scopes.empty()) scopes.emplace_back();
  std::lock_guard guard(mutex_);
  for (const bool connectors : {true, false}) {
    for (const auto& ns : scopes) {
      const std::string resource = connectors ? "kafkaconnectors" : "kafkaconnects";
      const std::string path = std::string("/apis/") + kGroup + "/" + version_ +
                               (ns.empty() ? "" : "/namespaces/" + ns) + "/" + resource;
      Informer::Sink sink{[this, connectors, ns](const std::vector<nlohmann::json>& items) {
                            replace(connectors, ns, items);
                          },
                          [this, connectors](std::string_view type, const nlohmann::json& object) {
                            apply(connectors, type, object);
                          }};
      informers_.push_back(std::make_unique<Informer>(client_, path, "", std::move(sink), options_.informer));
      informers_.back()->start();
    }
  }
}

bool ClusterCache::synced() const {
  std::lock_guard guard(mutex_);
  if (informers_.empty()) return false;
  for (const auto& informer : informers_)
    if (!informer->synced()) return false;
  return true;
}

std::string ClusterCache::status() const {
  std::lock_guard guard(mutex_);
  if (informers_.empty())
    return discovery_error_.empty() ? "discovering " + std::string(kGroup) : discovery_error_;
  for (const auto& informer : informers_) {
    if (informer->synced()) continue;
    const std::string error = informer->last_error();
    return "waiting for the first LIST of " + informer->path() + (error.empty() ? "" : ": " + error);
  }
  return "synced";
}

std::string ClusterCache::strimzi_version() const {
  std::lock_guard guard(mutex_);
  return version_;
}

void ClusterCache::replace(bool connectors, const std::string& namespace_name,
                           const std::vector<nlohmann::json>& items) {
  std::unique_lock guard(mutex_);
  const auto in_scope = [&](const std::string& key) {
    return namespace_name.empty() || key.compare(0, namespace_name.size() + 1, namespace_name + "/") == 0;
  };
  if (connectors) {
    std::erase_if(connectors_, [&](const auto& entry) { return in_scope(entry.first); });
  } else {
    std::erase_if(clusters_, [&](const auto& entry) { return in_scope(entry.first); });
  }
  built_.reset();
  // apply() takes the lock itself; the items are few enough to convert here.
  for (const auto& item : items) {
    if (connectors) {
      if (auto facts = connector_facts_of(item)) connectors_[facts->key()] = std::move(*facts);
    } else if (auto facts = connect_cluster_facts_of(item)) {
      clusters_[facts->key()] = std::move(*facts);
    }
  }
  guard.unlock();
  if (options_.on_change) options_.on_change();
}

void ClusterCache::apply(bool connectors, std::string_view type, const nlohmann::json& object) {
  const std::string key = key_of(object);
  std::optional<ConnectorFacts> connector;
  std::optional<ConnectClusterFacts> cluster;
  if (type != "DELETED") {
    if (connectors)
      connector = connector_facts_of(object);
    else
      cluster = connect_cluster_facts_of(object);
  }
  std::unique_lock guard(mutex_);
  built_.reset();
  if (connectors) {
    if (connector)
      connectors_[key] = std::move(*connector);
    else
      connectors_.erase(key);  // deleted
  } else if (cluster) {
    clusters_[key] = std::move(*cluster);
  } else {
    clusters_.erase(key);
  }
  guard.unlock();
  if (options_.on_change) options_.on_change();
}

std::shared_ptr<const ClusterView> ClusterCache::snapshot() const {
  std::lock_guard guard(mutex_);
  if (built_) return built_;
  // Built on the first read after a change, not on every event: Strimzi
  // rewrites status often, and most of those events change no fact.
  auto next = std::make_shared<ClusterView>();
  for (const auto& [key, facts] : connectors_) next->connectors.upsert(facts);
  next->connect_clusters.reserve(clusters_.size());
  for (const auto& [key, facts] : clusters_) next->connect_clusters.push_back(facts);
  for (const auto& facts : next->connect_clusters) next->connect_index.add(facts);
  built_ = std::move(next);
  return built_;
}

}  // namespace cdcguard::kube
