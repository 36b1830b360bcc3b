#include <fcntl.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <shared_mutex>
#include <sstream>

#include "cdcguard/model/registry_parser.hpp"
#include "cdcguard/model/registry_writer.hpp"
#include "cdcguard/store/file_registry_store.hpp"

namespace cdcguard {
namespace {

std::string errno_text(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

// flock() on FILE.lock for the lifetime of the object.
class FileLock {
 public:
  explicit FileLock(const std::string& path)
      : fd_(::open((path + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)) {
    if (fd_ < 0) throw StoreError(errno_text("cannot open lock file", path + ".lock"));
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) {
        const std::string message = errno_text("cannot lock", path + ".lock");
        ::close(fd_);
        throw StoreError(message);
      }
    }
  }
  ~FileLock() {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_;
};

void write_all(int fd, const std::string& text, const std::string& path) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw StoreError(errno_text("cannot write", path));
    }
    done += static_cast<std::size_t>(n);
  }
}

FileRegistryStore::FileIdentity identity_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw StoreError(errno_text("cannot read registry", path));
  FileRegistryStore::FileIdentity id;
  id.device = st.st_dev;
  id.inode = st.st_ino;
  id.size = st.st_size;
  id.mtime_ns = static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
  id.ctime_ns = static_cast<long long>(st.st_ctim.tv_sec) * 1000000000LL + st.st_ctim.tv_nsec;
  return id;
}

Registry parse_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw StoreError(errno_text("cannot read registry", path));
  std::ostringstream text;
  text << in.rdbuf();
  try {
    return parse_registry_document(text.str(), path);
  } catch (const RegistryError& e) {
    throw StoreError(e.what());
  }
}

std::string joined(const std::vector<std::string>& problems) {
  std::string s;
  for (const auto& p : problems) s += (s.empty() ? "" : "; ") + p;
  return s;
}

// The new file gets the old one's mode and owner: a registry kept 0644 for
// readers (or 0640 for a group) must not turn 0600, mkstemp's mode, after the
// first claim. chown needs privileges the webhook may lack; the mode is what
// matters to readers, so a refused chown is not an error. `new_mode` is for a
// file that does not exist yet.
void keep_mode_and_owner(int fd, const std::string& temp, const std::string& path, mode_t new_mode) {
  struct stat st {};
  const bool existed = ::stat(path.c_str(), &st) == 0;
  const mode_t mode = existed ? (st.st_mode & 07777) : new_mode;
  if (::fchmod(fd, mode) != 0) throw StoreError(errno_text("cannot set the mode of", temp));
  if (existed && ::fchown(fd, st.st_uid, st.st_gid) != 0 && errno != EPERM) {
    throw StoreError(errno_text("cannot set the owner of", temp));
  }
}

// Writes `text` to a temporary file next to `path`, fsyncs it and renames it
// over `path`, so a crash leaves the old file or the new one, never half of either.
void replace_file(const std::string& path, const std::string& text, mode_t new_mode) {
  const std::filesystem::path target(path);
  const std::filesystem::path dir =
      target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  std::string name = ".";
  name += target.filename().string();
  name += ".XXXXXX";
  std::string temp = (dir / name).string();
  const int fd = ::mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) throw StoreError(errno_text("cannot create a temporary file in", dir.string()));
  try {
    keep_mode_and_owner(fd, temp, path, new_mode);
    write_all(fd, text, temp);
    if (::fsync(fd) != 0) throw StoreError(errno_text("cannot fsync", temp));
  } catch (...) {
    ::close(fd);
    ::unlink(temp.c_str());
    throw;
  }
  if (::close(fd) != 0) {
    const std::string message = errno_text("cannot close", temp);
    ::unlink(temp.c_str());
    throw StoreError(message);
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const std::string message = errno_text("cannot replace", path);
    ::unlink(temp.c_str());
    throw StoreError(message);
  }
  // The rename itself is durable only once the directory is synced.
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

// Nothing but whitespace: `: > FILE`, `touch FILE`.
bool blank_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return true;  // not there (any other failure shows when it is replaced)
  for (char c; in.get(c);) {
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return false;
  }
  return true;
}

}  // namespace

