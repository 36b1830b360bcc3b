// What a Service in front of the webhook pods does for the API server, on
// loopback: one address (the webhook configuration's url), TCP connections
// spread round-robin over the replicas' ports, TLS passed through untouched
// (kube-proxy works at layer 4 too). A replica that refuses the connection is
// skipped, as an endpoint that is not ready is; with none left the client's
// connection is closed, which the API server reports as a failed call.
#pragma once

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace cdcguard::e2e {

class TcpBalancer {
 public:
  explicit TcpBalancer(std::vector<int> backend_ports);
  ~TcpBalancer();
  TcpBalancer(const TcpBalancer&) = delete;
  TcpBalancer& operator=(const TcpBalancer&) = delete;

  int port() const { return port_; }
  // Connections handed to each backend so far (same order as the ports).
  std::vector<long> connections_per_backend() const;

 private:
  void accept_loop();
  void pipe_connection(int client);
  int connect_backend(std::size_t& chosen);

  std::vector<int> backends_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> next_{0};
  std::vector<std::unique_ptr<std::atomic<long>>> counts_;
  std::thread acceptor_;
  std::mutex mutex_;
  std::vector<std::thread> pipes_;
  std::vector<int> open_fds_;
};

}  // namespace cdcguard::e2e
