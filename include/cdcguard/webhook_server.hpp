#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

#include "cdcguard/admission_handler.hpp"
#include "cdcguard/event_log.hpp"
#include "cdcguard/metrics.hpp"
#include "cdcguard/registry_store.hpp"

// `cdc-guard serve`: the admission webhook over HTTPS (cpp-httplib on OpenSSL)
// and its metrics listener. Routes, limits and TLS live here; decisions live
// in AdmissionHandler.
namespace cdcguard::server {

class ServerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ServerOptions {
  std::string address = "0.0.0.0";
  int port = 8443;          // 0: any free port (tests)
  int metrics_port = 8080;  // 0: any free port; -1: no metrics listener
  std::string tls_cert;
  std::string tls_key;
  // httplib's compiled default of 8 threads starves once more than 8 API
  // server connections stay open; each kept-alive connection holds a thread.
  std::size_t threads = 64;
  std::size_t max_body_bytes = 4 * 1024 * 1024;
  // A client that stalls mid-request is cut off after this long.
  std::chrono::milliseconds read_timeout{10000};
  std::chrono::milliseconds write_timeout{10000};
  int keep_alive_seconds = 5;
  // httplib closes a kept-alive connection after 5 requests by default,
  // forcing a new TLS handshake; the API server keeps its connections.
  std::size_t keep_alive_max_requests = 100000;
  // How often the certificate files are checked for a rotation (buffered log
  // lines are flushed at least every second).
  std::chrono::milliseconds certificate_poll{1000};
  // How admissions are judged and claimed (cluster view, Pending claims, API errors).
  admission::HandlerOptions handler;
  // Why the webhook cannot judge yet ("" when it can): /readyz answers 503
  // with it, e.g. until the cluster cache has listed every connector once.
  std::function<std::string()> not_ready;
  // More Prometheus text for /metrics (the cluster mode's writer and cache).
  std::function<std::string()> extra_metrics;
};

class WebhookServer {
 public:
  using Clock = std::function<TimePoint()>;
  // Loads the certificate (throws TlsError when it cannot).
  WebhookServer(ServerOptions options, RegistryStore& store, EventLog& log, Clock clock);
  ~WebhookServer();
  WebhookServer(const WebhookServer&) = delete;
  WebhookServer& operator=(const WebhookServer&) = delete;

  // Binds both ports and starts serving; throws ServerError when a port cannot be bound.
  void start();
  // Stops accepting, lets requests in flight finish, joins every thread. Idempotent.
  void stop();
  // Blocks until stop() (from another thread) has finished.
  void wait();

  int port() const;
  int metrics_port() const;
  Metrics& metrics();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cdcguard::server
