#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "cdcguard/kube/kube_client.hpp"
#include "cdcguard/kube/kube_informer.hpp"
#include "cdcguard/kube/monotonic_clock.hpp"
#include "cdcguard/store/registry_store.hpp"

// The registry in a ConfigMap (data key `registry.yaml`), claimed race-free
// with optimistic concurrency (DESIGN.md "Race-free uniqueness"):
//   read (resourceVersion) -> apply the changes -> PUT with that
//   resourceVersion -> on 409 Conflict re-read and apply them again.
// Every update() of this process goes through one writer thread that takes all
// waiting changes as one batch: they are applied in order to the same registry
// version, so each one sees the ones before it, and written in one PUT. On a
// conflict the whole batch is re-applied to the new version, so every
// change's verdict is computed against the version it is written into.
// Contention is then between replicas, not between requests (a naive per-request
// CAS loses most rounds under a burst).
//
// Every update() is answered within `deadline` (the API server abandons an
// admission after 5 s): a change still queued then is dropped and never
// written, and one whose PUT is still in flight is answered "timed out" at
// once; that PUT may still be applied, and a Pending claim it carries then
// lapses after its TTL unless its connector appears.
//
// Reads come from a cache kept by a watch on the ConfigMap, so an admission
// that writes nothing makes no API call.
//
// Split mode (Options::policy; DESIGN.md "Policy and state, like spec and
// status"): the ConfigMap above is the *state*, and a second one, watched the
// same way and never written, is the *policy*. snapshot() is their union
// (merge_registry_layers: the policy's sections, its entries overridden per
// connector by the state's), formed again whenever either changes. update()
// runs the changes on the union and writes into the state only the entries
// that differ from the policy's (state_entries_for), keeping whatever else
// the state document holds. The state document is `entries:` only
// (render_checked_entries_yaml) unless it holds more (then it is rewritten
// whole, those sections kept and ignored). A missing state ConfigMap reads as
// no entries and is created (POST) by the writer: at start, and before a
// write. A union that cannot be formed (the policy missing, either document
// unparsable, the union invalid) is never used and never written over.
namespace cdcguard::kube {

// A ConfigMap by namespace and name.
struct ConfigMapName {
  std::string namespace_name;
  std::string name;
  std::string str() const { return namespace_name + "/" + name; }
};

class ConfigMapRegistryStore : public RegistryStore {
 public:
  struct Options {
    // PUT rounds per batch before giving up (the deadline usually comes first).
    int max_attempts = 50;
    // After a write, while replicas contend (a PUT lost in the last second),
    // wait this long before the next: more changes go out together and the
    // other replicas get their turn.
    std::chrono::milliseconds write_interval{10};
    // update() answers within this (a change not written by then fails): the
    // API server's webhook timeout is 5 s.
    std::chrono::milliseconds deadline{4000};
    // After a 409: a random pause up to this before re-reading.
    std::chrono::milliseconds conflict_backoff{5};
    std::size_t max_batch = 256;
    Informer::Options informer;
    // Deadlines and pauses; null: the steady clock. The informer uses it too
    // unless informer.clock is set.
    std::shared_ptr<MonotonicClock> clock;
    // Split mode: the policy ConfigMap (read only); none: the ConfigMap holds
    // the whole registry.
    std::optional<ConfigMapName> policy;
    // Told what an operator should know and the store cannot fix (a state
    // document with policy sections, which are ignored; a policy entry a
    // change removed, which the state cannot remove). Each once.
    std::function<void(const std::string& message)> on_warning;
  };
  struct Stats {
    long long batches = 0;    // batches taken by the writer
    long long changes = 0;    // update() calls served
    long long puts = 0;       // PUTs sent
    long long conflicts = 0;  // 409s received
  };

  ConfigMapRegistryStore(KubeClient& client, std::string namespace_name, std::string name, Options options);
  ConfigMapRegistryStore(KubeClient& client, std::string namespace_name, std::string name)
      : ConfigMapRegistryStore(client, std::move(namespace_name), std::move(name), Options{}) {}
  ~ConfigMapRegistryStore() override;
  ConfigMapRegistryStore(const ConfigMapRegistryStore&) = delete;
  ConfigMapRegistryStore& operator=(const ConfigMapRegistryStore&) = delete;

  // Starts the watch (both, in split mode) and the writer.
  void start();
  void stop();
  // Every watch has listed once.
  bool synced() const;
  std::string status() const;
  // Split mode: why the cached policy and state do not form a registry ("":
  // they do, or not both read yet, or not split mode). From the caches only.
  std::string union_problem() const;
  bool split() const { return policy_ != nullptr; }

