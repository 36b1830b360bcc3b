#include "cdcguard/kube/kube_client.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <random>
#include <utility>

#include "cdcguard/kube/credential_provider.hpp"

namespace cdcguard::kube {

namespace {

bool retryable_status(int status) {
  return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

// Retry-After in seconds; the HTTP-date form (rare from the API server) is ignored.
std::optional<std::chrono::milliseconds> retry_after(const std::string& value) {
  long long seconds = 0;
  std::size_t digits = 0;
  for (const char c : value) {
    if (c == ' ' || c == '\t') continue;
    if (c < '0' || c > '9' || ++digits > 9) return std::nullopt;
    seconds = seconds * 10 + (c - '0');
  }
  if (digits == 0) return std::nullopt;
  return std::chrono::milliseconds(seconds * 1000);
}

std::chrono::milliseconds jittered_backoff(const ClientOptions& options, int attempt) {
  thread_local std::mt19937 rng{std::random_device{}()};
  std::chrono::milliseconds wait = options.backoff_max;
  // Past 2^20 the cap applies anyway; the bound keeps the shift defined.
  if (attempt - 1 < 20) {
    const auto exponential = options.backoff_base * (std::int64_t{1} << (attempt - 1));
    wait = std::min(options.backoff_max, std::chrono::duration_cast<std::chrono::milliseconds>(exponential));
  }
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  return std::chrono::milliseconds(static_cast<long long>(static_cast<double>(wait.count()) * jitter(rng)));
}

std::shared_ptr<MonotonicClock> clock_or_steady(const std::shared_ptr<MonotonicClock>& clock) {
  return clock ? clock : steady_monotonic_clock();
}

}  // namespace

struct KubeClient::Impl {
  ClusterConfig config;
  ClientOptions options;
  std::unique_ptr<HttpTransport> transport;
  std::shared_ptr<MonotonicClock> clock;
  std::unique_ptr<CredentialProvider> credentials;
  std::atomic<bool> streams_stopped{false};

  Impl(ClusterConfig c, ClientOptions o, std::unique_ptr<HttpTransport> t)
      : config(std::move(c)),
        options(std::move(o)),
        transport(std::move(t)),
        clock(clock_or_steady(options.clock)),
        credentials(make_credential_provider(config, credential_options())) {}

  CredentialOptions credential_options() {
    CredentialOptions out;
    out.token_check_interval = options.token_check_interval;
    out.clock = clock;
    out.wall_clock = options.wall_clock;
    out.exec.timeout = options.exec_timeout;
    out.exec.clock = clock;
    // A plugin's certificate replaces the transport's from the next connection.
    out.use_client_certificate = [t = transport.get()](const std::string& cert, const std::string& key) {
      t->use_client_certificate(cert, key);
    };
    return out;
  }

  HttpRequest make_request(std::string_view method, const std::string& path,
                           const std::string& bearer) const {
    HttpRequest request;
    request.method = std::string(method);
    request.path = path;
    request.headers = {{"Accept", "application/json"}, {"User-Agent", options.user_agent}};
    if (!bearer.empty()) request.headers.emplace_back("Authorization", "Bearer " + bearer);
    return request;
  }

  std::string failure(const std::string& what, int attempts) const {
    std::string message = "cannot reach the Kubernetes API server at " + transport->server() + ": " + what;
    if (attempts > 0)
      message += " (after " + std::to_string(attempts) + (attempts == 1 ? " attempt)" : " attempts)");
    return message;
  }
};

KubeClient::KubeClient(ClusterConfig config, ClientOptions options) {
  auto transport = make_https_transport(config, {options.connect_timeout, options.request_timeout});
  impl_ = std::make_unique<Impl>(std::move(config), std::move(options), std::move(transport));
}

KubeClient::KubeClient(ClusterConfig config, ClientOptions options, std::unique_ptr<HttpTransport> transport)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(options), std::move(transport))) {}

KubeClient::~KubeClient() = default;

