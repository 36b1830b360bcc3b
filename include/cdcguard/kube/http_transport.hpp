#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cdcguard/kube/kube_config.hpp"

// What KubeClient sends its requests through: one exchange at a time, no
// retries, no tokens of its own. The production transport is HTTPS on
// cpp-httplib and OpenSSL with a pool of kept-alive connections; tests use a
// scripted one in memory, so that KubeClient's retries, backoff, Retry-After
// and 401 handling are tested without sockets or real time.
namespace cdcguard::kube {

// No HTTP response could be had (connection refused, TLS failure, timeout)
// after every attempt. The message says which server and what failed.
class ApiError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct HttpRequest {
  std::string method;  // "GET", "PUT", ...
  std::string path;    // with its query string
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // The first header of that name (case-insensitive), or "".
  std::string header(std::string_view name) const;
};

struct HttpResponse {
  int status = 0;
  std::string body;
  std::string content_type;
  std::string retry_after;  // the Retry-After header, "" when there was none
};

// One exchange: the response, or why there was none.
struct HttpOutcome {
  std::optional<HttpResponse> response;
  std::string failure;  // without a response: what failed, e.g. "connection timed out"
};

// How a stream ended.
struct StreamOutcome {
  // Null when no response headers came: `failure` says why, or `stopped`.
  std::optional<HttpResponse> response;
  // The server ended the body (not a read timeout, a stop, or the consumer).
  bool complete = false;
  bool stopped = false;  // stop_streams() ended it, or it was not started because of it
  std::string failure;
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // One request, one attempt.
  virtual HttpOutcome send(const HttpRequest& request) = 0;
  // A long-lived request (a watch): a 200 body is handed to `on_data` piece by
  // piece as it arrives, until the server ends it, `read_timeout` passes
  // without data, `on_data` returns false or stop_streams() is called. Any
  // other status comes back with its body (the start of it) in the response.
  virtual StreamOutcome stream(const HttpRequest& request,
                               const std::function<bool(std::string_view data)>& on_data,
                               std::chrono::milliseconds read_timeout) = 0;
  // Ends every stream in progress now and makes later ones return at once.
  virtual void stop_streams() = 0;
  // Authenticates with this client certificate (PEM, maybe followed by its
  // chain) and key from the next connection on: a credential plugin returned
  // them. Idle connections made with the previous one are dropped; streams
  // keep theirs until they end. Throws ConfigError when they cannot be used.
  virtual void use_client_certificate(const std::string& cert_pem, const std::string& key_pem) = 0;
  // "https://host:port", for messages.
  virtual std::string server() const = 0;
};

struct HttpsTransportOptions {
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds request_timeout{5000};  // read and write timeout of one exchange
};

// HTTPS to `config`'s server, trusting exactly its CA (or the system's when it
// names none), with its client certificate if any. The server's certificate
// must name `tls_server_name` when set (which is also the SNI), else `host`.
// Thread-safe. Throws
// ConfigError when the configuration cannot be used, and ApiError from send()
// and stream() when TLS cannot be set up for a connection.
std::unique_ptr<HttpTransport> make_https_transport(const ClusterConfig& config,
                                                    HttpsTransportOptions options);

}  // namespace cdcguard::kube
