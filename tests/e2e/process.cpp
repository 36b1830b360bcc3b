#include "e2e/process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>

#include "support/subprocess.hpp"

extern char** environ;

namespace cdcguard::e2e {

using testing_support::Pipe;

namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// argv and envp as spawn wants them, kept alive with their strings.
struct Exec {
  std::vector<std::string> strings;
  std::vector<char*> argv;
  std::vector<char*> envp;
  explicit Exec(const RunSpec& spec) {
    if (spec.argv.empty()) throw std::invalid_argument("run_process: empty argv");
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) {
      const std::string entry(*e);
      const auto name = entry.substr(0, entry.find('='));
      if (!spec.env.count(name)) env.push_back(entry);
    }
    for (const auto& [k, v] : spec.env) env.push_back(k + "=" + v);
    strings = spec.argv;
    strings.insert(strings.end(), env.begin(), env.end());
    for (std::size_t i = 0; i < strings.size(); ++i) {
      (i < spec.argv.size() ? argv : envp).push_back(strings[i].data());
    }
    argv.push_back(nullptr);
    envp.push_back(nullptr);
  }
};

pid_t spawn(const RunSpec& spec, int in, int out, int err, bool new_group) {
  Exec exec(spec);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err, STDERR_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  short flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
  if (new_group) {
    flags |= POSIX_SPAWN_SETPGROUP;
    posix_spawnattr_setpgroup(&attr, 0);
  }
  posix_spawnattr_setflags(&attr, flags);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, exec.argv[0], &actions, &attr, exec.argv.data(), exec.envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw std::system_error(rc, std::generic_category(), "posix_spawn " + spec.argv[0]);
  return pid;
}

int decode(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

std::string ProcessResult::describe() const {
  std::string s = timed_out ? "timed out" : "exit code " + std::to_string(exit_code);
  s += "\n--- stdout ---\n" + out.substr(0, 6000) + "\n--- stderr ---\n" + err.substr(0, 6000);
  return s;
}

ProcessResult run_process(const RunSpec& spec) {
  static const bool sigpipe_ignored = [] { return ::signal(SIGPIPE, SIG_IGN) != SIG_ERR; }();
  (void)sigpipe_ignored;
  Pipe in, out, err;
  const pid_t pid = spawn(spec, in.read_end(), out.write_end(), err.write_end(), false);
  in.close_read();
  out.close_write();
  err.close_write();
  auto captured =
      testing_support::exchange(pid, in, out, err, spec.stdin_text.value_or(""),
                                std::chrono::duration_cast<std::chrono::milliseconds>(spec.timeout));
  ProcessResult result;
  result.out = std::move(captured.out);
  result.err = std::move(captured.err);
  result.timed_out = captured.timed_out;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) fail("waitpid");
  }
  result.exit_code = result.timed_out ? -1 : decode(status);
  return result;
}

Daemon::Daemon(const RunSpec& spec, const std::filesystem::path& log) : log_(log) {
  const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) fail("open " + log.string());
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  try {
    pid_ = spawn(spec, null_fd, log_fd, log_fd, true);
  } catch (...) {
    ::close(log_fd);
    ::close(null_fd);
    throw;
  }
  ::close(log_fd);
  ::close(null_fd);
}

Daemon::~Daemon() {
  if (pid_ > 0) stop(std::chrono::seconds(5));
}

Daemon::Daemon(Daemon&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), status_(other.status_), log_(std::move(other.log_)) {}

Daemon& Daemon::operator=(Daemon&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0) stop(std::chrono::seconds(5));
    pid_ = std::exchange(other.pid_, -1);
    status_ = other.status_;
    log_ = std::move(other.log_);
  }
  return *this;
}

void Daemon::reap(bool block) {
  if (pid_ <= 0 || status_) return;
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
    if (r == pid_) {
      status_ = decode(status);
      return;
    }
    if (r == 0) return;
    if (errno != EINTR) return;
  }
}

bool Daemon::running() {
  reap(false);
  return pid_ > 0 && !status_;
}

std::optional<int> Daemon::exit_code() {
  reap(false);
  return status_;
}

int Daemon::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return -1;
  if (running()) {
    ::kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + grace;
    while (running() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (running()) ::kill(-pid_, SIGKILL);
    reap(true);
  }
  const int code = status_.value_or(-1);
  pid_ = -1;
  return code;
}

void Daemon::kill_now() {
  if (pid_ <= 0) return;
  if (running()) ::kill(-pid_, SIGKILL);
  reap(true);
  pid_ = -1;
}

std::string Daemon::log_tail(std::size_t bytes) const {
  const std::string all = read_file(log_);
  return all.size() > bytes ? all.substr(all.size() - bytes) : all;
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    fail("bind 127.0.0.1:0");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot write " + p.string());
  out << text;
}

}  // namespace cdcguard::e2e
