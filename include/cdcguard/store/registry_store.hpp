#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include "cdcguard/model/registry.hpp"
#include "cdcguard/policy/registry_index.hpp"

// Where the registry lives: a file (store/file_registry_store.hpp, for `check`
// and standalone `serve`), a ConfigMap (kube/configmap_registry_store.hpp) or
// memory (below, for tests). Every claim goes through update(), which applies a change
// to the newest registry and writes it as one step, so two claims can never
// both take an id.
namespace cdcguard {

class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The store could not be reached (the API server is down or timed out), as
// opposed to a registry that is broken or refused: `--on-api-error
// allow-from-cache` may admit from the last registry seen in this case only.
class StoreUnavailable : public StoreError {
 public:
  using StoreError::StoreError;
};

// One version of the registry with its index built once, shared by every
// request that reads it (a 10,000-entry registry is not re-parsed or re-indexed
// per admission). Immutable.
struct RegistrySnapshot {
  explicit RegistrySnapshot(Registry r) : registry(std::move(r)), index(registry) {}
  RegistrySnapshot(const RegistrySnapshot&) = delete;
  RegistrySnapshot& operator=(const RegistrySnapshot&) = delete;

  const Registry registry;
  const RegistryIndex index;  // refers to `registry` above
};

class RegistryStore {
 public:
  virtual ~RegistryStore() = default;
  // The newest registry. Throws StoreError when it cannot be read or parsed.
  virtual std::shared_ptr<const RegistrySnapshot> snapshot() = 0;
  Registry read() { return snapshot()->registry; }
  // Runs `change` on the newest registry; when it returns true, the changed
  // registry is written. Returns the registry as it stands afterwards. Throws
  // StoreError when the registry cannot be read, parsed or written; the stored
  // registry is then unchanged. A registry that the parser would refuse is
  // never written (render_checked_registry_yaml): a bug in a change fails
  // that update instead of leaving a registry nobody can read.
  virtual Registry update(const std::function<bool(Registry&)>& change) = 0;
  // The last registry successfully read, even when the store cannot be
  // reached now; null when there never was one. For --on-api-error
  // allow-from-cache.
  virtual std::shared_ptr<const RegistrySnapshot> last_known() { return nullptr; }
};

// The registry in memory: for tests and fuzzing, and the shape a cache takes.
class MemoryRegistryStore : public RegistryStore {
 public:
  explicit MemoryRegistryStore(Registry registry)
      : current_(std::make_shared<const RegistrySnapshot>(std::move(registry))) {}
  std::shared_ptr<const RegistrySnapshot> snapshot() override {
    std::lock_guard guard(mutex_);
    return current_;
  }
  Registry update(const std::function<bool(Registry&)>& change) override {
    std::lock_guard guard(mutex_);
    Registry registry = current_->registry;
    if (change(registry)) current_ = std::make_shared<const RegistrySnapshot>(registry);
    return registry;
  }

 private:
  std::mutex mutex_;
  std::shared_ptr<const RegistrySnapshot> current_;
};

}  // namespace cdcguard
