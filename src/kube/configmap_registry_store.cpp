#include "cdcguard/kube/configmap_registry_store.hpp"

#include <algorithm>
#include <mutex>
#include <optional>
#include <random>

#include "cdcguard/model/registry_layers.hpp"
#include "cdcguard/model/registry_parser.hpp"
#include "cdcguard/model/registry_writer.hpp"

namespace cdcguard::kube {
namespace {
constexpr const char* kDataKey = "registry.yaml";
// The human view (DESIGN.md "Registry"): output only, rewritten with every write.
constexpr const char* kMarkdownKey = "registry.md";
// A ConfigMap holds at most 1 MiB of data; the markdown view never takes the
// room registry.yaml needs.
constexpr std::size_t kMaxConfigMapData = 1024 * 1024;
constexpr std::size_t kHeadroom = 16 * 1024;

std::string markdown_view(const Registry& registry, std::size_t yaml_size) {
  std::string md = render_registry_markdown(registry);
  if (yaml_size + md.size() + kHeadroom <= kMaxConfigMapData) return md;
  return "# Debezium MySQL/MariaDB server-id registry\n\nThe table is too large to keep beside registry.yaml "
         "in this ConfigMap (" +
         std::to_string(registry.entries.size()) +
         " entries). Save registry.yaml to a file and render it with `cdc-guard registry render --registry "
         "FILE`.\n";
}
}  // namespace

// One read of the ConfigMap. registry.yaml is parsed on first use, not on
// arrival: under a burst every replica sees every other replica's write, and
// most of those versions are replaced before anyone reads them.
struct ConfigMapRegistryStore::Version {
  nlohmann::json object;
  std::string resource_version;
  std::string source;    // for messages
  bool missing = false;  // split mode: the state ConfigMap does not exist (reads as no entries)

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

// One queued change and its caller's state. The fields below `deadline` are
// guarded by the store's queue_mutex_.
struct ConfigMapRegistryStore::Waiting {
  // The caller's: valid while it waits, which it does while `applying`.
  const std::function<bool(Registry&)>* change = nullptr;
  MonotonicClock::time_point deadline;

  bool applying = false;   // the writer is running `change`: the caller may not return
  bool in_flight = false;  // a PUT carrying the change was sent and has not been answered
  bool abandoned = false;  // the caller returned: the change is never run again
  bool answered = false;
  int conflicts = 0;  // 409s its batches got
  std::optional<Registry> result;
  std::exception_ptr error;
  std::condition_variable_any wake;  // the caller waits on it
};

namespace {

bool transient(int status) {
  return status == 429 || status >= 500;
}

// The ConfigMap at `path` (`what` names it in messages); nullopt when it does
// not exist. Throws StoreUnavailable when the API server cannot be reached,
// StoreError for any other refusal.
std::optional<nlohmann::json> get_configmap(KubeClient& client, const std::string& path,
                                            const std::string& what) {
  HttpResponse response;
  try {
    response = client.get(path);
  } catch (const ApiError& e) {
    throw StoreUnavailable("cannot read " + what + ": " + e.what());
  }
  if (response.status == 404) return std::nullopt;
  if (response.status != 200) {
    const std::string why =
        "reading " + what + " answered " + std::to_string(response.status) + ": " + status_message(response);
    if (transient(response.status)) throw StoreUnavailable(why);
    throw StoreError(why);
  }
  auto object = nlohmann::json::parse(response.body, nullptr, false);
  if (!object.is_object()) throw StoreUnavailable("reading " + what + ": the answer is not JSON");
  return object;
}

std::string resource_version_of(const nlohmann::json& object) {
  const auto metadata = object.find("metadata");
  if (metadata == object.end() || !metadata->is_object()) return "";
  return metadata->value("resourceVersion", std::string());
}

std::string data_text(const nlohmann::json& object) {
  const auto data = object.find("data");
  if (data == object.end() || !data->is_object()) return "";
  const auto text = data->find(kDataKey);
  return text != data->end() && text->is_string() ? text->get<std::string>() : "";
}

std::string joined(const std::vector<std::string>& problems) {
  std::string all;
  for (const auto& p : problems) all += (all.empty() ? "" : "; ") + p;
  return all;
}

std::string collection_path(const std::string& namespace_name) {
  return "/api/v1/namespaces/" + namespace_name + "/configmaps";
}

std::string name_selector(const std::string& name) {
  return "fieldSelector=metadata.name%3D" + name;
}

Informer::Options with_clock(Informer::Options options, const std::shared_ptr<MonotonicClock>& clock) {
  if (!options.clock) options.clock = clock;
  return options;
}

}  // namespace

// Split mode: the policy ConfigMap, as the state's is kept (a watch, the
// newest version; never written, so nothing of the state's bookkeeping of its
// own writes is needed).
struct ConfigMapRegistryStore::PolicyWatch {
  PolicyWatch(KubeClient& client_, ConfigMapName name_, const Informer::Options& options)
      : client(client_),
        name(std::move(name_)),
        what("policy ConfigMap " + name.str()),
        informer(client_, collection_path(name.namespace_name), name_selector(name.name),
                 Informer::Sink{[this](const std::vector<nlohmann::json>& items) {
                                  std::lock_guard guard(mutex);
                                  missing = items.empty();
                                  version = items.empty() ? nullptr : version_of(items.front());
                                },
                                [this](std::string_view type, const nlohmann::json& object) {
                                  std::lock_guard guard(mutex);
                                  missing = type == "DELETED";
                                  if (missing) {
                                    version.reset();
                                  } else if (!version ||
                                             version->resource_version != resource_version_of(object)) {
                                    version = version_of(object);
                                  }
                                }},
                 options) {}

