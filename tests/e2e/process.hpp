// Processes for the end-to-end tests: run a program to completion and read
// what it printed (kubectl), or keep one running in the background with its
// output in a log file (etcd, kube-apiserver, cdc-guard serve).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cdcguard::e2e {

struct ProcessResult {
  int exit_code = -1;  // -1: killed by a signal or by our timeout
  bool timed_out = false;
  std::string out;
  std::string err;
  bool ok() const { return exit_code == 0; }
  // For failure messages: the exit code and both streams.
  std::string describe() const;
};

struct RunSpec {
  std::vector<std::string> argv;           // argv[0] is the program's path
  std::map<std::string, std::string> env;  // added to (or replacing in) this process's environment
  std::optional<std::string> stdin_text;   // nullopt: stdin at EOF
  // A hang guard, never a verdict: a run that needs it has failed anyway.
  std::chrono::seconds timeout{120};
};

ProcessResult run_process(const RunSpec& spec);

// A program running in the background, in its own process group, its stdout
// and stderr appended to `log`. Stopped (SIGTERM, then SIGKILL after `grace`)
// by stop() or the destructor.
class Daemon {
 public:
  Daemon() = default;
  Daemon(const RunSpec& spec, const std::filesystem::path& log);
  ~Daemon();
  Daemon(Daemon&& other) noexcept;
  Daemon& operator=(Daemon&& other) noexcept;
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  // The exit code once it ended (-1 after a signal); nullopt while running.
  std::optional<int> exit_code();
  // SIGTERM, wait up to `grace`, then SIGKILL. Returns the exit code (-1 after a signal).
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(10));
  void kill_now();
  const std::filesystem::path& log() const { return log_; }
  std::string log_tail(std::size_t bytes = 4000) const;

 private:
  void reap(bool block);
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::filesystem::path log_;
};

// A loopback TCP port that was free a moment ago (bind to 0, read it, close).
int free_port();

std::string read_file(const std::filesystem::path& p);
void write_file(const std::filesystem::path& p, const std::string& text);

}  // namespace cdcguard::e2e