FileRegistryStore::FileRegistryStore(std::string path) : path_(std::move(path)) {
  start_watch();
}

FileRegistryStore::~FileRegistryStore() {
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
}

// Any event in the file's directory marks the cache as possibly stale: the
// file replaced by rename (ours, another replica's, an editor's), or a
// Kubernetes volume swapping its ..data symlink. The kernel queues the event
// before the rename returns, so a non-blocking read of the inotify descriptor
// (far cheaper than a stat of the path) tells whether to compare the file's
// identity again. Without inotify, every snapshot() compares it.
void FileRegistryStore::start_watch() {
  const std::filesystem::path target(path_);
  const std::string dir = target.has_parent_path() ? target.parent_path().string() : std::string(".");
  inotify_fd_ = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (inotify_fd_ < 0) return;
  if (::inotify_add_watch(inotify_fd_, dir.c_str(),
                          IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE |
                              IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF) < 0) {
    ::close(inotify_fd_);
    inotify_fd_ = -1;
  }
}

bool FileRegistryStore::directory_changed() {
  if (inotify_fd_ < 0) return true;
  bool changed = false;
  alignas(inotify_event) char buf[4096];
  for (;;) {
    const ssize_t n = ::read(inotify_fd_, buf, sizeof buf);
    if (n > 0) {
      changed = true;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return changed;
    return true;  // the watch is broken (overflow is an event): check the file
  }
}

std::shared_ptr<const RegistrySnapshot> FileRegistryStore::snapshot() {
  // Every admission asks: when nothing happened in the directory this is one
  // read() that finds no event, and a shared lock.
  if (directory_changed()) maybe_changed_.store(true, std::memory_order_release);
  if (!maybe_changed_.load(std::memory_order_acquire)) {
    std::shared_lock lock(cache_mutex_);
    if (cached_) return cached_;
  }
  return load_if_changed();
}

std::shared_ptr<const RegistrySnapshot> FileRegistryStore::load_if_changed() {
  std::lock_guard guard(cache_mutex_);
  // Cleared before the stat: an event after it sets the flag again.
  maybe_changed_.store(false, std::memory_order_release);
  const FileIdentity identity = identity_of(path_);
  if (identity == cached_identity_) {
    if (cached_) return cached_;
    throw StoreError(cached_error_);  // the same broken file: not parsed again per request
  }
  try {
    cached_ = std::make_shared<const RegistrySnapshot>(parse_file(path_));
    cached_error_.clear();
  } catch (const StoreError& e) {
    cached_.reset();
    cached_error_ = e.what();
    cached_identity_ = identity;
    throw;
  }
  cached_identity_ = identity;
  return cached_;
}

Registry FileRegistryStore::update(const std::function<bool(Registry&)>& change) {
  std::lock_guard guard(write_mutex_);
  FileLock lock(path_);
  Registry registry = load_if_changed()->registry;
  if (!change(registry)) return registry;
  write_file(registry);
  auto written = std::make_shared<const RegistrySnapshot>(registry);
  std::lock_guard cache_guard(cache_mutex_);
  cached_identity_ = identity_of(path_);  // still under flock: no other writer got in between
  cached_ = std::move(written);
  cached_error_.clear();
  return registry;
}

void FileRegistryStore::write_file(const Registry& registry) {
  std::string text;
  try {
    text = render_checked_registry_yaml(registry);
  } catch (const RegistryError& e) {
    throw StoreError("refusing to write " + path_ + ", it could not be read back: " + joined(e.problems()));
  }
  // The file was read under this lock, so it exists; should it have been
  // removed since, the new one is readable by all, like a fresh file.
  replace_file(path_, text, 0644);
}

bool FileRegistryStore::create(const std::string& path, const std::string& text, bool overwrite,
                               mode_t new_mode) {
  FileLock lock(path);
  if (!overwrite && !blank_file(path)) return false;
  replace_file(path, text, new_mode);
  return true;
}

}  // namespace cdcguard