  std::shared_ptr<const Version> version_of(const nlohmann::json& object) const {
    auto v = std::make_shared<Version>();
    v->object = object;
    v->resource_version = resource_version_of(object);
    v->source = what + " " + kDataKey;
    return v;
  }
  std::string missing_message() const { return "the " + what + " does not exist"; }
  // The cached version, null when none (yet); `is_missing`: the watch saw none.
  std::shared_ptr<const Version> cached(bool& is_missing) const {
    std::lock_guard guard(mutex);
    is_missing = missing;
    return version;
  }
  // The cached version; before the watch's first LIST, read directly. Throws
  // StoreError when the ConfigMap does not exist.
  std::shared_ptr<const Version> current() {
    bool is_missing = false;
    if (auto v = cached(is_missing)) return v;
    if (is_missing) throw StoreError(missing_message());
    const auto object =
        get_configmap(client, "/api/v1/namespaces/" + name.namespace_name + "/configmaps/" + name.name, what);
    if (!object) throw StoreError(missing_message());
    return version_of(*object);
  }

  KubeClient& client;
  const ConfigMapName name;
  const std::string what;
  mutable std::mutex mutex;
  std::shared_ptr<const Version> version;  // guarded by mutex
  bool missing = false;                    // guarded by mutex
  Informer informer;                       // last: its sink uses the fields above
};

// Split mode: the union of one policy version and one state version, formed
// once per pair (an admission reads it, never re-merges or re-indexes).
struct ConfigMapRegistryStore::Union {
  std::shared_ptr<const Version> policy;  // held, so the pair is known by address
  std::shared_ptr<const Version> state;
  std::shared_ptr<const RegistrySnapshot> snapshot;  // null: `error` says why
  std::string error;
  bool state_has_policy_sections = false;
};

ConfigMapRegistryStore::ConfigMapRegistryStore(KubeClient& client, std::string namespace_name,
                                               std::string name, Options options)
    : client_(client),
      namespace_(std::move(namespace_name)),
      name_(std::move(name)),
      path_("/api/v1/namespaces/" + namespace_ + "/configmaps/" + name_),
      options_(options),
      clock_(options_.clock ? options_.clock : steady_monotonic_clock()),
      informer_(client, "/api/v1/namespaces/" + namespace_ + "/configmaps",
                "fieldSelector=metadata.name%3D" + name_,
                Informer::Sink{
                    [this](const std::vector<nlohmann::json>& items) { on_list(items); },
                    [this](std::string_view type, const nlohmann::json& object) { on_event(type, object); }},
                with_clock(options.informer, clock_)) {
  if (!options_.policy) return;
  policy_ = std::make_unique<PolicyWatch>(client_, *options_.policy, with_clock(options_.informer, clock_));
  // Created with the label, so `kubectl get cm -l app.kubernetes.io/managed-by=cdc-guard` finds it.
  auto missing = std::make_shared<Version>();
  missing->object = {{"apiVersion", "v1"},
                     {"kind", "ConfigMap"},
                     {"metadata",
                      {{"name", name_},
                       {"namespace", namespace_},
                       {"labels", {{"app.kubernetes.io/managed-by", "cdc-guard"}}}}},
                     {"data", {{kDataKey, render_checked_entries_yaml(Registry{})}}}};
  missing->source = "state ConfigMap " + describe() + " " + kDataKey;
  missing->missing = true;
  missing->set_parsed(std::make_shared<const RegistrySnapshot>(Registry{}));
  missing_state_ = std::move(missing);
}

ConfigMapRegistryStore::~ConfigMapRegistryStore() {
  stop();
}

bool ConfigMapRegistryStore::synced() const {
  return informer_.synced() && (!policy_ || policy_->informer.synced());
}

void ConfigMapRegistryStore::start() {
  informer_.start();
  if (policy_) policy_->informer.start();
  std::lock_guard guard(queue_mutex_);
  if (writer_.joinable()) return;
  stopping_ = false;
  if (stop_source_.stop_requested()) stop_source_ = std::stop_source();
  writer_ = std::thread([this] { writer_loop(); });
}

void ConfigMapRegistryStore::stop() {
  {
    std::lock_guard guard(queue_mutex_);
    stopping_ = true;
    stop_source_.request_stop();
  }
  queue_wake_.notify_all();
  if (writer_.joinable()) writer_.join();
  informer_.stop();
  if (policy_) policy_->informer.stop();
}

std::string ConfigMapRegistryStore::status() const {
  if (!informer_.synced()) {
    const std::string error = informer_.last_error();
    return std::string("waiting for the first read of ") + (policy_ ? "the state " : "") + "ConfigMap " +
           describe() + (error.empty() ? "" : ": " + error);
  }
  if (policy_ && !policy_->informer.synced()) {
    const std::string error = policy_->informer.last_error();
    return "waiting for the first read of the " + policy_->what + (error.empty() ? "" : ": " + error);
  }
  return "synced";
}

std::string ConfigMapRegistryStore::union_problem() const {
  if (!policy_) return "";
  bool policy_missing = false;
  const auto policy = policy_->cached(policy_missing);
  if (policy_missing) return policy_->missing_message();
  std::shared_ptr<const Version> state;
  {
    std::lock_guard guard(cache_mutex_);
    state = cached_ ? cached_ : (cached_missing_ ? missing_state_ : nullptr);
    if (state && policy && union_ && union_->state == state && union_->policy == policy) return union_->error;
  }
  if (!state || !policy) return "";
  auto formed = union_of(state, policy);
  std::lock_guard guard(cache_mutex_);
  union_ = formed;
  return formed->error;
}

std::shared_ptr<const ConfigMapRegistryStore::Union> ConfigMapRegistryStore::union_of(
    const std::shared_ptr<const Version>& state, const std::shared_ptr<const Version>& policy) const {
  auto formed = std::make_shared<Union>();
  formed->policy = policy;
  formed->state = state;
  if (!policy->snapshot()) {
    formed->error = policy->error();
    return formed;
  }
  if (!state->snapshot()) {
    formed->error = state->error();
    return formed;
  }
  const Registry& state_registry = state->snapshot()->registry;
  formed->state_has_policy_sections = has_policy_sections(state_registry);
  Registry merged = merge_registry_layers(policy->snapshot()->registry, state_registry);
  if (const auto problems = registry_problems(merged); !problems.empty()) {
    formed->error = "the " + policy_->what + " and the state ConfigMap " + describe() +
                    " do not form a valid registry: " + joined(problems);
    return formed;
  }
  formed->snapshot = std::make_shared<const RegistrySnapshot>(std::move(merged));
  return formed;
}

std::shared_ptr<const RegistrySnapshot> ConfigMapRegistryStore::union_with(
    const std::shared_ptr<const Version>& state, const std::shared_ptr<const Version>& policy) {
  std::shared_ptr<const Union> formed;
  {
    std::lock_guard guard(cache_mutex_);
    if (union_ && union_->state == state && union_->policy == policy) formed = union_;
  }
  if (!formed) {
    formed = union_of(state, policy);
    std::lock_guard guard(cache_mutex_);
    union_ = formed;
  }
  if (formed->state_has_policy_sections)
    warn_once("state sections",
              "the state ConfigMap " + describe() +
                  " holds rules, teams, reserved ids or exceptions: they are ignored (the " + policy_->what +
                  "'s are used) and kept as they are");
  if (!formed->snapshot) throw StoreError(formed->error);
  return formed->snapshot;
}

void ConfigMapRegistryStore::warn_once(const std::string& key, const std::string& message) {
  {
    std::lock_guard guard(cache_mutex_);
    if (!warned_.insert(key).second) return;
  }
  if (options_.on_warning) options_.on_warning(message);
}

std::shared_ptr<const ConfigMapRegistryStore::Version> ConfigMapRegistryStore::current_state() {
  {
    std::lock_guard guard(cache_mutex_);
    if (cached_) return cached_;
    if (policy_ && cached_missing_) return missing_state_;
  }
  return read_from_api();
}

std::shared_ptr<const ConfigMapRegistryStore::Version> ConfigMapRegistryStore::create_state() {
  HttpResponse response;
  const std::string what = "the state ConfigMap " + describe();
  try {
    response = client_.post(collection_path(namespace_), missing_state_->object.dump());
  } catch (const ApiError& e) {
    throw StoreUnavailable("cannot create " + what + ": " + e.what());
  }
  if (response.status == 409) return read_from_api();  // another replica created it first
  if (response.status != 200 && response.status != 201) {
    const std::string why =
        "creating " + what + " answered " + std::to_string(response.status) + ": " + status_message(response);
    if (transient(response.status)) throw StoreUnavailable(why);
    throw StoreError(why);
  }
  const auto object = nlohmann::json::parse(response.body, nullptr, false);
  if (!object.is_object()) throw StoreUnavailable("creating " + what + ": the answer is not JSON");
  return version_of(object);
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
  version->source = std::string(policy_ ? "state " : "") + "ConfigMap " + describe() + " " + kDataKey;
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
    const bool overdue = clock_->now() - awaiting_since_ > std::chrono::seconds(2);
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
  awaiting_since_ = clock_->now();
  cached_ = std::move(version);
  cached_missing_ = false;
}

std::shared_ptr<const ConfigMapRegistryStore::Version> ConfigMapRegistryStore::read_from_api() {
  const auto object =
      get_configmap(client_, path_, std::string(policy_ ? "the state " : "") + "ConfigMap " + describe());
  if (object) return version_of(*object);
  // Split mode: cdc-guard owns the state and creates it (the writer); until then it holds no entries.
  if (policy_) return missing_state_;
  throw StoreError("the registry ConfigMap " + describe() + " does not exist");
}

std::shared_ptr<const RegistrySnapshot> ConfigMapRegistryStore::snapshot() {
  std::shared_ptr<const RegistrySnapshot> snapshot;
  if (policy_) {
    const auto state = current_state();
    snapshot = union_with(state, policy_->current());
  } else {
    std::shared_ptr<const Version> version;
    {
      std::lock_guard guard(cache_mutex_);
      version = cached_;
    }
    // Not seen by the watch (yet): ask. A broken registry is reported, never used.
    if (!version) version = read_from_api();
    snapshot = version->snapshot();
    if (!snapshot) throw StoreError(version->error());
  }
  std::lock_guard guard(cache_mutex_);
  last_good_ = snapshot;
  return snapshot;
}

std::shared_ptr<const RegistrySnapshot> ConfigMapRegistryStore::last_known() {
  std::shared_ptr<const Version> version;
  {
    std::lock_guard guard(cache_mutex_);
    version = cached_ ? cached_ : (policy_ && cached_missing_ ? missing_state_ : nullptr);
  }
  if (policy_) {
    bool policy_missing = false;
    const auto policy = policy_->cached(policy_missing);
    if (version && policy) {
      try {
        return union_with(version, policy);
      } catch (const StoreError&) {
        // fall back to the last union that was formed
      }
    }
  } else if (version && version->snapshot()) {
    return version->snapshot();
  }
  std::lock_guard guard(cache_mutex_);
  return last_good_;
}

Registry ConfigMapRegistryStore::update(const std::function<bool(Registry&)>& change) {
  auto waiting = std::make_shared<Waiting>();
  waiting->change = &change;
  waiting->deadline = clock_->now() + options_.deadline;
  std::unique_lock lock(queue_mutex_);
  if (stopping_ || !writer_.joinable())
    throw StoreUnavailable("the registry writer for ConfigMap " + describe() + " is not running");
  queue_.push_back(waiting);
  queue_wake_.notify_one();
  clock_->wait_until(lock, waiting->wake, waiting->deadline, [&] { return waiting->answered; });
  // `change` refers to this frame: never return while the writer runs it.
  waiting->wake.wait(lock, [&] { return !waiting->applying; });
  if (!waiting->answered) {
    // Past the deadline, still queued or with its PUT in flight: answer now,
    // the API server will not wait. The writer drops it from now on.
    waiting->abandoned = true;
    throw StoreUnavailable(timeout_message(*waiting));
  }
  if (waiting->error) std::rethrow_exception(waiting->error);
  return std::move(*waiting->result);
}

std::string ConfigMapRegistryStore::timeout_message(const Waiting& waiting) const {
  const std::string head = "timed out after " + std::to_string(options_.deadline.count()) + " ms ";
  if (waiting.in_flight)
    return head + "writing ConfigMap " + describe() +
           ": the write was still in progress, and if it is applied, a Pending claim in it stays until it "
           "expires";
  return head + "waiting to write ConfigMap " + describe() + " (" + std::to_string(waiting.conflicts) +
         " conflicting writes); nothing was written";
}

void ConfigMapRegistryStore::take_queued(std::vector<std::shared_ptr<Waiting>>& batch) {
  while (!queue_.empty() && batch.size() < options_.max_batch) {
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
    ++stats_.changes;
  }
}

void ConfigMapRegistryStore::answer_all(std::vector<std::shared_ptr<Waiting>>& batch,
                                        const Registry& registry) {
  std::lock_guard guard(queue_mutex_);
  for (auto& w : batch) {
    w->answered = true;
    w->result = registry;
    w->wake.notify_all();
  }
}

void ConfigMapRegistryStore::fail_all(std::vector<std::shared_ptr<Waiting>>& batch,
                                      const std::exception_ptr& error) {
  std::lock_guard guard(queue_mutex_);
  for (auto& w : batch) {
    w->in_flight = false;
    if (w->answered || w->abandoned) continue;
    w->answered = true;
    w->error = error;
    w->wake.notify_all();
  }
  batch.clear();
}

void ConfigMapRegistryStore::writer_loop() {
  if (policy_) {
    // Split mode: the state is created as soon as it is found missing, so
    // `kubectl get` shows it from the start. A failure here is not one: the
    // first write tries again.
    try {
      if (current_state()->missing) set_cached(create_state());
    } catch (const StoreError&) {
    }
  }
  for (;;) {
    std::vector<std::shared_ptr<Waiting>> batch;
    {
      std::unique_lock lock(queue_mutex_);
      queue_wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nobody waits
      take_queued(batch);
      ++stats_.batches;
    }
    const bool wrote = write_batch(batch);
    const bool contended = last_conflict_ && clock_->now() - *last_conflict_ < std::chrono::seconds(1);
    if (wrote && contended && options_.write_interval.count() > 0) {
      // After a write, wait a moment before the next one: the changes that
      // arrive meanwhile go out together, and the other replicas, which must
      // re-read after losing to this write, get their turn instead of losing
      // again to a replica whose cache is always current.
      clock_->sleep_for(options_.write_interval, stop_source_.get_token());
    }
  }
}

bool ConfigMapRegistryStore::write_batch(std::vector<std::shared_ptr<Waiting>>& batch) {
  thread_local std::mt19937 random(std::random_device{}());
  std::shared_ptr<const Version> base;
  {
    std::lock_guard guard(cache_mutex_);
    base = cached_;
  }
  try {
    if (!base || !base->snapshot()) base = policy_ ? current_state() : read_from_api();
    if (base->missing) {
      base = create_state();
      set_cached(base);
    }
  } catch (const StoreError&) {
    fail_all(batch, std::current_exception());
    return false;
  }
  int attempt = 0;
  while (attempt < options_.max_attempts) {
    // Changes queued meanwhile join this round (one more PUT serves them too);
    // a change whose caller has given up, or whose deadline has passed, is
    // dropped before it is applied: nothing is sent on behalf of an admission
    // already answered. The rest may not be abandoned while they are applied.
    {
      std::lock_guard guard(queue_mutex_);
      take_queued(batch);
      const auto now = clock_->now();
      std::erase_if(batch, [&](const std::shared_ptr<Waiting>& w) {
        if (w->abandoned) return true;
        if (now < w->deadline) return false;
        w->answered = true;
        w->error = std::make_exception_ptr(StoreUnavailable(timeout_message(*w)));
        w->wake.notify_all();
        return true;
      });
      for (auto& w : batch) w->applying = true;
    }
    if (batch.empty()) return false;

    Registry registry;
    bool changed = false;
    std::exception_ptr error;
    // Split mode: the changes run on the union of this policy and the state.
    std::shared_ptr<const Version> policy;
    std::shared_ptr<const RegistrySnapshot> before;
    try {
      if (policy_) {
        policy = policy_->current();
        before = union_with(base, policy);
      } else {
        before = base->snapshot();
        if (!before) throw StoreError(base->error());
      }
    } catch (const StoreError&) {
      error = std::current_exception();
    }
    if (before) {
      registry = before->registry;
      try {
        for (const auto& w : batch) changed = (*w->change)(registry) || changed;
      } catch (...) {
        error = std::current_exception();  // the registry may be half changed: write none of it
      }
    }
    bool expired = false;
    {
      std::lock_guard guard(queue_mutex_);
      const auto now = clock_->now();
      for (auto& w : batch) {
        w->applying = false;
        expired = expired || now >= w->deadline;
        w->wake.notify_all();
      }
    }
    if (error) {
      fail_all(batch, error);
      return false;
    }
    if (!changed) {
      answer_all(batch, registry);
      return false;
    }
    // A deadline passed while the changes were applied: apply again without it
    // rather than write what its caller is told did not happen.
    if (expired) continue;

    nlohmann::json body = base->object;
    std::shared_ptr<const RegistrySnapshot> written_registry;  // what the written registry.yaml reads as
    try {
      std::string yaml;
      if (policy_) {
        Registry state = base->snapshot()->registry;  // its other sections are kept
        std::vector<std::string> unremovable;
        state.entries = state_entries_for(registry, policy->snapshot()->registry, &unremovable);
        // An entry only the policy holds cannot be removed here (the policy
        // is not ours to write): it stays, and the union keeps it. The state
        // is then unchanged and nothing is written (below), so a change that
        // keeps trying (the reconciler pruning history) never loops writes.
        for (const auto& connector : unremovable)
          warn_once("unremovable " + connector,
                    "the entries of " + connector + " are in the " + policy_->what +
                        ", which cdc-guard does not write: a change that removed them was not applied to "
                        "them; remove them from the policy");
        registry = merge_registry_layers(policy->snapshot()->registry, state);
        if (const auto problems = registry_problems(registry); !problems.empty())
          throw RegistryError(
              "refusing to write a state that would not form a valid registry with the " + policy_->what,
              problems);
        yaml = has_policy_sections(state) ? render_checked_registry_yaml(state)
                                          : render_checked_entries_yaml(state);
        if (yaml == data_text(base->object)) {
          answer_all(batch, registry);
          return false;
        }
        written_registry = std::make_shared<const RegistrySnapshot>(std::move(state));
      } else {
        yaml = render_checked_registry_yaml(registry);
      }
      body["data"][kMarkdownKey] = markdown_view(registry, yaml.size());
      body["data"][kDataKey] = std::move(yaml);
    } catch (const std::exception& e) {
      fail_all(batch, std::make_exception_ptr(StoreError(std::string(policy_ ? "state " : "") + "ConfigMap " +
                                                         describe() + ": " + e.what())));
      return false;
    }
    // Items of a real LIST carry no kind or apiVersion; a PUT body should.
    body["apiVersion"] = "v1";
    body["kind"] = "ConfigMap";
    body["metadata"]["resourceVersion"] = base->resource_version;
    ++attempt;
    {
      std::lock_guard guard(queue_mutex_);
      ++stats_.puts;
      for (auto& w : batch) w->in_flight = true;
    }
    HttpResponse response;
    try {
      response = client_.put(path_, body.dump());
    } catch (const ApiError& e) {
      fail_all(batch, std::make_exception_ptr(StoreUnavailable(std::string("cannot write ConfigMap ") +
                                                               describe() + ": " + e.what())));
      return false;
    }
    if (response.status == 200 || response.status == 201) {
      auto answer = nlohmann::json::parse(response.body, nullptr, false);
      auto written = std::const_pointer_cast<Version>(version_of(answer.is_object() ? answer : body));
      written->set_parsed(written_registry ? written_registry
                                           : std::make_shared<const RegistrySnapshot>(registry));
      set_cached(written);
      std::lock_guard guard(queue_mutex_);
      for (auto& w : batch) {
        w->in_flight = false;
        w->answered = true;
        w->result = registry;
        w->wake.notify_all();
      }
      return true;
    }
    if (response.status != 409) {
      const std::string why = "writing ConfigMap " + describe() + " answered " +
                              std::to_string(response.status) + ": " + status_message(response);
      fail_all(batch, transient(response.status) ? std::make_exception_ptr(StoreUnavailable(why))
                                                 : std::make_exception_ptr(StoreError(why)));
      return false;
    }
    {
      std::lock_guard guard(queue_mutex_);
      ++stats_.conflicts;
      for (auto& w : batch) {
        w->in_flight = false;
        ++w->conflicts;
      }
    }
    last_conflict_ = clock_->now();
    // Another replica wrote first: re-read and apply the whole batch again
    // after a short random pause (replicas that collided do not collide again
    // in step). It does not grow with each loss: the winner pauses after its
    // write (write_interval), so the losers get the next turn.
    std::uniform_int_distribution<long long> pause(0, options_.conflict_backoff.count());
    clock_->sleep_for(std::chrono::milliseconds(pause(random)));
    try {
      base = read_from_api();
      if (base->missing) base = create_state();  // split mode: deleted meanwhile
    } catch (const StoreError&) {
      fail_all(batch, std::current_exception());
      return false;
    }
    set_cached(base);
  }
  fail_all(batch, std::make_exception_ptr(StoreUnavailable("gave up writing ConfigMap " + describe() +
                                                           " after " + std::to_string(options_.max_attempts) +
                                                           " conflicting writes")));
  return false;
}

}  // namespace cdcguard::kube
