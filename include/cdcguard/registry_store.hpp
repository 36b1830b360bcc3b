#pragma once

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <string>

#include "cdcguard/registry.hpp"
#include "cdcguard/registry_index.hpp"

// Where the registry lives: a file (standalone `serve`, this header) or a
// ConfigMap (later). Every claim goes through update(), which applies a change
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

// The registry as a YAML file (bare or a ConfigMap manifest when read; written
// back as bare canonical YAML). Writes go to a temporary file in the same
// directory, are fsynced and renamed over the old one, so a crash leaves the
// old file or the new one, never half of either; the new file keeps the old
// one's mode and (when permitted) owner. Updates are serialised in this
// process by a mutex and across processes by flock on FILE.lock. A file that
// cannot be read (missing, empty, invalid) is an error and never written
// over, and a registry the parser would refuse is never written.
//
// The parsed file is cached and re-read only when the file changes (another
// process, an editor): its device, inode, size and change times are compared
// when inotify reports any change in its directory (on every snapshot() when
// inotify is not available).
class FileRegistryStore : public RegistryStore {
 public:
  explicit FileRegistryStore(std::string path);
  ~FileRegistryStore() override;
  FileRegistryStore(const FileRegistryStore&) = delete;
  FileRegistryStore& operator=(const FileRegistryStore&) = delete;
  std::shared_ptr<const RegistrySnapshot> snapshot() override;
  Registry update(const std::function<bool(Registry&)>& change) override;
  const std::string& path() const { return path_; }

  // Writes `text` as the registry file at `path` (`cdc-guard registry init`)
  // as update() writes, under the same lock. A file that holds anything but
  // whitespace is left alone (false) unless `overwrite`. A replaced file keeps
  // its mode and owner; a new one gets `new_mode`. Throws StoreError.
  static bool create(const std::string& path, const std::string& text, bool overwrite, mode_t new_mode);

  struct FileIdentity {
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = -1;
    long long mtime_ns = 0;
    long long ctime_ns = 0;
    bool operator==(const FileIdentity&) const = default;
  };

 private:
  std::shared_ptr<const RegistrySnapshot> load_if_changed();
  void start_watch();
  bool directory_changed();
  void write_file(const Registry& registry);

  std::string path_;
  std::mutex write_mutex_;         // one update at a time in this process (flock across processes)
  std::shared_mutex cache_mutex_;  // guards the fields below
  std::shared_ptr<const RegistrySnapshot> cached_;  // null when the file did not parse
  std::string cached_error_;                        // why, for that same file
  FileIdentity cached_identity_;
  int inotify_fd_ = -1;
  std::atomic<bool> maybe_changed_{true};
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
