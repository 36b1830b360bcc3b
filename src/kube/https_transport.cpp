#include <arpa/inet.h>
#include <httplib.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "cdcguard/kube/http_transport.hpp"

// The production transport: cpp-httplib on OpenSSL, trusting exactly the
// configured CAs, with a pool of kept-alive connections for requests and one
// connection per stream.
namespace cdcguard::kube {

std::string HttpRequest::header(std::string_view name) const {
  const auto same = [&](const std::string& candidate) {
    return std::equal(candidate.begin(), candidate.end(), name.begin(), name.end(), [](char a, char b) {
      return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
    });
  };
  for (const auto& [key, value] : headers)
    if (same(key)) return value;
  return "";
}

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

// The client certificate (with any chain after it) and key to authenticate with.
struct ClientIdentity {
  X509Ptr cert;
  std::vector<X509Ptr> chain;
  PkeyPtr key;
};

// `source` names the configuration in messages, which never quote the key.
std::shared_ptr<const ClientIdentity> read_identity(const std::string& cert_pem, const std::string& key_pem,
                                                    const std::string& source) {
  auto certs = read_certificates(cert_pem);
  if (certs.empty()) throw ConfigError(source + ": the client certificate cannot be read");
  auto identity = std::make_shared<ClientIdentity>();
  identity->key = read_private_key(key_pem);
  if (!identity->key) throw ConfigError(source + ": the client key cannot be read");
  if (X509_check_private_key(certs.front().get(), identity->key.get()) != 1) {
    ERR_clear_error();
    throw ConfigError(source + ": the client key does not match the client certificate");
  }
  identity->cert = std::move(certs.front());
  for (std::size_t i = 1; i < certs.size(); ++i) identity->chain.push_back(std::move(certs[i]));
  return identity;
}

// No connection can be attempted (the server's name does not resolve): a
// failed exchange, retried like a refused connection.
class ConnectFailure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A numeric address of `host` to connect to while TLS names another.
std::string numeric_address(const std::string& host) {
  if (is_ip_literal(host)) return host;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int error = ::getaddrinfo(host.c_str(), nullptr, &hints, &found);
  if (error != 0 || !found) throw ConnectFailure("cannot resolve " + host + ": " + ::gai_strerror(error));
  char text[INET6_ADDRSTRLEN] = {};
  const void* address =
      found->ai_family == AF_INET6
          ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(found->ai_addr)->sin6_addr)
          : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(found->ai_addr)->sin_addr);
  ::inet_ntop(found->ai_family, address, text, sizeof text);
  ::freeaddrinfo(found);
  return text;
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

// What failed, with OpenSSL's reason when the server's certificate was refused.
std::string failure(httplib::Error error, long verify_result) {
  if (error == httplib::Error::Success) error = httplib::Error::Unknown;
  std::string what = describe(error);
  if (error == httplib::Error::SSLServerVerification && verify_result != X509_V_OK) {
    what += ": ";
    what += X509_verify_cert_error_string(verify_result);
  }
  return what;
}

class HttpsTransport final : public HttpTransport {
 public:
  HttpsTransport(const ClusterConfig& c, HttpsTransportOptions o) : config_(c), options_(o) {
    if (config_.host.empty()) throw ConfigError(config_.source + ": no API server host");
    const bool bracket = config_.host.find(':') != std::string::npos;
    const std::string host_part = bracket ? "[" + config_.host + "]" : config_.host;
    server_url_ = "https://" + host_part + ":" + std::to_string(config_.port);
    host_header_ = config_.port == 443 ? host_part : host_part + ":" + std::to_string(config_.port);

    if (!config_.ca_pem.empty() && !config_.insecure_skip_tls_verify) {
      auto certs = read_certificates(config_.ca_pem);
      if (certs.empty()) throw ConfigError(config_.source + ": the CA data holds no readable certificate");
      trusted_.reset(sk_X509_new_null());
      if (!trusted_) throw ConfigError("out of memory");
      for (auto& cert : certs) {
        // Fill the extension cache now: concurrent handshakes then only read it.
        X509_check_purpose(cert.get(), -1, 0);
        if (sk_X509_push(trusted_.get(), cert.get()) == 0) throw ConfigError("out of memory");
        cert.release();
      }
    }
    if (!config_.client_cert_pem.empty() || !config_.client_key_pem.empty()) {
      identity_ = read_identity(config_.client_cert_pem, config_.client_key_pem, config_.source);
    }
  }

  ~HttpsTransport() override {
    // Pooled clients may still reference the trusted stack from their SSL_CTX.
    idle_.clear();
  }

  HttpsTransport(const HttpsTransport&) = delete;
  HttpsTransport& operator=(const HttpsTransport&) = delete;

  std::string server() const override { return server_url_; }

