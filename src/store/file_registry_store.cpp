#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cdcguard/registry_parser.hpp"
#include "cdcguard/registry_store.hpp"
#include "cdcguard/registry_writer.hpp"

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

}  // namespace

FileRegistryStore::FileRegistryStore(std::string path) : path_(std::move(path)) {}

Registry FileRegistryStore::read() {
  std::lock_guard guard(mutex_);
  return read_unlocked();
}

Registry FileRegistryStore::update(const std::function<bool(Registry&)>& change) {
  std::lock_guard guard(mutex_);
  FileLock lock(path_);
  Registry registry = read_unlocked();
  if (change(registry)) write_unlocked(registry);
  return registry;
}

Registry FileRegistryStore::read_unlocked() {
  std::ifstream in(path_, std::ios::binary);
  if (!in) throw StoreError(errno_text("cannot read registry", path_));
  std::ostringstream text;
  text << in.rdbuf();
  try {
    return parse_registry_document(text.str(), path_);
  } catch (const RegistryError& e) {
    throw StoreError(e.what());
  }
}

void FileRegistryStore::write_unlocked(const Registry& registry) {
  const std::string text = render_registry_yaml(registry);
  const std::filesystem::path target(path_);
  const std::filesystem::path dir =
      target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  std::string temp = (dir / ("." + target.filename().string() + ".XXXXXX")).string();
  const int fd = ::mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) throw StoreError(errno_text("cannot create a temporary file in", dir.string()));
  try {
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
  if (::rename(temp.c_str(), path_.c_str()) != 0) {
    const std::string message = errno_text("cannot replace", path_);
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

}  // namespace cdcguard
