#include "cdcguard/kube_client.hpp"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

namespace cdcguard::kube {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxIdleClients = 16;
// A failed watch's body is an error Status; more than this is not worth keeping.
constexpr std::size_t kMaxErrorBody = 1 << 20;

struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct X509StackFree {
  void operator()(STACK_OF(X509) * p) const { sk_X509_pop_free(p, X509_free); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using X509StackPtr = std::unique_ptr<STACK_OF(X509), X509StackFree>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;

std::vector<X509Ptr> read_certificates(const std::string& pem) {
  std::vector<X509Ptr> certs;
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return certs;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) certs.emplace_back(cert);
  // The loop ends on "no more PEM", which OpenSSL queues as an error.
  ERR_clear_error();
  return certs;
}

PkeyPtr read_private_key(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  ERR_clear_error();
  return key;
}

bool is_ip_literal(const std::string& host) {
  in6_addr v6{};
  in_addr v4{};
  return ::inet_pton(AF_INET6, host.c_str(), &v6) == 1 || ::inet_pton(AF_INET, host.c_str(), &v4) == 1;
}

// Replaces OpenSSL's chain verification so that exactly the configured CAs are
// trusted. httplib adds the system default paths to the context's store on the
// first connection (SSLClient::load_certs), which would let any public CA vouch
// for the API server; a trusted stack takes precedence over that store.
int verify_with_configured_cas(X509_STORE_CTX* store_ctx, void* arg) {
  X509_STORE_CTX_set0_trusted_stack(store_ctx, static_cast<STACK_OF(X509)*>(arg));
  return X509_verify_cert(store_ctx);
}

std::string describe(httplib::Error error) {
  switch (error) {
    case httplib::Error::Connection:
      return "connection failed (refused, unreachable or the name did not "
             "resolve)";
    case httplib::Error::ConnectionTimeout:
      return "connection timed out";
    case httplib::Error::BindIPAddress:
      return "cannot bind the local address";
    case httplib::Error::Read:
      return "reading the response failed or timed out";
    case httplib::Error::Write:
      return "sending the request failed or timed out";
    case httplib::Error::Canceled:
      return "request canceled";
    case httplib::Error::SSLConnection:
      return "TLS handshake failed";
    case httplib::Error::SSLLoadingCerts:
      return "loading the trusted CA certificates failed";
    case httplib::Error::SSLServerVerification:
      return "TLS server certificate verification failed";
    default:
      return "request failed (" + httplib::to_string(error) + ")";
  }
}

bool retryable_status(int status) {
  return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

// Retry-After in seconds; the HTTP-date form (rare from the API server) is ignored.
std::optional<std::chrono::milliseconds> retry_after(const httplib::Response& res) {
  if (!res.has_header("Retry-After")) return std::nullopt;
  const std::string value = res.get_header_value("Retry-After");
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

// A bearer token, either fixed or from a file the kubelet rewrites (projected
// service account tokens rotate hourly and the old one expires soon after).
class TokenSource {
 public:
  TokenSource(std::string token, std::string file, std::chrono::milliseconds check_interval)
      : token_(std::move(token)), file_(std::move(file)), check_interval_(check_interval) {}

  bool from_file() const { return !file_.empty(); }

  // `force`: the server refused the token, so look at the file now.
  std::string get(bool force) {
    if (file_.empty()) return token_;
    std::lock_guard<std::mutex> lock(mutex_);
    const auto now = Clock::now();
    if (!force && loaded_ && now < next_check_) return token_;
    next_check_ = now + check_interval_;
    struct stat st {};
    if (::stat(file_.c_str(), &st) != 0) {
      if (loaded_) return token_;  // keep the last good one; the file may be mid-swap
      throw ApiError("cannot read the bearer token file " + file_ + ": " + std::strerror(errno));
    }
    const Stamp stamp{st.st_dev, st.st_ino, st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec};
    if (!force && loaded_ && stamp == stamp_) return token_;
    std::ifstream in(file_, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in) {
      if (loaded_) return token_;
      throw ApiError("cannot read the bearer token file " + file_);
    }
    std::string token = text.str();
    while (!token.empty() &&
           (token.back() == '\n' || token.back() == '\r' || token.back() == ' ' || token.back() == '\t')) {
      token.pop_back();
    }
    token_ = std::move(token);
    stamp_ = stamp;
    loaded_ = true;
    return token_;
  }

  // A stream got a 401: check the file on the next use whatever the interval.
  void expire() {
    std::lock_guard<std::mutex> lock(mutex_);
    next_check_ = Clock::time_point::min();
    stamp_ = Stamp{};
  }

 private:
  struct Stamp {
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    time_t sec = 0;
    long nsec = 0;
    bool operator==(const Stamp&) const = default;
  };

  std::mutex mutex_;
  std::string token_;
  const std::string file_;
  const std::chrono::milliseconds check_interval_;
  Stamp stamp_;
  bool loaded_ = false;
  Clock::time_point next_check_{};
};

}  // namespace

struct KubeClient::Impl {
  ClusterConfig config;
  ClientOptions options;
  std::string server_url;   // https://host:port, for messages
  std::string host_header;  // httplib 0.11 writes an IPv6 Host header without brackets
  X509StackPtr trusted;     // the configured CAs; null: the system's store
  X509Ptr client_cert;
  std::vector<X509Ptr> client_chain;
  PkeyPtr client_key;
  TokenSource token;

  std::mutex pool_mutex;
  std::vector<std::unique_ptr<httplib::SSLClient>> idle;

  struct LiveStream {
    httplib::SSLClient* client;
    std::thread::id thread;
  };
  std::mutex streams_mutex;
  std::condition_variable streams_changed;
  std::vector<LiveStream> live_streams;
  std::atomic<bool> streams_stopped{false};

  Impl(ClusterConfig c, ClientOptions o)
      : config(std::move(c)),
        options(std::move(o)),
        token(config.token, config.token_file, options.token_check_interval) {
    if (config.host.empty()) throw ConfigError(config.source + ": no API server host");
    const bool bracket = config.host.find(':') != std::string::npos;
    const std::string host_part = bracket ? "[" + config.host + "]" : config.host;
    server_url = "https://" + host_part + ":" + std::to_string(config.port);
    host_header = config.port == 443 ? host_part : host_part + ":" + std::to_string(config.port);

    if (!config.ca_pem.empty() && !config.insecure_skip_tls_verify) {
      auto certs = read_certificates(config.ca_pem);
      if (certs.empty()) throw ConfigError(config.source + ": the CA data holds no readable certificate");
      trusted.reset(sk_X509_new_null());
      if (!trusted) throw ConfigError("out of memory");
      for (auto& cert : certs) {
        // Fill the extension cache now: concurrent handshakes then only read it.
        X509_check_purpose(cert.get(), -1, 0);
        if (sk_X509_push(trusted.get(), cert.get()) == 0) throw ConfigError("out of memory");
        cert.release();
      }
    }
    if (!config.client_cert_pem.empty() || !config.client_key_pem.empty()) {
      auto certs = read_certificates(config.client_cert_pem);
      if (certs.empty()) throw ConfigError(config.source + ": the client certificate cannot be read");
      client_key = read_private_key(config.client_key_pem);
      // The message never quotes the key: it is a secret.
      if (!client_key) throw ConfigError(config.source + ": the client key cannot be read");
      if (X509_check_private_key(certs.front().get(), client_key.get()) != 1) {
        ERR_clear_error();
        throw ConfigError(config.source + ": the client key does not match the client certificate");
      }
      client_cert = std::move(certs.front());
      for (std::size_t i = 1; i < certs.size(); ++i) client_chain.push_back(std::move(certs[i]));
    }
  }

  ~Impl() {
    // Pooled clients may still reference the trusted stack from their SSL_CTX.
    idle.clear();
  }

  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  std::unique_ptr<httplib::SSLClient> make_client(std::chrono::milliseconds read_timeout) {
    // httplib takes its own references to the certificate and key (SSL_CTX_use_*).
    auto client = client_cert ? std::make_unique<httplib::SSLClient>(config.host, config.port,
                                                                     client_cert.get(), client_key.get())
                              : std::make_unique<httplib::SSLClient>(config.host, config.port);
    if (!client->is_valid()) {
      ERR_clear_error();
      throw ApiError("cannot set up TLS for " + server_url + " (" + config.source + ")");
    }
    SSL_CTX* ctx = client->ssl_context();
    for (const auto& cert : client_chain) SSL_CTX_add1_chain_cert(ctx, cert.get());
    if (config.insecure_skip_tls_verify) {
      client->enable_server_certificate_verification(false);
    } else {
      client->enable_server_certificate_verification(true);
      // OpenSSL's own name check (SAN only, no partial wildcards) on top of
      // httplib's.
      X509_VERIFY_PARAM* param = SSL_CTX_get0_param(ctx);
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      if (is_ip_literal(config.host)) {
        X509_VERIFY_PARAM_set1_ip_asc(param, config.host.c_str());
      } else {
        X509_VERIFY_PARAM_set1_host(param, config.host.c_str(), config.host.size());
      }
      if (trusted) SSL_CTX_set_cert_verify_callback(ctx, verify_with_configured_cas, trusted.get());
    }
    client->set_connection_timeout(options.connect_timeout);
    client->set_read_timeout(read_timeout);
    client->set_write_timeout(options.request_timeout);
    client->set_keep_alive(true);
    client->set_tcp_nodelay(true);
    return client;
  }

  std::unique_ptr<httplib::SSLClient> acquire() {
    {
      std::lock_guard<std::mutex> lock(pool_mutex);
      if (!idle.empty()) {
        auto client = std::move(idle.back());
        idle.pop_back();
        return client;
      }
    }
    return make_client(options.request_timeout);
  }

  void release(std::unique_ptr<httplib::SSLClient> client) {
    std::unique_lock<std::mutex> lock(pool_mutex);
    if (idle.size() < kMaxIdleClients) idle.push_back(std::move(client));
    lock.unlock();
    // A surplus client (if any) closes its connection here, outside the lock.
  }

  httplib::Headers headers(const std::string& bearer) const {
    httplib::Headers h{
        {"Accept", "application/json"}, {"User-Agent", options.user_agent}, {"Host", host_header}};
    if (!bearer.empty()) h.emplace("Authorization", "Bearer " + bearer);
    return h;
  }

  std::string failure(httplib::Error error, long verify_result, int attempts) const {
    std::string what = describe(error);
    if (error == httplib::Error::SSLServerVerification && verify_result != X509_V_OK) {
      what += ": ";
      what += X509_verify_cert_error_string(verify_result);
    }
    std::string message = "cannot reach the Kubernetes API server at " + server_url + ": " + what;
    if (attempts > 0)
      message += " (after " + std::to_string(attempts) + (attempts == 1 ? " attempt)" : " attempts)");
    return message;
  }

  // Registers a stream's client so stop_streams() can reach it; false once stopped.
  bool register_stream(httplib::SSLClient* client) {
    std::lock_guard<std::mutex> lock(streams_mutex);
    if (streams_stopped.load()) return false;
    live_streams.push_back({client, std::this_thread::get_id()});
    return true;
  }

  void unregister_stream(httplib::SSLClient* client) {
    {
      std::lock_guard<std::mutex> lock(streams_mutex);
      live_streams.erase(std::remove_if(live_streams.begin(), live_streams.end(),
                                        [&](const LiveStream& s) { return s.client == client; }),
                         live_streams.end());
    }
    streams_changed.notify_all();
  }
};

KubeClient::KubeClient(ClusterConfig config, ClientOptions options)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(options))) {}

KubeClient::~KubeClient() = default;

const ClusterConfig& KubeClient::config() const {
  return impl_->config;
}

std::string KubeClient::server() const {
  return impl_->server_url;
}

HttpResponse KubeClient::request(std::string_view method, const std::string& path, const std::string& body,
                                 std::string_view content_type) {
  Impl& impl = *impl_;
  const int max_attempts = std::max(1, impl.options.max_attempts);
  bool retried_unauthorized = false;
  bool force_token = false;
  httplib::Error last_error = httplib::Error::Success;
  long last_verify_result = X509_V_OK;
  int attempts = 0;
  std::optional<HttpResponse> last_response;

  for (int attempt = 1; attempt <= max_attempts; ++attempt) {
    httplib::Request req;
    req.method = std::string(method);
    req.path = path;
    req.headers = impl.headers(impl.token.get(force_token));
    force_token = false;
    if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
      req.headers.emplace("Content-Type", std::string(content_type));
      req.body = body;
    }

    auto client = impl.acquire();
    httplib::Response res;
    httplib::Error error = httplib::Error::Success;
    const bool ok = client->send(req, res, error);
    ++attempts;
    std::optional<std::chrono::milliseconds> wait;
    if (!ok || error != httplib::Error::Success) {
      last_error = error == httplib::Error::Success ? httplib::Error::Unknown : error;
      last_verify_result = client->get_openssl_verify_result();
      // The connection's state is unknown; a fresh client gets a fresh one.
      client.reset();
    } else {
      impl.release(std::move(client));
      last_response = HttpResponse{res.status, std::move(res.body), res.get_header_value("Content-Type")};
      if (res.status == 401 && impl.token.from_file() && !retried_unauthorized) {
        // The kubelet may have rotated the token since it was last read.
        retried_unauthorized = true;
        force_token = true;
        --attempt;
        continue;
      }
      if (!retryable_status(res.status)) return *last_response;
      wait = retry_after(res);
    }
    if (attempt == max_attempts) break;
    const auto delay =
        wait ? std::min(*wait, impl.options.backoff_max) : jittered_backoff(impl.options, attempt);
    std::this_thread::sleep_for(delay);
  }
  if (last_response) return *last_response;
  throw ApiError(impl.failure(last_error, last_verify_result, attempts));
}

