#include "cdcguard/configmap_registry_store.hpp"

#include <algorithm>
#include <mutex>
#include <random>

#include "cdcguard/registry_parser.hpp"
#include "cdcguard/registry_writer.hpp"

namespace cdcguard::kube {
namespace {
constexpr const char* kDataKey = "registry.yaml";
}  // namespace

// One read of the ConfigMap. registry.yaml is parsed on first use, not on
// arrival: under a burst every replica sees every other replica's write, and
// most of those versions are replaced before anyone reads them.
struct ConfigMapRegistryStore::Version {
  nlohmann::json object;
  std::string resource_version;
  std::string source;  // for messages

  // Null when registry.yaml is missing or broken; error() says why.
  const std::shared_ptr<const RegistrySnapshot>& snapshot() const {
    std::call_once(parsed_, [this] { parse(); });
    return snapshot_;
  }
  const std::string& error() const {
    snapshot();
    return error_;
  }
  // A version this process wrote: its registry is known, no parsing needed.
  void set_parsed(std::shared_ptr<const RegistrySnapshot> snapshot) {
    std::call_once(parsed_, [&] { snapshot_ = std::move(snapshot); });
  }

 private:
  void parse() const {
    const auto data = object.find("data");
    if (data == object.end() || !data->is_object() || !data->contains(kDataKey) ||
        !(*data)[kDataKey].is_string()) {
      error_ = source + ": the key is missing";
      return;
    }
    try {
      snapshot_ = std::make_shared<const RegistrySnapshot>(
          parse_registry((*data)[kDataKey].get<std::string>(), source));
    } catch (const RegistryError& e) {
      std::string all;
      for (const auto& problem : e.problems()) all += (all.empty() ? "" : "; ") + problem;
      error_ = all.empty() ? source + ": " + e.what() : all;
    }
  }
  mutable std::once_flag parsed_;
  mutable std::shared_ptr<const RegistrySnapshot> snapshot_;
  mutable std::string error_;
};

struct ConfigMapRegistryStore::Waiting {
  const std::function<bool(Registry&)>* change;
  std::chrono::steady_clock::time_point deadline;
  std::promise<Registry> done;
};

namespace {

bool transient(int status) {
  return status == 429 || status >= 500;
}

}  // namespace

ConfigMapRegistryStore::ConfigMapRegistryStore(KubeClient& client, std::string namespace_name,
                                               std::string name, Options options)
    : client_(client),
      namespace_(std::move(namespace_name)),
      name_(std::move(name)),
      path_("/api/v1/namespaces/" + namespace_ + "/configmaps/" + name_),
      options_(options),
      informer_(client, "/api/v1/namespaces/" + namespace_ + "/configmaps",
                "fieldSelector=metadata.name%3D" + name_,
                Informer::Sink{
                    [this](const std::vector<nlohmann::json>& items) { on_list(items); },
                    [this](std::string_view type, const nlohmann::json& object) { on_event(type, object); }},
                options.informer) {}

ConfigMapRegistryStore::~ConfigMapRegistryStore() {
  stop();
}

void ConfigMapRegistryStore::start() {
  informer_.start();
  std::lock_guard guard(queue_mutex_);
  if (writer_.joinable()) return;
  stopping_ = false;
  writer_ = std::thread([this] { writer_loop(); });
}

void ConfigMapRegistryStore::stop() {
  {
    std::lock_guard guard(queue_mutex_);
    stopping_ = true;
  }
  queue_wake_.notify_all();
  if (writer_.joinable()) writer_.join();
  informer_.stop();
}

std::string ConfigMapRegistryStore::status() const {
  if (informer_.synced()) return "synced";
  const std::string error = informer_.last_error();
  return "waiting for the first read of ConfigMap " + describe() + (error.empty() ? "" : ": " + error);
}

ConfigMapRegistryStore::Stats ConfigMapRegistryStore::stats() const {
  std::lock_guard guard(queue_mutex_);
  return stats_;
}

std::shared_ptr<const ConfigMapRegistryStore::Version> ConfigMapRegistryStore::version_of(
    const nlohmann::json& object) const {
  auto version = std::make_shared<Version>();
  version->object = object;
  const auto metadata = object.find("metadata");
  if (metadata != object.end() && metadata->is_object())
    version->resource_version = metadata->value("resourceVersion", std::string());
  version->source = "ConfigMap " + describe() + " " + kDataKey;
  return version;
}

void ConfigMapRegistryStore::on_list(const std::vector<nlohmann::json>& items) {
  std::lock_guard guard(cache_mutex_);
  awaiting_.clear();  // a LIST is at least as new as anything read before it
  seen_.clear();
  cached_missing_ = items.empty();
  cached_ = items.empty() ? nullptr : version_of(items.front());
  if (cached_) seen_.push_back(cached_->resource_version);
}

void ConfigMapRegistryStore::on_event(std::string_view type, const nlohmann::json& object) {
  std::lock_guard guard(cache_mutex_);
  if (type == "DELETED") {
    awaiting_.clear();
    cached_.reset();
    cached_missing_ = true;
    return;
  }
  std::string rv;
  if (const auto metadata = object.find("metadata"); metadata != object.end() && metadata->is_object())
    rv = metadata->value("resourceVersion", std::string());
  seen_.push_back(rv);
  if (seen_.size() > 128) seen_.pop_front();
  // The cache holds a version this replica read or wrote directly, which the
  // watch has not delivered yet: the events before it are older (they come in
  // order, and resourceVersions may not be compared), so they are skipped. A
  // bound, in case that event never comes (e.g. the watch restarted past it).
  if (!awaiting_.empty()) {
    const bool overdue = std::chrono::steady_clock::now() - awaiting_since_ > std::chrono::seconds(2);
    if (rv != awaiting_ && !overdue) return;
    awaiting_.clear();
    if (rv == cached_->resource_version) return;
  }
  if (cached_ && rv == cached_->resource_version) return;
  cached_ = version_of(object);
  cached_missing_ = false;
}

void ConfigMapRegistryStore::set_cached(std::shared_ptr<const Version> version) {
  std::lock_guard guard(cache_mutex_);
  // Already delivered by the watch: the cache is that version or a newer one.
  if (std::find(seen_.begin(), seen_.end(), version->resource_version) != seen_.end()) return;
  awaiting_ = version->resource_version;
  awaiting_since_ = std::chrono::steady_clock::now();
  cached_ = std::move(version);
  cached_missing_ = false;
}

std::shared_ptr<const ConfigMapRegistryStore::Version> ConfigMapRegistryStore::read_from_api() {
  HttpResponse response;
  try {
    response = client_.get(path_);
  } catch (const ApiError& e) {
    throw StoreUnavailable(std::string("cannot read ConfigMap ") + describe() + ": " + e.what());
  }
  if (response.status == 404) throw StoreError("the registry ConfigMap " + describe() + " does not exist");
  if (response.status != 200) {
    const std::string why = "reading ConfigMap " + describe() + " answered " +
                            std::to_string(response.status) + ": " + status_message(response);
    if (transient(response.status)) throw StoreUnavailable(why);
    throw StoreError(why);
  }
  const auto object = nlohmann::json::parse(response.body, nullptr, false);
  if (!object.is_object())
    throw StoreUnavailable("reading ConfigMap " + describe() + ": the answer is not JSON");
  return version_of(object);
}

std::shared_ptr<const RegistrySnapshot> ConfigMapRegistryStore::snapshot() {
  std::shared_ptr<const Version> version;
  {
    std::lock_guard guard(cache_mutex_);
    version = cached_;
  }
  // Not seen by the watch (yet): ask. A broken registry is reported, never used.
  if (!version) version = read_from_api();
  const auto& snapshot = version->snapshot();
  if (!snapshot) throw StoreError(version->error());
  std::lock_guard guard(cache_mutex_);
  last_good_ = snapshot;
  return snapshot;
}

std::shared_ptr<const RegistrySnapshot> ConfigMapRegistryStore::last_known() {
  std::shared_ptr<const Version> version;
  {
    std::lock_guard guard(cache_mutex_);
    version = cached_;
  }
  if (version && version->snapshot()) return version->snapshot();
  std::lock_guard guard(cache_mutex_);
  return last_good_;
}

Registry ConfigMapRegistryStore::update(const std::function<bool(Registry&)>& change) {
  auto waiting = std::make_shared<Waiting>();
  waiting->change = &change;
  waiting->deadline = std::chrono::steady_clock::now() + options_.deadline;
  auto result = waiting->done.get_future();
  {
    std::lock_guard guard(queue_mutex_);
    if (stopping_ || !writer_.joinable())
      throw StoreUnavailable("the registry writer for ConfigMap " + describe() + " is not running");
    queue_.push_back(waiting);
  }
  queue_wake_.notify_one();
  // The writer always answers: every API call it makes has a timeout and its
  // rounds are bounded, and `change` refers to this frame, so no early return.
  return result.get();
}

void ConfigMapRegistryStore::writer_loop() {
  for (;;) {
    std::vector<std::shared_ptr<Waiting>> batch;
    {
      std::unique_lock lock(queue_mutex_);
      queue_wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nobody waits
      while (!queue_.empty() && batch.size() < options_.max_batch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      ++stats_.batches;
      stats_.changes += static_cast<long long>(batch.size());
    }
    const bool wrote = write_batch(batch);
    const bool contended = std::chrono::steady_clock::now() - last_conflict_ < std::chrono::seconds(1);
    if (wrote && contended && options_.write_interval.count() > 0) {
      // After a write, wait a moment before the next one: the changes that
      // arrive meanwhile go out together, and the other replicas, which must
      // re-read after losing to this write, get their turn instead of losing
      // again to a replica whose cache is always current.
      std::unique_lock lock(queue_mutex_);
      queue_wake_.wait_for(lock, options_.write_interval, [this] { return stopping_; });
    }
  }
}

bool ConfigMapRegistryStore::write_batch(std::vector<std::shared_ptr<Waiting>>& batch) {
  const auto fail_all = [&](const std::exception_ptr& error) {
    for (auto& w : batch) w->done.set_exception(error);
    batch.clear();
  };
  thread_local std::mt19937 random(std::random_device{}());
  std::shared_ptr<const Version> base;
  {
    std::lock_guard guard(cache_mutex_);
    base = cached_;
  }
  try {
    if (!base || !base->snapshot()) base = read_from_api();
  } catch (const StoreError&) {
    fail_all(std::current_exception());
    return false;
  }
  for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
    // A change whose caller has given up is dropped before it is applied, so
    // nothing is written on behalf of an admission already answered.
    const auto now = std::chrono::steady_clock::now();
    std::erase_if(batch, [&](const std::shared_ptr<Waiting>& w) {
      if (now < w->deadline) return false;
      w->done.set_exception(std::make_exception_ptr(StoreUnavailable(
          "timed out after " + std::to_string(options_.deadline.count()) + " ms writing ConfigMap " +
          describe() + " (" + std::to_string(attempt - 1) + " conflicting writes)")));
      return true;
    });
    // Changes queued meanwhile join this round: one more PUT serves them too.
    {
      std::lock_guard guard(queue_mutex_);
      while (!queue_.empty() && batch.size() < options_.max_batch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
        ++stats_.changes;
      }
    }
    if (batch.empty()) return false;
    if (!base->snapshot()) {
      fail_all(std::make_exception_ptr(StoreError(base->error())));
      return false;
    }
    Registry registry = base->snapshot()->registry;
    bool changed = false;
    try {
      for (const auto& w : batch) changed = (*w->change)(registry) || changed;
    } catch (...) {
      fail_all(std::current_exception());  // the registry may be half changed: write none of it
      return false;
    }
    if (!changed) {
      for (auto& w : batch) w->done.set_value(registry);
      return false;
    }
    nlohmann::json body = base->object;
    body["data"][kDataKey] = render_registry_yaml(registry);
    // Items of a real LIST carry no kind or apiVersion; a PUT body should.
    body["apiVersion"] = "v1";
    body["kind"] = "ConfigMap";
    body["metadata"]["resourceVersion"] = base->resource_version;
    HttpResponse response;
    try {
      {
        std::lock_guard guard(queue_mutex_);
        ++stats_.puts;
      }
      response = client_.put(path_, body.dump());
    } catch (const ApiError& e) {
      fail_all(std::make_exception_ptr(
          StoreUnavailable(std::string("cannot write ConfigMap ") + describe() + ": " + e.what())));
      return false;
    }
    if (response.status == 200 || response.status == 201) {
      auto answer = nlohmann::json::parse(response.body, nullptr, false);
      auto written = std::const_pointer_cast<Version>(version_of(answer.is_object() ? answer : body));
      written->set_parsed(std::make_shared<const RegistrySnapshot>(registry));
      set_cached(written);
      for (auto& w : batch) w->done.set_value(registry);
      return true;
    }
    if (response.status != 409) {
      const std::string why = "writing ConfigMap " + describe() + " answered " +
                              std::to_string(response.status) + ": " + status_message(response);
      fail_all(transient(response.status) ? std::make_exception_ptr(StoreUnavailable(why))
                                          : std::make_exception_ptr(StoreError(why)));
      return false;
    }
    {
      std::lock_guard guard(queue_mutex_);
      ++stats_.conflicts;
    }
    last_conflict_ = std::chrono::steady_clock::now();
    // Another replica wrote first: re-read and apply the whole batch again
    // after a short random pause (replicas that collided do not collide again
    // in step). It does not grow with each loss: the winner pauses after its
    // write (write_interval), so the losers get the next turn.
    std::uniform_int_distribution<long long> pause(0, options_.conflict_backoff.count());
    std::this_thread::sleep_for(std::chrono::milliseconds(pause(random)));
    try {
      base = read_from_api();
    } catch (const StoreError&) {
      fail_all(std::current_exception());
      return false;
    }
    set_cached(base);
  }
  fail_all(std::make_exception_ptr(StoreUnavailable("gave up writing ConfigMap " + describe() + " after " +
                                                    std::to_string(options_.max_attempts) +
                                                    " conflicting writes")));
  return false;
}

}  // namespace cdcguard::kube