  HttpOutcome send(const HttpRequest& request) override {
    httplib::Request req;
    req.method = request.method;
    req.path = request.path;
    req.headers = headers(request);
    req.body = request.body;

    PooledClient pooled;
    try {
      pooled = acquire();
    } catch (const ConnectFailure& e) {
      return HttpOutcome{std::nullopt, e.what()};
    }
    httplib::Response res;
    httplib::Error error = httplib::Error::Success;
    const bool ok = pooled.client->send(req, res, error);
    if (!ok || error != httplib::Error::Success) {
      HttpOutcome out;
      out.failure = failure(error, pooled.client->get_openssl_verify_result());
      // The connection's state is unknown; a fresh client gets a fresh one.
      return out;
    }
    release(std::move(pooled));
    return HttpOutcome{HttpResponse{res.status, std::move(res.body), res.get_header_value("Content-Type"),
                                    res.get_header_value("Retry-After")},
                       {}};
  }

  // After stop_streams() a stream returns `stopped` instead of connecting, and
  // one that had no response headers yet returns the same.
  StreamOutcome stream(const HttpRequest& request, const std::function<bool(std::string_view data)>& on_data,
                       std::chrono::milliseconds read_timeout) override {
    StreamOutcome outcome;
    outcome.stopped = true;
    if (streams_stopped_.load()) return outcome;
    std::unique_ptr<httplib::SSLClient> client;
    try {
      client = make_client(read_timeout).client;
    } catch (const ConnectFailure& e) {
      outcome.stopped = false;
      outcome.failure = e.what();
      return outcome;
    }
    if (!register_stream(client.get())) return outcome;
    outcome.stopped = false;

    HttpResponse out;
    bool got_headers = false;
    httplib::Request req;
    req.method = request.method;
    req.path = request.path;
    req.headers = headers(request);
    req.response_handler = [&](const httplib::Response& res) {
      out.status = res.status;
      out.content_type = res.get_header_value("Content-Type");
      out.retry_after = res.get_header_value("Retry-After");
      got_headers = true;
      return true;
    };
    req.content_receiver = [&](const char* data, std::size_t size, std::uint64_t, std::uint64_t) {
      if (streams_stopped_.load()) return false;
      if (out.status != 200) {
        if (out.body.size() < kMaxErrorBody)
          out.body.append(data, std::min(size, kMaxErrorBody - out.body.size()));
        return true;
      }
      return on_data(std::string_view(data, size));
    };

    httplib::Response res;
    httplib::Error error = httplib::Error::Success;
    const bool ok = client->send(req, res, error);
    const long verify_result = client->get_openssl_verify_result();
    unregister_stream(client.get());
    client.reset();

    if (!got_headers) {
      if (streams_stopped_.load()) {
        outcome.stopped = true;
      } else {
        outcome.failure = failure(error, verify_result);
      }
      return outcome;
    }
    outcome.response = std::move(out);
    outcome.complete = ok;
    return outcome;
  }

  void stop_streams() override {
    std::unique_lock<std::mutex> lock(streams_mutex_);
    streams_stopped_.store(true);
    const auto self = std::this_thread::get_id();
    const auto deadline = Clock::now() + std::chrono::seconds(1);
    // stop() only interrupts a request whose socket is open, so a stream caught
    // between registering and connecting is stopped again until it has ended.
    while (true) {
      bool others = false;
      for (const auto& s : live_streams_) {
        s.client->stop();
        // An on_data calling stop_streams() cannot end before it returns: no
        // waiting for it.
        if (s.thread != self) others = true;
      }
      if (!others || Clock::now() >= deadline) break;
      streams_changed_.wait_for(lock, std::chrono::milliseconds(20));
    }
  }

  void use_client_certificate(const std::string& cert_pem, const std::string& key_pem) override {
    auto identity = read_identity(cert_pem, key_pem, config_.source);
    std::vector<PooledClient> dropped;
    {
      std::lock_guard<std::mutex> lock(pool_mutex_);
      identity_ = std::move(identity);
      ++generation_;
      dropped.swap(idle_);
    }
    // The dropped clients close their connections here, outside the lock.
  }

 private:
  // A client with its own connection, and the generation of the client
  // identity it was made with.
  struct PooledClient {
    std::unique_ptr<httplib::SSLClient> client;
    std::uint64_t generation = 0;
  };

