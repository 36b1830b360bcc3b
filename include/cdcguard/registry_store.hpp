#pragma once

#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>

#include "cdcguard/registry.hpp"

// Where the registry lives: a file (standalone `serve`, this header) or a
// ConfigMap (later). Every claim goes through update(), which applies a change
// to the newest registry and writes it as one step, so two claims can never
// both take an id.
namespace cdcguard {

class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class RegistryStore {
 public:
  virtual ~RegistryStore() = default;
  virtual Registry read() = 0;
  // Runs `change` on the newest registry; when it returns true, the changed
  // registry is written. Returns the registry as it stands afterwards. Throws
  // StoreError when the registry cannot be read, parsed or written; the stored
  // registry is then unchanged.
  virtual Registry update(const std::function<bool(Registry&)>& change) = 0;
};

// The registry as a YAML file (bare or a ConfigMap manifest when read; written
// back as bare canonical YAML). Writes go to a temporary file in the same
// directory, are fsynced and renamed over the old one, so a crash leaves the
// old file or the new one, never half of either. Updates are serialised in
// this process by a mutex and across processes by flock on FILE.lock.
class FileRegistryStore : public RegistryStore {
 public:
  explicit FileRegistryStore(std::string path);
  Registry read() override;
  Registry update(const std::function<bool(Registry&)>& change) override;
  const std::string& path() const { return path_; }

 private:
  Registry read_unlocked();
  void write_unlocked(const Registry& registry);

  std::string path_;
  std::mutex mutex_;
};

}  // namespace cdcguard
