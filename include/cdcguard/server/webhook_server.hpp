#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

#include "cdcguard/admission/admission_handler.hpp"
#include "cdcguard/server/event_log.hpp"
#include "cdcguard/server/metrics.hpp"
#include "cdcguard/store/registry_store.hpp"

// `cdc-guard serve`: the admission webhook over HTTPS (HttpServer on OpenSSL)
// and its metrics listener over plain HTTP. Routes, limits and TLS live here; decisions live
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
  // Worker threads that run admissions (a connection holds none: one event
  // loop owns the sockets). A claim in cluster mode waits on the API server
  // inside its admission, so a burst needs many.
  std::size_t threads = 64;
  std::size_t max_body_bytes = 4 * 1024 * 1024;
  // A request (head and body) must arrive whole within this of its first
  // byte, and a TLS handshake within this of the accept: per request, not per
  // byte, so a client sending a byte a second is cut off all the same.
  std::chrono::milliseconds read_timeout{10000};
  std::chrono::milliseconds write_timeout{10000};
  // A kept-alive connection is closed after this long without a request.
  std::chrono::milliseconds idle_timeout{5000};
  // Open connections on each port; a new one over the cap closes an idle one
  // (then the slowest handshake or request still arriving), never one being
  // answered.
  std::size_t max_connections = 1000;
  // stop(): requests in flight and on open connections are answered until
  // this long after the stop began, then whatever is left is closed.
  std::chrono::milliseconds shutdown_timeout{20000};
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
  // The process is going away: /readyz fails from now on and every response
  // says `Connection: close`, so clients move to another replica while this
  // one still answers them.
  void begin_shutdown();
  // Stops accepting; answers the requests in flight and those still arriving
  // on open connections (with `Connection: close`) until `deadline`, closing
  // idle connections at their idle timeout; then closes what is left and
  // joins every thread. Idempotent.
  void stop(std::chrono::steady_clock::time_point deadline);
  // stop() with the deadline `shutdown_timeout` from now.
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
