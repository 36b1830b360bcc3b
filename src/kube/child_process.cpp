#include "kube/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <system_error>

namespace cdcguard::kube {

namespace {

// How long one poll() waits at most: the deadline is read from an injected
// clock, which a test may move while we wait, so we look at it this often.
constexpr int kPollSliceMs = 20;

class Fd {
 public:
  Fd() = default;
  ~Fd() { reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  bool open() const { return fd_ >= 0; }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

void make_pipe(Fd& read_end, Fd& write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
  read_end.reset(fds[0]);
  write_end.reset(fds[1]);
}

struct SpawnSetup {
  posix_spawn_file_actions_t actions{};
  posix_spawnattr_t attr{};
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

// One read of what is there (one at a time, so that the limits are checked
// between reads); false at EOF or on an error other than "try again".
bool read_some(int fd, std::string& sink) {
  char buffer[16384];
  const ssize_t n = ::read(fd, buffer, sizeof buffer);
  if (n > 0) {
    sink.append(buffer, static_cast<std::size_t>(n));
    return true;
  }
  return n < 0 && (errno == EINTR || errno == EAGAIN);
}

}  // namespace

ChildOutcome run_child(const ChildProgram& program, const ChildLimits& limits) {
  ChildOutcome outcome;
  Fd out_read, out_write, err_read, err_write;
  make_pipe(out_read, out_write);
  make_pipe(err_read, err_write);

  SpawnSetup setup;
  posix_spawn_file_actions_addopen(&setup.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&setup.actions, out_write.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&setup.actions, err_write.get(), STDERR_FILENO);
  // Our listening and API sockets are not the plugin's business, whether or
  // not they were opened close-on-exec.
  posix_spawn_file_actions_addclosefrom_np(&setup.actions, STDERR_FILENO + 1);
  // A group of its own, so that a timeout kills what the plugin started too;
  // default signal handling and no blocked signals, whatever our threads set.
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setpgroup(&setup.attr, 0);
  posix_spawnattr_setsigmask(&setup.attr, &none);
  posix_spawnattr_setsigdefault(&setup.attr, &all);
  posix_spawnattr_setflags(&setup.attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(program.command.c_str()));
  for (const auto& arg : program.args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& variable : program.environment) envp.push_back(const_cast<char*>(variable.c_str()));
  envp.push_back(nullptr);

  // Taken before the child starts: a test that sees the child running and
  // then moves the clock must find the deadline already set.
  const auto deadline = limits.clock->now() + limits.timeout;
  pid_t pid = 0;
  // posix_spawnp reports a failed exec (not found, not executable) as its result.
  const int spawned =
      ::posix_spawnp(&pid, program.command.c_str(), &setup.actions, &setup.attr, argv.data(), envp.data());
  out_write.reset();
  err_write.reset();
  if (spawned != 0) {
    outcome.ending = ChildOutcome::Ending::NotStarted;
    outcome.spawn_error = spawned;
    return outcome;
  }
  ::fcntl(out_read.get(), F_SETFL, O_NONBLOCK);
  ::fcntl(err_read.get(), F_SETFL, O_NONBLOCK);

  bool reaped = false;
  int status = 0;
  const auto kill_group = [&](ChildOutcome::Ending why) {
    // The group outlives the plugin while something it started holds our pipes.
    if (!reaped || out_read.open() || err_read.open()) ::kill(-pid, SIGKILL);
    if (!reaped) {
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
    }
    outcome.ending = why;
  };

  while (true) {
    if (!reaped && ::waitpid(pid, &status, WNOHANG) == pid) reaped = true;
    if (reaped && !out_read.open() && !err_read.open()) break;
    if (limits.clock->now() >= deadline) {
      kill_group(ChildOutcome::Ending::TimedOut);
      return outcome;
    }
    pollfd fds[2];
    nfds_t count = 0;
    for (const Fd* fd : {&out_read, &err_read}) {
      if (fd->open()) fds[count++] = pollfd{fd->get(), POLLIN, 0};
    }
    const int ready = ::poll(count ? fds : nullptr, count, kPollSliceMs);
    if (ready <= 0) continue;
    if (out_read.open() && !read_some(out_read.get(), outcome.out)) out_read.reset();
    if (err_read.open() && !read_some(err_read.get(), outcome.err)) err_read.reset();
    if (outcome.err.size() > limits.stderr_tail) {
      outcome.err.erase(0, outcome.err.size() - limits.stderr_tail);
    }
    if (outcome.out.size() > limits.max_stdout) {
      outcome.out.resize(limits.max_stdout);
      kill_group(ChildOutcome::Ending::OutputTooLarge);
      return outcome;
    }
  }
  if (WIFSIGNALED(status)) {
    outcome.ending = ChildOutcome::Ending::Killed;
    outcome.signal = WTERMSIG(status);
  } else {
    outcome.ending = ChildOutcome::Ending::Exited;
    outcome.exit_code = WEXITSTATUS(status);
  }
  return outcome;
}

}  // namespace cdcguard::kube