// After stop_streams() a stream returns HttpResponse{} (status 0) instead of
// connecting, and one that had no response headers yet returns the same.
HttpResponse KubeClient::stream(const std::string& path,
                                const std::function<bool(std::string_view line)>& on_line,
                                std::chrono::milliseconds read_timeout) {
  Impl& impl = *impl_;
  if (impl.streams_stopped.load()) return HttpResponse{};
  auto client = impl.make_client(read_timeout);
  if (!impl.register_stream(client.get())) return HttpResponse{};

  HttpResponse out;
  bool got_headers = false;
  bool consumer_done = false;
  std::string pending;

  httplib::Request req;
  req.method = "GET";
  req.path = path;
  try {
    req.headers = impl.headers(impl.token.get(false));
  } catch (...) {
    impl.unregister_stream(client.get());
    throw;
  }
  req.response_handler = [&](const httplib::Response& res) {
    out.status = res.status;
    out.content_type = res.get_header_value("Content-Type");
    got_headers = true;
    return true;
  };
  req.content_receiver = [&](const char* data, std::size_t size, std::uint64_t, std::uint64_t) {
    if (impl.streams_stopped.load()) return false;
    if (out.status != 200) {
      if (out.body.size() < kMaxErrorBody)
        out.body.append(data, std::min(size, kMaxErrorBody - out.body.size()));
      return true;
    }
    pending.append(data, size);
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

  httplib::Response res;
  httplib::Error error = httplib::Error::Success;
  const bool ok = client->send(req, res, error);
  const long verify_result = client->get_openssl_verify_result();
  impl.unregister_stream(client.get());
  client.reset();

  if (!got_headers) {
    if (impl.streams_stopped.load()) return HttpResponse{};
    throw ApiError(
        impl.failure(error == httplib::Error::Success ? httplib::Error::Unknown : error, verify_result, 0));
  }
  if (out.status == 401) impl.token.expire();
  // A last line without its newline counts only when the server ended the body
  // cleanly; after a timeout or stop it is a torn event.
  if (ok && out.status == 200 && !consumer_done) {
    std::string_view line(pending);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) on_line(line);
  }
  return out;
}

void KubeClient::stop_streams() {
  Impl& impl = *impl_;
  std::unique_lock<std::mutex> lock(impl.streams_mutex);
  impl.streams_stopped.store(true);
  const auto self = std::this_thread::get_id();
  const auto deadline = Clock::now() + std::chrono::seconds(1);
  // stop() only interrupts a request whose socket is open, so a stream caught
  // between registering and connecting is stopped again until it has ended.
  while (true) {
    bool others = false;
    for (const auto& s : impl.live_streams) {
      s.client->stop();
      // An on_line calling stop_streams() cannot end before it returns: no
      // waiting for it.
      if (s.thread != self) others = true;
    }
    if (!others || Clock::now() >= deadline) break;
    impl.streams_changed.wait_for(lock, std::chrono::milliseconds(20));
  }
}

std::string status_message(const HttpResponse& response) {
  const auto body = nlohmann::json::parse(response.body, nullptr, false);
  if (body.is_object() && body.contains("message") && body["message"].is_string())
    return body["message"].get<std::string>();
  return response.body.substr(0, 200);
}

}  // namespace cdcguard::kube
