#include "e2e/tcp_balancer.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <system_error>

namespace cdcguard::e2e {

namespace {

sockaddr_in loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  return addr;
}

// Copies what is readable on `from` to `to`; false at EOF or on an error.
bool copy_some(int from, int to) {
  char buf[65536];
  const ssize_t n = ::recv(from, buf, sizeof buf, 0);
  if (n <= 0) return n < 0 && (errno == EINTR || errno == EAGAIN);
  for (ssize_t sent = 0; sent < n;) {
    const ssize_t w = ::send(to, buf + sent, static_cast<std::size_t>(n - sent), MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    sent += w;
  }
  return true;
}

}  // namespace

TcpBalancer::TcpBalancer(std::vector<int> backend_ports) : backends_(std::move(backend_ports)) {
  for (std::size_t i = 0; i < backends_.size(); ++i)
    counts_.push_back(std::make_unique<std::atomic<long>>(0));
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener_ < 0) throw std::system_error(errno, std::generic_category(), "socket");
  const int one = 1;
  ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  auto addr = loopback(0);
  socklen_t len = sizeof addr;
  if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener_, 1024) != 0 ||
      ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(listener_);
    throw std::system_error(errno, std::generic_category(), "balancer listen");
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

TcpBalancer::~TcpBalancer() {
  stopping_ = true;
  ::shutdown(listener_, SHUT_RDWR);
  acceptor_.join();
  ::close(listener_);
  {
    std::lock_guard guard(mutex_);
    for (const int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  for (auto& t : pipes_) t.join();
}

std::vector<long> TcpBalancer::connections_per_backend() const {
  std::vector<long> out;
  for (const auto& c : counts_) out.push_back(c->load());
  return out;
}

void TcpBalancer::accept_loop() {
  while (!stopping_) {
    const int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) {
      if (stopping_) return;
      if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE) continue;
      return;
    }
    std::lock_guard guard(mutex_);
    open_fds_.push_back(client);
    pipes_.emplace_back([this, client] { pipe_connection(client); });
  }
}

int TcpBalancer::connect_backend(std::size_t& chosen) {
  const std::size_t start = next_.fetch_add(1);
  for (std::size_t i = 0; i < backends_.size(); ++i) {
    const std::size_t b = (start + i) % backends_.size();
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    const auto addr = loopback(backends_[b]);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      chosen = b;
      return fd;
    }
    ::close(fd);
  }
  return -1;
}

void TcpBalancer::pipe_connection(int client) {
  std::size_t chosen = 0;
  const int backend = connect_backend(chosen);
  if (backend >= 0) {
    counts_[chosen]->fetch_add(1);
    {
      std::lock_guard guard(mutex_);
      open_fds_.push_back(backend);
    }
    const int one = 1;
    ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    bool client_open = true, backend_open = true;
    while (client_open && backend_open && !stopping_) {
      pollfd fds[2] = {{client, POLLIN, 0}, {backend, POLLIN, 0}};
      if (::poll(fds, 2, 500) < 0 && errno != EINTR) break;
      if (fds[0].revents) client_open = copy_some(client, backend);
      if (fds[1].revents) backend_open = copy_some(backend, client);
    }
    // Half-closes are passed on as full ones: neither HTTP/1.1 side of a
    // webhook call needs a half-open connection.
  }
  std::lock_guard guard(mutex_);
  for (const int fd : {client, backend}) {
    if (fd < 0) continue;
    open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), fd), open_fds_.end());
    ::close(fd);
  }
}

}  // namespace cdcguard::e2e
