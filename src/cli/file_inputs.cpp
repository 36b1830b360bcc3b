#include "cli/file_inputs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <utility>

namespace cdcguard::cli {
namespace fs = std::filesystem;

namespace {

bool manifest_extension(const fs::path& p) {
  const auto ext = p.extension().string();
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

bool hidden(std::string_view name) {
  return name.size() > 1 && name[0] == '.' && name != "..";
}

// "Permission denied" -> "permission denied": messages here are lower case.
std::string reason(int error) {
  std::string text = std::strerror(error);
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

std::string type_name(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "not a file or directory";
}

// Why stat() of `path` failed with `error`; a symlink's target is named.
std::string stat_problem(const std::string& path, int error) {
  struct stat link {};
  const bool is_link = ::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode);
  if (error == ELOOP) return "symlink loop: " + reason(error);
  if (is_link && (error == ENOENT || error == ENOTDIR)) {
    std::string target(4096, '\0');
    const ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
    target.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return "dangling symlink: its target " + target + " does not exist";
  }
  if (error == ENOENT) return "no such file or directory";
  return (is_link ? "cannot follow symlink: " : "") + reason(error);
}

using FileId = std::pair<dev_t, ino_t>;

// Walks one directory argument. A gate that passes over what it could not read
// is a hole, so every entry with a manifest name that cannot be read, and every
// directory that cannot be listed, becomes a problem, and the walk goes on.
// Symlinked directories are followed after the real tree, each directory is read
// once (by device and inode), so a link back up the tree ends the walk, and a
// file keeps the name under which the walk first met its directory.
class TreeWalk {
 public:
  explicit TreeWalk(std::vector<InputProblem>& problems) : problems_(problems) {}

  std::vector<std::string> files(const fs::path& root) {
    const std::size_t first_problem = problems_.size();
    pending_.push_back(root);
    for (;;) {
      while (!pending_.empty()) {
        const fs::path dir = std::move(pending_.back());
        pending_.pop_back();
        list(dir);
      }
      if (linked_.empty()) break;
      pending_.push_back(*linked_.begin());  // in name order, for a stable choice of name
      linked_.erase(linked_.begin());
    }
    std::sort(found_.begin(), found_.end());
    std::sort(problems_.begin() + static_cast<std::ptrdiff_t>(first_problem), problems_.end(),
              [](const InputProblem& a, const InputProblem& b) { return a.path < b.path; });
    return std::move(found_);
  }

 private:
  void problem(const fs::path& path, std::string message) {
    problems_.push_back({path.string(), std::move(message)});
  }

  void list(const fs::path& dir) {
    DIR* d = ::opendir(dir.c_str());
    if (!d) {
      problem(dir, "cannot list this directory: " + reason(errno));
      return;
    }
    const int fd = ::dirfd(d);
    struct stat self {};
    // fstatat(".") needs search permission, which reading the entries needs too.
    if (::fstatat(fd, ".", &self, 0) != 0) {
      problem(dir, "cannot list this directory: " + reason(errno));
    } else if (visited_.insert({self.st_dev, self.st_ino}).second) {
      for (;;) {
        errno = 0;
        const dirent* entry = ::readdir(d);
        if (!entry) {
          if (errno != 0) problem(dir, "cannot list this directory: " + reason(errno));
          break;
        }
        const std::string_view name = entry->d_name;
        if (name == "." || name == ".." || hidden(name)) continue;
        visit(dir / entry->d_name, fd, entry);
      }
    }
    ::closedir(d);
  }

  void visit(const fs::path& path, int dir_fd, const dirent* entry) {
    const bool manifest = manifest_extension(path);
    unsigned char type = entry->d_type;
    struct stat st {};
    if (type == DT_UNKNOWN) {
      if (::fstatat(dir_fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (manifest || errno != ENOENT) problem(path, "cannot stat: " + reason(errno));
        return;
      }
      type = S_ISDIR(st.st_mode)   ? DT_DIR
             : S_ISREG(st.st_mode) ? DT_REG
             : S_ISLNK(st.st_mode) ? DT_LNK
                                   : DT_FIFO;
    }
    if (type == DT_DIR) {
      pending_.push_back(path);
      return;
    }
    if (type == DT_REG) {
      if (manifest) found_.push_back(path.string());
      return;
    }
    if (type == DT_LNK) {
      if (::fstatat(dir_fd, entry->d_name, &st, 0) != 0) {
        const int error = errno;
        // A link nobody would read (no manifest name) that leads nowhere hides nothing.
        if (manifest || (error != ENOENT && error != ENOTDIR && error != ELOOP))
          problem(path, stat_problem(path.string(), error));
        return;
      }
      if (S_ISDIR(st.st_mode)) {
        if (!visited_.contains({st.st_dev, st.st_ino})) linked_.insert(path);
        return;
      }
      if (!manifest) return;
      if (S_ISREG(st.st_mode)) {
        found_.push_back(path.string());
      } else {
        problem(path, "not a regular file (" + type_name(st.st_mode) + " behind a symlink): not read");
      }
      return;
    }
    if (!manifest) return;
    // A FIFO would block the walk until somebody writes to it. Named on the
    // command line (process substitution), it is read.
    if (::fstatat(dir_fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) st.st_mode = S_IFIFO;
    problem(path, "not a regular file (" + type_name(st.st_mode) +
                      "): not read; name it on the command line to read it");
  }

  std::vector<InputProblem>& problems_;
  std::vector<fs::path> pending_;  // real directories still to list
  std::set<fs::path> linked_;      // symlinks to directories, listed after the real tree
  std::set<FileId> visited_;
  std::vector<std::string> found_;
};

// Pipes, /dev/stdin and <(process substitution) have no size: read to the limit.
std::optional<std::string> read_stream(std::istream& in, std::string& error) {
  std::string text;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxInputBytes) {
      error = "input is over the limit of " + std::to_string(kMaxInputBytes) + " bytes";
      return std::nullopt;
    }
  }
  if (in.bad()) {
    error = "read error";
    return std::nullopt;
  }
  return text;
}

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Reads `fd` to its end, refusing more than `limit` bytes; `size_hint` sizes the buffer.
std::optional<std::string> read_fd(int fd, std::size_t size_hint, std::string& error) {
  std::string text;
  text.resize(std::min(size_hint, kMaxInputBytes) + 1);
  std::size_t used = 0;
  for (;;) {
    if (used == text.size()) {
      if (used > kMaxInputBytes) {
        error = "input is over the limit of " + std::to_string(kMaxInputBytes) + " bytes";
        return std::nullopt;
      }
      text.resize(std::min(std::max<std::size_t>(used * 2, 65536), kMaxInputBytes + 1));
    }
    const ssize_t n = ::read(fd, text.data() + used, text.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      error = "read error: " + reason(errno);
      return std::nullopt;
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  if (used > kMaxInputBytes) {
    error = "input is over the limit of " + std::to_string(kMaxInputBytes) + " bytes";
    return std::nullopt;
  }
  text.resize(used);
  return text;
}

}  // namespace

std::optional<std::string> read_file(const std::string& path, std::string& error) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    error = stat_problem(path, errno);
    return std::nullopt;
  }
  if (S_ISDIR(st.st_mode)) {
    error = "is a directory";
    return std::nullopt;
  }
  if (S_ISREG(st.st_mode) && static_cast<std::uintmax_t>(st.st_size) > kMaxInputBytes) {
    error = "file is " + std::to_string(st.st_size) + " bytes, over the limit of " +
            std::to_string(kMaxInputBytes);
    return std::nullopt;
  }
  // Opening a FIFO named on the command line waits for its writer, as `cat` does.
  const FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    error = "cannot read: " + reason(errno);
    return std::nullopt;
  }
  return read_fd(fd.get(), S_ISREG(st.st_mode) ? static_cast<std::size_t>(st.st_size) : 65536, error);
}

std::optional<InputFile> read_input(const std::string& path, std::istream& stdin_stream, std::string& error) {
  if (path != "-") {
    auto text = read_file(path, error);
    if (!text) return std::nullopt;
    return InputFile{path, std::move(*text)};
  }
  auto text = read_stream(stdin_stream, error);
  if (!text) return std::nullopt;
  return InputFile{"<stdin>", std::move(*text)};
}

std::vector<std::string> expand_inputs(const std::vector<std::string>& paths,
                                       std::vector<InputProblem>& problems) {
  std::vector<std::string> files;
  for (const auto& path : paths) {
    if (path == "-") {
      files.push_back(path);
      continue;
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      problems.push_back({path, stat_problem(path, errno)});
      continue;
    }
    if (!S_ISDIR(st.st_mode)) {
      files.push_back(path);  // named on the command line: read whatever it is
      continue;
    }
    auto found = TreeWalk(problems).files(path);
    files.insert(files.end(), std::make_move_iterator(found.begin()), std::make_move_iterator(found.end()));
  }
  return files;
}

}  // namespace cdcguard::cli
