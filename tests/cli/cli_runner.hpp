// Runs the built cdc-guard binary as a subprocess (no shell) and reads what it
// printed: the helpers every CLI test shares.
#pragma once

#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/subprocess.hpp"

extern char** environ;

namespace cdcguard::cli_testing {

namespace fs = std::filesystem;
using nlohmann::json;

// ---------------------------------------------------------------------------
// Subprocess runner

struct RunResult {
  bool exited = false;  // ended by exit(), not by a signal or our timeout
  int exit_code = -1;
  int term_signal = 0;
  bool timed_out = false;
  std::string out;
  std::string err;
};

struct RunOptions {
  std::optional<std::string> stdin_text;  // nullopt: stdin is at EOF at once
  fs::path cwd;                           // empty: the test's working directory
  // Run as root would without its power over files (CAP_DAC_OVERRIDE,
  // CAP_DAC_READ_SEARCH), so chmod 000 stops the child as it stops any user.
  // CI runs the tests as root; a normal user needs nothing.
  bool obey_file_permissions = false;
};

inline RunOptions obeying_file_permissions(RunOptions o = {}) {
  o.obey_file_permissions = true;
  return o;
}

inline RunOptions in_dir(const fs::path& cwd) {
  RunOptions o;
  o.cwd = cwd;
  return o;
}

inline RunOptions with_stdin(std::string text) {
  RunOptions o;
  o.stdin_text = std::move(text);
  return o;
}

template <class Case>
inline std::string case_name(const testing::TestParamInfo<Case>& param_info) {
  return param_info.param.name;
}

inline constexpr auto kRunTimeout = std::chrono::seconds(60);

using testing_support::Pipe;

inline pid_t spawn(std::vector<char*>& argv, const Pipe& in, const Pipe& out, const Pipe& err,
                   const fs::path& cwd) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in.read_end(), STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out.write_end(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err.write_end(), STDERR_FILENO);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  const int spawn_error = ::posix_spawn(&pid, CDCGUARD_BINARY, &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (spawn_error != 0) throw std::system_error(spawn_error, std::generic_category(), "posix_spawn");
  return pid;
}

// posix_spawn cannot drop capabilities, so fork: between fork and exec the
// child makes only async-signal-safe calls. Dropping the two capabilities from
// the bounding set (and the inheritable and ambient sets) keeps exec from
// granting them back to uid 0. The child exits 127 with a message on stderr
// when it cannot.
inline pid_t fork_without_file_capabilities(std::vector<char*>& argv, const Pipe& in, const Pipe& out,
                                            const Pipe& err, const fs::path& cwd) {
  const char* dir = cwd.empty() ? nullptr : cwd.c_str();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid > 0) return pid;
  auto die = [](const char* what) {
    const char prefix[] = "cli_runner: cannot drop file capabilities: ";
    [[maybe_unused]] auto a = ::write(STDERR_FILENO, prefix, sizeof prefix - 1);
    [[maybe_unused]] auto b = ::write(STDERR_FILENO, what, std::strlen(what));
    ::_exit(127);
  };
  if (::dup2(in.read_end(), STDIN_FILENO) < 0 || ::dup2(out.write_end(), STDOUT_FILENO) < 0 ||
      ::dup2(err.write_end(), STDERR_FILENO) < 0)
    ::_exit(127);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigaction(SIGPIPE, &dfl, nullptr);
  if (dir && ::chdir(dir) != 0) die("chdir");
  for (const int cap : {CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH}) {
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) die("PR_CAPBSET_DROP");
  }
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) die("PR_CAP_AMBIENT_CLEAR_ALL");
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (::syscall(SYS_capget, &header, data) != 0) die("capget");
  for (auto& d : data) d.inheritable = 0;
  if (::syscall(SYS_capset, &header, data) != 0) die("capset");
  ::execve(CDCGUARD_BINARY, argv.data(), environ);
  die("execve");
  return -1;  // not reached
}