  // The cached registry. Before the watch's first LIST, or when the ConfigMap
  // was not found by it, read directly. Throws StoreError when the ConfigMap
  // is missing or its registry.yaml does not parse, StoreUnavailable when the
  // API server cannot be reached.
  std::shared_ptr<const RegistrySnapshot> snapshot() override;
  // Queues `change` for the writer and waits for the batch holding it, at
  // most `deadline` (then StoreUnavailable "timed out"). `change` may run
  // several times (again after a 409), only while this call waits, and never
  // after it returned.
  Registry update(const std::function<bool(Registry&)>& change) override;
  std::shared_ptr<const RegistrySnapshot> last_known() override;

  Stats stats() const;
  std::string describe() const { return namespace_ + "/" + name_; }

 private:
  struct Version;      // one read of the ConfigMap: the object, its resourceVersion, the parsed registry
  struct Waiting;      // one queued change and the promise its caller waits on
  struct PolicyWatch;  // split mode: the policy ConfigMap's watch cache
  struct Union;        // split mode: the union of one policy and one state version

  std::shared_ptr<const Version> read_from_api();
  // The state version to read: cached, else (split mode) "missing" when the
  // watch saw none, else read directly.
  std::shared_ptr<const Version> current_state();
  // Split mode: the union of the policy and `state` (cached per pair); throws StoreError.
  std::shared_ptr<const RegistrySnapshot> union_with(const std::shared_ptr<const Version>& state,
                                                     const std::shared_ptr<const Version>& policy);
  std::shared_ptr<const Union> union_of(const std::shared_ptr<const Version>& state,
                                        const std::shared_ptr<const Version>& policy) const;
  // Split mode: POSTs the state ConfigMap; on 409 (a replica was first) reads it.
  std::shared_ptr<const Version> create_state();
  void warn_once(const std::string& key, const std::string& message);
  std::shared_ptr<const Version> version_of(const nlohmann::json& object) const;
  void on_list(const std::vector<nlohmann::json>& items);
  void on_event(std::string_view type, const nlohmann::json& object);
  // Caches a version read or written directly (not from the watch).
  void set_cached(std::shared_ptr<const Version> version);
  void writer_loop();
  bool write_batch(std::vector<std::shared_ptr<Waiting>>& batch);  // true when it wrote
  // Moves queued changes into `batch` (up to max_batch); queue_mutex_ held.
  void take_queued(std::vector<std::shared_ptr<Waiting>>& batch);
  // Answers every change of `batch` with `registry` (nothing was written: the
  // changes left the registry as it stands).
  void answer_all(std::vector<std::shared_ptr<Waiting>>& batch, const Registry& registry);
  // Answers every change of `batch` not answered yet with `error`.
  void fail_all(std::vector<std::shared_ptr<Waiting>>& batch, const std::exception_ptr& error);
  std::string timeout_message(const Waiting& waiting) const;

  KubeClient& client_;
  std::string namespace_;
  std::string name_;
  std::string path_;
  Options options_;
  std::shared_ptr<MonotonicClock> clock_;
  Informer informer_;
  std::unique_ptr<PolicyWatch> policy_;  // null: not split mode
  // Split mode: what a missing state ConfigMap reads as, and is created as (no entries).
  std::shared_ptr<const Version> missing_state_;

  mutable std::mutex cache_mutex_;
  std::shared_ptr<const Version> cached_;              // from the watch or our own writes; null: none
  std::shared_ptr<const RegistrySnapshot> last_good_;  // the last registry read that parsed
  bool cached_missing_ = false;                        // the watch saw no such ConfigMap
  std::string awaiting_;  // resourceVersion of cached_ while the watch has not delivered it yet
  MonotonicClock::time_point awaiting_since_;
  std::deque<std::string> seen_;  // the resourceVersions the watch delivered lately, oldest first
  mutable std::shared_ptr<const Union> union_;  // split mode: the last union formed
  std::set<std::string> warned_;                // on_warning keys already told

  mutable std::mutex queue_mutex_;  // guards the fields below and every Waiting's state
  std::condition_variable_any queue_wake_;
  std::deque<std::shared_ptr<Waiting>> queue_;
  bool stopping_ = false;
  std::stop_source stop_source_;  // requested by stop(): ends the pause between writes
  Stats stats_;
  std::optional<MonotonicClock::time_point> last_conflict_;  // writer thread only
  std::thread writer_;
};

}  // namespace cdcguard::kube
