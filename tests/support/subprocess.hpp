// The plumbing every test that runs a program shares (the CLI tests' runner,
// the e2e tests' kubectl): close-on-exec pipes, and a poll loop that writes a
// child's stdin while it reads its stdout and stderr, so that neither side can
// block the other, until both are at EOF or a hang guard runs out.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <string>
#include <system_error>
#include <vector>

namespace cdcguard::testing_support {

class Pipe {
 public:
  Pipe() {
    if (::pipe2(fds_, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
  }
  ~Pipe() {
    close_read();
    close_write();
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  int read_end() const { return fds_[0]; }
  int write_end() const { return fds_[1]; }
  void close_read() { close_fd(fds_[0]); }
  void close_write() { close_fd(fds_[1]); }

 private:
  static void close_fd(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  int fds_[2] = {-1, -1};
};

// Reads what is available on `fd` into `sink`; false once the pipe is at EOF.
inline bool drain(int fd, std::string& sink) {
  char buf[65536];
  const ssize_t n = ::read(fd, buf, sizeof buf);
  if (n > 0) {
    sink.append(buf, static_cast<std::size_t>(n));
    return true;
  }
  return n < 0 && (errno == EINTR || errno == EAGAIN);
}

struct Captured {
  std::string out;
  std::string err;
  bool timed_out = false;  // the child was killed (SIGKILL) by the hang guard
};

// With the child `pid` started on the other ends of these pipes (and this
// side's copies of those ends closed): feeds `stdin_text` to `in` (closing it
// at once when empty) and collects stdout and stderr until both are at EOF.
// After `guard`, kills the child and stops. The caller reaps it.
inline Captured exchange(pid_t pid, Pipe& in, Pipe& out, Pipe& err, const std::string& stdin_text,
                         std::chrono::milliseconds guard) {
  std::size_t written = 0;
  if (stdin_text.empty()) {
    in.close_write();
  } else {
    ::fcntl(in.write_end(), F_SETFL, ::fcntl(in.write_end(), F_GETFL) | O_NONBLOCK);
  }
  Captured c;
  bool out_open = true;
  bool err_open = true;
  const auto deadline = std::chrono::steady_clock::now() + guard;
  while (out_open || err_open) {
    std::vector<pollfd> fds;
    if (out_open) fds.push_back({out.read_end(), POLLIN, 0});
    if (err_open) fds.push_back({err.read_end(), POLLIN, 0});
    if (in.write_end() >= 0) fds.push_back({in.write_end(), POLLOUT, 0});
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      c.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) throw std::system_error(errno, std::generic_category(), "poll");
    for (const auto& p : fds) {
      if (p.revents == 0) continue;
      if (p.fd == out.read_end()) {
        out_open = drain(p.fd, c.out);
      } else if (p.fd == err.read_end()) {
        err_open = drain(p.fd, c.err);
      } else {
        const std::size_t chunk = std::min<std::size_t>(stdin_text.size() - written, 65536);
        const ssize_t n = ::write(p.fd, stdin_text.data() + written, chunk);
        if (n > 0) written += static_cast<std::size_t>(n);
        if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == stdin_text.size()) in.close_write();
      }
    }
  }
  in.close_write();
  return c;
}

}  // namespace cdcguard::testing_support