inline RunResult run_cdcguard(const std::vector<std::string>& args, const RunOptions& options = {}) {
  // A child that exits before reading all of stdin must not kill the test with SIGPIPE.
  static const bool sigpipe_ignored = [] { return ::signal(SIGPIPE, SIG_IGN) != SIG_ERR; }();
  (void)sigpipe_ignored;

  Pipe in;
  Pipe out;
  Pipe err;
  std::vector<std::string> storage;
  storage.reserve(args.size() + 1);
  storage.emplace_back(CDCGUARD_BINARY);
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : storage) argv.push_back(s.data());
  argv.push_back(nullptr);

  const pid_t pid = options.obey_file_permissions && ::geteuid() == 0
                        ? fork_without_file_capabilities(argv, in, out, err, options.cwd)
                        : spawn(argv, in, out, err, options.cwd);
  in.close_read();
  out.close_write();
  err.close_write();

  RunResult result;
  auto captured = testing_support::exchange(pid, in, out, err, options.stdin_text.value_or(""), kRunTimeout);
  result.out = std::move(captured.out);
  result.err = std::move(captured.err);
  result.timed_out = captured.timed_out;

  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "waitpid");
  }
  if (WIFEXITED(status)) {
    result.exited = !result.timed_out;
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.term_signal = WTERMSIG(status);
  }
  return result;
}

// EXPECT_TRUE(ExitedWith(r, 1)): a normal exit with that code; prints the
// process's output when it is not.
inline testing::AssertionResult ExitedWith(const RunResult& r, int code) {
  if (r.exited && r.exit_code == code) return testing::AssertionSuccess();
  auto failure = testing::AssertionFailure();
  if (r.timed_out) {
    failure << "timed out";
  } else if (!r.exited) {
    failure << "killed by signal " << r.term_signal << " (" << ::strsignal(r.term_signal) << ")";
  } else {
    failure << "exit code " << r.exit_code << ", expected " << code;
  }
  return failure << "\n--- stdout ---\n"
                 << r.out.substr(0, 4000) << "\n--- stderr ---\n"
                 << r.err.substr(0, 4000);
}

// ---------------------------------------------------------------------------
// Files

inline fs::path fixture(std::string_view name) {
  return fs::path(CDCGUARD_FIXTURES) / "cli" / name;
}

inline std::string fixture_arg(std::string_view name) {
  return fixture(name).string();
}

inline std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A fresh directory per test, removed with everything in it at the end.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "cdcguard-cli-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::system_error(errno, std::generic_category(), "mkdtemp");
    path_ = pattern;
  }
  ~TempDir() {
    allow_removal(path_);  // a test may have locked a directory (chmod 000)
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }

  fs::path write(const fs::path& relative, std::string_view content) const {
    const fs::path p = path_ / relative;
    fs::create_directories(p.parent_path());
    std::ofstream f(p, std::ios::binary);
    f.write(content.data(), static_cast<std::streamsize>(content.size()));
    return p;
  }

  fs::path copy_fixture(std::string_view name, const fs::path& relative) const {
    return write(relative, read_text(fixture(name)));
  }

 private:
  static void allow_removal(const fs::path& dir) {
    std::error_code ec;
    if (!fs::is_directory(fs::symlink_status(dir, ec))) return;
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::add, ec);
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
      allow_removal(it->path());
  }

  fs::path path_;
};

// ---------------------------------------------------------------------------
// Output

inline std::optional<json> parse_json(const std::string& text) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return std::nullopt;
  return doc;
}

inline const json* find_violation(const json& report, std::string_view rule, std::string_view connector) {
  for (const auto& v : report.at("violations")) {
    if (v.value("rule", "") == rule && v.value("connector", "") == connector) return &v;
  }
  return nullptr;
}

inline std::vector<std::string> rules_of(const json& report) {
  std::vector<std::string> rules;
  for (const auto& v : report.at("violations")) rules.push_back(v.at("rule").get<std::string>());
  return rules;
}

inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

inline bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

}  // namespace cdcguard::cli_testing