  PooledClient make_client(std::chrono::milliseconds read_timeout) {
    std::shared_ptr<const ClientIdentity> identity;
    PooledClient made;
    {
      std::lock_guard<std::mutex> lock(pool_mutex_);
      identity = identity_;
      made.generation = generation_;
    }
    // With tls-server-name, httplib is given that name (its SNI and its own
    // host check) and told the address to reach it at: the server URL's host.
    const std::string& tls_name = verify_name();
    const bool renamed = tls_name != config_.host;
    const std::string address = renamed ? numeric_address(config_.host) : std::string();
    // httplib takes its own references to the certificate and key (SSL_CTX_use_*).
    made.client = identity ? std::make_unique<httplib::SSLClient>(tls_name, config_.port,
                                                                  identity->cert.get(), identity->key.get())
                           : std::make_unique<httplib::SSLClient>(tls_name, config_.port);
    auto& client = made.client;
    if (!client->is_valid()) {
      ERR_clear_error();
      throw ApiError("cannot set up TLS for " + server_url_ + " (" + config_.source + ")");
    }
    if (renamed) client->set_hostname_addr_map({{tls_name, address}});
    SSL_CTX* ctx = client->ssl_context();
    if (identity) {
      for (const auto& cert : identity->chain) SSL_CTX_add1_chain_cert(ctx, cert.get());
    }
    if (config_.insecure_skip_tls_verify) {
      client->enable_server_certificate_verification(false);
    } else {
      client->enable_server_certificate_verification(true);
      // OpenSSL's own name check (SAN only, no partial wildcards) on top of
      // httplib's.
      X509_VERIFY_PARAM* param = SSL_CTX_get0_param(ctx);
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      if (is_ip_literal(tls_name)) {
        X509_VERIFY_PARAM_set1_ip_asc(param, tls_name.c_str());
      } else {
        X509_VERIFY_PARAM_set1_host(param, tls_name.c_str(), tls_name.size());
      }
      if (trusted_) SSL_CTX_set_cert_verify_callback(ctx, verify_with_configured_cas, trusted_.get());
    }
    client->set_connection_timeout(options_.connect_timeout);
    client->set_read_timeout(read_timeout);
    client->set_write_timeout(options_.request_timeout);
    client->set_keep_alive(true);
    client->set_tcp_nodelay(true);
    return made;
  }

  // The name the server's certificate must carry.
  const std::string& verify_name() const {
    return config_.tls_server_name.empty() ? config_.host : config_.tls_server_name;
  }

  PooledClient acquire() {
    {
      std::lock_guard<std::mutex> lock(pool_mutex_);
      if (!idle_.empty()) {
        auto pooled = std::move(idle_.back());
        idle_.pop_back();
        return pooled;
      }
    }
    return make_client(options_.request_timeout);
  }

  void release(PooledClient pooled) {
    std::unique_lock<std::mutex> lock(pool_mutex_);
    // One made with a client certificate since replaced is not kept.
    if (pooled.generation == generation_ && idle_.size() < kMaxIdleClients)
      idle_.push_back(std::move(pooled));
    lock.unlock();
    // A surplus client (if any) closes its connection here, outside the lock.
  }

  httplib::Headers headers(const HttpRequest& request) const {
    // httplib 0.11 writes an IPv6 Host header without brackets: ours goes first.
    httplib::Headers h{{"Host", host_header_}};
    for (const auto& [name, value] : request.headers) h.emplace(name, value);
    return h;
  }

  // Registers a stream's client so stop_streams() can reach it; false once stopped.
  bool register_stream(httplib::SSLClient* client) {
    std::lock_guard<std::mutex> lock(streams_mutex_);
    if (streams_stopped_.load()) return false;
    live_streams_.push_back({client, std::this_thread::get_id()});
    return true;
  }

  void unregister_stream(httplib::SSLClient* client) {
    {
      std::lock_guard<std::mutex> lock(streams_mutex_);
      live_streams_.erase(std::remove_if(live_streams_.begin(), live_streams_.end(),
                                         [&](const LiveStream& s) { return s.client == client; }),
                          live_streams_.end());
    }
    streams_changed_.notify_all();
  }

  ClusterConfig config_;
  HttpsTransportOptions options_;
  std::string server_url_;   // https://host:port, for messages
  std::string host_header_;  // with brackets around an IPv6 address
  X509StackPtr trusted_;     // the configured CAs; null: the system's store

  std::mutex pool_mutex_;  // guards the three below
  std::vector<PooledClient> idle_;
  std::shared_ptr<const ClientIdentity> identity_;  // null: no client certificate
  std::uint64_t generation_ = 0;                    // bumped when identity_ changes

  struct LiveStream {
    httplib::SSLClient* client;
    std::thread::id thread;
  };
  std::mutex streams_mutex_;
  std::condition_variable streams_changed_;
  std::vector<LiveStream> live_streams_;
  std::atomic<bool> streams_stopped_{false};
};

}  // namespace

std::unique_ptr<HttpTransport> make_https_transport(const ClusterConfig& config,
                                                    HttpsTransportOptions options) {
  return std::make_unique<HttpsTransport>(config, options);
}

}  // namespace cdcguard::kube
