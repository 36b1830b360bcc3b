#pragma once

#include <openssl/ssl.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "cdcguard/server/http_request_parser.hpp"

// An HTTP/1.1 server (over TLS, or plain for metrics) built for a webhook on
// the write path of a cluster. Sockets are non-blocking and watched by epoll;
// a pool of threads takes their events (EPOLLONESHOT: one thread per
// connection at a time), reads, runs the handler and writes the response in
// one go. A connection between events costs a file descriptor and a few
// kilobytes, never a thread, so slow or idle clients cannot starve the others;
// a thread is held only while a whole request is being handled.
//
// - A request must arrive whole (head and body) within `request_timeout` of
//   its first byte, the TLS handshake within the same time of the accept; a
//   kept-alive connection may sit idle for `idle_timeout` between requests.
// - The body limit holds for every framing: a Content-Length over it, or the
//   chunk that would cross it, is answered 413 at once and the connection is
//   closed.
// - At most `max_connections` are open. A new connection over the cap closes
//   the connection that does least: an idle one (the longest idle) first, then
//   the slowest handshake, then the slowest request still arriving; one being
//   handled or answered is never closed for another.
// - Pipelined requests are answered one at a time, in order.
// - Shutdown: from begin_shutdown() every response says `Connection: close`;
//   stop() closes the listener, answers what is in flight and what still
//   arrives on open connections (with `Connection: close`), closes idle ones
//   at their idle timeout, and gives up at the deadline.
namespace cdcguard::server {

class HttpServerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct HttpResponse {
  int status = 200;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // besides Content-Type, -Length, Connection
  bool close = false;                                        // close the connection after this response
};

// Why a connection was closed by the server (for metrics).
enum class CloseReason : std::size_t {
  Idle,             // kept-alive connection idle past idle_timeout
  RequestTimeout,   // a request (or handshake) not whole within request_timeout
  Evicted,          // closed for a new connection at max_connections
  Refused,          // a new connection over the cap with nothing to evict
  HandshakeFailed,  // TLS handshake error
  Shutdown,         // still open at the stop deadline
  kCount,
};

struct HttpServerStats {
  std::uint64_t open_connections = 0;
  std::uint64_t accepted = 0;
  std::array<std::uint64_t, static_cast<std::size_t>(CloseReason::kCount)> closed{};
};

class HttpServer {
 public:
  using Handler = std::function<void(const HttpRequest&, HttpResponse&)>;

  struct Options {
    std::string address = "0.0.0.0";
    int port = 0;            // 0: any free port
    SSL_CTX* tls = nullptr;  // null: plain HTTP; not owned, must outlive the server
    // Threads that serve connections (and run handlers, which may block).
    std::size_t workers = 8;
    HttpLimits limits;
    std::chrono::milliseconds request_timeout{10000};
    std::chrono::milliseconds idle_timeout{5000};
    std::chrono::milliseconds write_timeout{10000};
    // After the last response of a connection the server reads and drops what
    // the client still sends for this long, so a close does not reset a
    // response still on its way (RFC 9112 9.6).
    std::chrono::milliseconds linger{2000};
    std::size_t max_connections = 1000;
    std::string name = "http";  // for thread names and messages
    // Every response with status >= 400, before it is sent: fills an empty
    // body (a Kubernetes Status), logs and counts it. `request` is null when
    // the request could not be read. Runs on the loop or a worker thread.
    std::function<void(const HttpRequest* request, HttpResponse& response, const std::string& why)> on_error;
  };

  explicit HttpServer(Options options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Exact path (the query is ignored for routing). A path with routes but not
  // for the request's method gets 405 with Allow; an unknown path 404.
  void route(const std::string& method, const std::string& path, Handler handler);

  // Binds and listens; throws HttpServerError. Returns the port.
  int bind();
  void start();  // the threads
  int port() const;

  // Responses carry `Connection: close` from now on (the process is going away).
  void begin_shutdown();
  // Stops accepting, drains as described above until `deadline`, then closes
  // what is left and joins every thread. Idempotent; blocks.
  void stop(std::chrono::steady_clock::time_point deadline);

  HttpServerStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// "HTTP/1.1 200 OK" reason phrases.
std::string_view http_reason_phrase(int status);

}  // namespace cdcguard::server
