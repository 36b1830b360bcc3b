#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/tls_client.hpp"

// Clients that keep the webhook busy the way the API server does: kept-alive
// connections, one request after another, a new connection when a response
// says `Connection: close`, and an end when no connection can be made (the
// listener is closed). A request counts as lost when it was written whole and
// no whole response came back: what a shutdown must never do.
namespace cdcguard::testing_support {

class SteadyLoad {
 public:
  SteadyLoad(int port, TlsConnection::Options options, std::string request, int clients)
      : port_(port), options_(std::move(options)), request_(std::move(request)) {
    for (int i = 0; i < clients; ++i) threads_.emplace_back([this] { run(); });
  }
  ~SteadyLoad() { join(); }

  // From now on, answers are counted as answered after the shutdown began.
  void mark_shutdown() { shutdown_.store(true); }
  void join() {
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  int answered() const { return answered_.load(); }
  int answered_after_shutdown() const { return answered_after_shutdown_.load(); }
  int told_to_close() const { return told_to_close_.load(); }
  int lost() const { return lost_.load(); }

 private:
  void run() {
    while (true) {
      std::unique_ptr<TlsConnection> c;
      try {
        c = std::make_unique<TlsConnection>(port_, options_);
      } catch (const std::exception&) {
        return;  // no connection: nothing was sent
      }
      while (true) {
        const bool after = shutdown_.load();
        if (!c->try_send(request_)) break;  // not written whole: not a lost request
        const HttpReply r = c->read_reply();
        if (r.status != 200) {
          ++lost_;
          return;
        }
        ++answered_;
        if (after) ++answered_after_shutdown_;
        if (r.headers.count("connection") && r.headers.at("connection") == "close") {
          ++told_to_close_;
          break;
        }
      }
    }
  }

  int port_;
  TlsConnection::Options options_;
  std::string request_;
  std::vector<std::thread> threads_;
  std::atomic<bool> shutdown_{false};
  std::atomic<int> answered_{0};
  std::atomic<int> answered_after_shutdown_{0};
  std::atomic<int> told_to_close_{0};
  std::atomic<int> lost_{0};
};

// A POST of an AdmissionReview as the API server sends it.
inline std::string admission_post(const std::string& path, const std::string& body) {
  return "POST " + path +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

}  // namespace cdcguard::testing_support