const ClusterConfig& KubeClient::config() const {
  return impl_->config;
}

std::string KubeClient::server() const {
  return impl_->transport->server();
}

HttpResponse KubeClient::request(std::string_view method, const std::string& path, const std::string& body,
                                 std::string_view content_type) {
  Impl& impl = *impl_;
  const int max_attempts = std::max(1, impl.options.max_attempts);
  bool retried_unauthorized = false;
  std::string last_failure;
  int attempts = 0;
  std::optional<HttpResponse> last_response;

  for (int attempt = 1; attempt <= max_attempts; ++attempt) {
    const Credential credential = impl.credentials->current();
    HttpRequest req = impl.make_request(method, path, credential.token);
    if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
      req.headers.emplace_back("Content-Type", std::string(content_type));
      req.body = body;
    }

    HttpOutcome outcome = impl.transport->send(req);
    ++attempts;
    std::optional<std::chrono::milliseconds> wait;
    if (!outcome.response) {
      last_failure = outcome.failure.empty() ? std::string("request failed") : std::move(outcome.failure);
    } else {
      last_response = std::move(*outcome.response);
      // A rotated token file or an expired plugin token: one more try with
      // the fresh one, without a pause and without using up an attempt.
      if (last_response->status == 401 && !retried_unauthorized &&
          impl.credentials->unauthorized(credential)) {
        retried_unauthorized = true;
        --attempt;
        continue;
      }
      if (!retryable_status(last_response->status)) return *last_response;
      wait = retry_after(last_response->retry_after);
    }
    if (attempt == max_attempts) break;
    const auto delay =
        wait ? std::min(*wait, impl.options.backoff_max) : jittered_backoff(impl.options, attempt);
    impl.clock->sleep_for(delay);
  }
  if (last_response) return *last_response;
  throw ApiError(impl.failure(last_failure, attempts));
}

// After stop_streams() a stream returns HttpResponse{} (status 0) instead of
// connecting, and one that had no response headers yet returns the same.
HttpResponse KubeClient::stream(const std::string& path,
                                const std::function<bool(std::string_view line)>& on_line,
                                std::chrono::milliseconds read_timeout) {
  Impl& impl = *impl_;
  if (impl.streams_stopped.load()) return HttpResponse{};
  const Credential credential = impl.credentials->current();
  const HttpRequest req = impl.make_request("GET", path, credential.token);

  bool consumer_done = false;
  std::string pending;
  const auto on_data = [&](std::string_view data) {
    pending.append(data);
    std::size_t start = 0;
    for (auto end = pending.find('\n'); end != std::string::npos; end = pending.find('\n', start)) {
      std::string_view line(pending.data() + start, end - start);
      start = end + 1;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.empty()) continue;
      if (!on_line(line)) {
        consumer_done = true;
        return false;
      }
    }
    pending.erase(0, start);
    return true;
  };
  StreamOutcome outcome = impl.transport->stream(req, on_data, read_timeout);

  if (!outcome.response) {
    if (outcome.stopped) return HttpResponse{};
    throw ApiError(
        impl.failure(outcome.failure.empty() ? std::string("request failed") : outcome.failure, 0));
  }
  if (outcome.response->status == 401) impl.credentials->unauthorized(credential);
  // A last line without its newline counts only when the server ended the body
  // cleanly; after a timeout or stop it is a torn event.
  if (outcome.complete && outcome.response->status == 200 && !consumer_done) {
    std::string_view line(pending);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) on_line(line);
  }
  return std::move(*outcome.response);
}

void KubeClient::stop_streams() {
  impl_->streams_stopped.store(true);
  impl_->transport->stop_streams();
}

std::string status_message(const HttpResponse& response) {
  const auto body = nlohmann::json::parse(response.body, nullptr, false);
  if (body.is_object() && body.contains("message") && body["message"].is_string())
    return body["message"].get<std::string>();
  return response.body.substr(0, 200);
}

}  // namespace cdcguard::kube
