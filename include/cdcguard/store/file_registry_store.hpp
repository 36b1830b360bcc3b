#pragma once

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>

#include "cdcguard/store/registry_store.hpp"

namespace cdcguard {

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

}  // namespace cdcguard
