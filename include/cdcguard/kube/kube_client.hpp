#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "cdcguard/kube/http_transport.hpp"
#include "cdcguard/kube/kube_config.hpp"
#include "cdcguard/kube/monotonic_clock.hpp"

// A small Kubernetes API client over HTTPS (cpp-httplib on OpenSSL): plain
// requests with retries, and streamed watches. Thread-safe: concurrent
// requests use a pool of kept-alive connections. The exchanges go through an
// HttpTransport and the waits through a MonotonicClock, so that tests can
// script the server's answers and move time themselves.
namespace cdcguard::kube {

struct ClientOptions {
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds request_timeout{5000};       // read and write timeout of one attempt
  int max_attempts = 4;                                  // for 429, 5xx and connection errors
  std::chrono::milliseconds backoff_base{50};            // attempt n waits ~ base * 2^(n-1), jittered
  std::chrono::milliseconds backoff_max{1000};           // and Retry-After is honoured up to this
  std::chrono::milliseconds token_check_interval{1000};  // how often a token file is re-checked
  std::chrono::milliseconds exec_timeout{30000};         // a credential plugin still running then is killed
  std::string user_agent = "cdc-guard";
  // Backoff pauses, the token file's check interval and the plugin timeout;
  // null: the steady clock.
  std::shared_ptr<MonotonicClock> clock;
  // Wall time, against the expiry of a plugin's credential; null: the system clock.
  std::function<std::chrono::system_clock::time_point()> wall_clock;
};

// The `message` of a Status body (what the API server says went wrong), else
// the start of the body.
std::string status_message(const HttpResponse& response);

class KubeClient {
 public:
  // HTTPS to `config`'s server (connect_timeout and request_timeout apply).
  explicit KubeClient(ClusterConfig config, ClientOptions options = {});
  // Requests go to `transport`; `config` gives only the credentials (token,
  // token file or exec plugin).
  KubeClient(ClusterConfig config, ClientOptions options, std::unique_ptr<HttpTransport> transport);
  ~KubeClient();
  KubeClient(const KubeClient&) = delete;
  KubeClient& operator=(const KubeClient&) = delete;

  // One API request (`path` with its query string, e.g.
  // "/api/v1/namespaces/ns/configmaps/name"). Sends the bearer token (re-read
  // from its file when it changed; a plugin's kept until it expires; on a 401
  // the file is re-read or the plugin run again at once and the request tried
  // once more), Accept: application/json and the user agent. Throws
  // CredentialError (an ApiError) when no credential can be had.
  // 429, 5xx and connection errors are retried up to max_attempts with jittered
  // exponential backoff (attempt n waits base * 2^(n-1), capped at backoff_max,
  // times a random factor in [0.5, 1)), honouring Retry-After (seconds, up to
  // backoff_max). Returns the last
  // response, whatever its status; throws ApiError when there was none.
  HttpResponse request(std::string_view method, const std::string& path, const std::string& body = "",
                       std::string_view content_type = "application/json");
  HttpResponse get(const std::string& path) { return request("GET", path); }
  HttpResponse put(const std::string& path, const std::string& body) { return request("PUT", path, body); }
  HttpResponse post(const std::string& path, const std::string& body) { return request("POST", path, body); }

  // A watch: GET `path` and hand every complete line of the (chunked) body to
  // `on_line` as it arrives, until the server ends the stream, `read_timeout`
  // passes without data, `on_line` returns false, or stop_streams() is called.
  // One attempt, no retries (the informer reconnects). Returns the response
  // status and, when it is not 200, the body; throws ApiError when the
  // connection could not be made.
  HttpResponse stream(const std::string& path, const std::function<bool(std::string_view line)>& on_line,
                      std::chrono::milliseconds read_timeout);
  // Ends every stream in progress now and makes later ones return at once.
  void stop_streams();

  const ClusterConfig& config() const;
  std::string server() const;  // for messages

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cdcguard::kube
