#include "cdcguard/kube/kube_client.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "kube/fake_clock.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

namespace cdcguard::kube {
namespace {

using namespace std::chrono_literals;
using testing_support::PemPair;
using testing_support::TempDir;
using testing_support::TestCa;
using testing_support::write_text_file;
using Clock = std::chrono::steady_clock;

// Waits on real sockets are bounded only to keep a broken test from hanging:
// generous, and no claim about speed (timing is tested with a FakeClock in
// kube_client_retry_test.cpp).
constexpr auto kHangGuard = 30s;

// A client CA of its own and a client certificate (clientAuth) it signs.
struct ClientPki {
  std::string ca_pem;
  PemPair client;
};

ClientPki make_client_pki() {
  testing_support::TestCa ca("client CA");
  return {ca.cert_pem(), ca.issue_client("system:cdc-guard")};
}

// A local HTTPS server on an ephemeral port of 127.0.0.1.
class TestServer {
 public:
  explicit TestServer(const PemPair& serving, const std::string& client_ca_pem = "") {
    write_text_file(dir_ / "tls.crt", serving.cert);
    write_text_file(dir_ / "tls.key", serving.key);
    if (client_ca_pem.empty()) {
      server_ = std::make_unique<httplib::SSLServer>((dir_ / "tls.crt").c_str(), (dir_ / "tls.key").c_str());
    } else {
      write_text_file(dir_ / "client-ca.crt", client_ca_pem);
      server_ = std::make_unique<httplib::SSLServer>((dir_ / "tls.crt").c_str(), (dir_ / "tls.key").c_str(),
                                                     (dir_ / "client-ca.crt").c_str());
    }
    if (!server_->is_valid()) throw std::runtime_error("SSLServer is not valid");
    // Kept-alive client connections each hold a worker: enough for the concurrency test.
    server_->new_task_queue = [] { return new httplib::ThreadPool(40); };
    server_->set_keep_alive_timeout(1);
    server_->set_keep_alive_max_count(1000);
    server_->set_tcp_nodelay(true);
  }
  ~TestServer() { stop(); }
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  httplib::SSLServer& http() { return *server_; }

  void start() {
    port_ = server_->bind_to_any_port("127.0.0.1");
    if (port_ <= 0) throw std::runtime_error("bind failed");
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    const auto deadline = Clock::now() + kHangGuard;
    while (!server_->is_running() && Clock::now() < deadline) std::this_thread::sleep_for(1ms);
    if (!server_->is_running()) throw std::runtime_error("server did not start");
  }

  void stop() {
    if (thread_.joinable()) {
      server_->stop();
      thread_.join();
    }
  }

  int port() const { return port_; }

 private:
  TempDir dir_;
  std::unique_ptr<httplib::SSLServer> server_;
  std::thread thread_;
  int port_ = 0;
};

ClusterConfig config_for(int port, const std::string& ca_pem) {
  ClusterConfig config;
  config.host = "127.0.0.1";
  config.port = port;
  config.server = "https://127.0.0.1:" + std::to_string(port);
  config.ca_pem = ca_pem;
  config.source = "test";
  return config;
}

// Short backoffs; timeouts only as hang guards (nothing here waits for one,
// except ReadTimeoutEndsTheStreamNormally, which sets its own).
ClientOptions fast_options() {
  ClientOptions options;
  options.connect_timeout = kHangGuard;
  options.request_timeout = kHangGuard;
  options.backoff_base = 5ms;
  options.backoff_max = 50ms;
  return options;
}

class KubeClientTest : public ::testing::Test {
 protected:
  KubeClientTest() : server_(ca_.issue()) {}

  ClusterConfig config() const { return config_for(server_.port(), ca_.cert_pem()); }

  TestCa ca_;
  TestServer server_;
  std::atomic<int> hits_{0};
};

TEST_F(KubeClientTest, SendsBearerTokenAndHeaders) {
  std::mutex mutex;
  httplib::Headers seen;
  server_.http().Get("/api/v1/namespaces", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mutex);
    seen = req.headers;
    res.set_content(R"({"kind":"NamespaceList"})", "application/json");
  });
  server_.http().Put("/put", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mutex);
    seen = req.headers;
    res.status = 201;
    res.set_content(req.body, "application/json");
  });
  server_.start();
  ClusterConfig cfg = config();
  cfg.token = "static-token";
  ClientOptions options = fast_options();
  options.user_agent = "cdc-guard-test/1";
  KubeClient client(cfg, options);
  EXPECT_EQ(client.server(), "https://127.0.0.1:" + std::to_string(server_.port()));

  const HttpResponse res = client.get("/api/v1/namespaces");
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, R"({"kind":"NamespaceList"})");
  EXPECT_EQ(res.content_type, "application/json");
  {
    std::lock_guard<std::mutex> lock(mutex);
    EXPECT_EQ(httplib::detail::get_header_value(seen, "Authorization", 0, ""),
              std::string("Bearer static-token"));
    EXPECT_EQ(httplib::detail::get_header_value(seen, "Accept", 0, ""), std::string("application/json"));
    EXPECT_EQ(httplib::detail::get_header_value(seen, "User-Agent", 0, ""), std::string("cdc-guard-test/1"));
    EXPECT_EQ(seen.count("Host"), 1u);
  }
  const HttpResponse put = client.put("/put", R"({"a":1})");
  EXPECT_EQ(put.status, 201);
  EXPECT_EQ(put.body, R"({"a":1})");
  std::lock_guard<std::mutex> lock(mutex);
  EXPECT_EQ(httplib::detail::get_header_value(seen, "Content-Type", 0, ""), std::string("application/json"));
}

TEST_F(KubeClientTest, ConnectsByDnsName) {
  server_.http().Get(
      "/", [&](const httplib::Request&, httplib::Response& res) { res.set_content("ok", "text/plain"); });
  server_.start();
  ClusterConfig cfg = config();
  cfg.host = "localhost";
  KubeClient client(cfg, fast_options());
  EXPECT_EQ(client.get("/").status, 200);
}

class TokenFileTest : public KubeClientTest {
 protected:
  void SetUp() override {
    server_.http().Get("/who", [&](const httplib::Request& req, httplib::Response& res) {
      ++hits_;
      const std::string auth = req.get_header_value("Authorization");
      {
        std::lock_guard<std::mutex> lock(mutex_);
        last_auth_ = auth;
        if (!accepted_.empty() && auth != "Bearer " + accepted_) {
          res.status = 401;
          res.set_content(R"({"kind":"Status","code":401})", "application/json");
          return;
        }
      }
      res.set_content(auth, "text/plain");
    });
    server_.start();
    write_text_file(dir_ / "token", "token-1\n");
  }
  void accept_only(const std::string& token) {
    std::lock_guard<std::mutex> lock(mutex_);
    accepted_ = token;
  }

  TempDir dir_;
  std::mutex mutex_;
  std::string last_auth_;
  std::string accepted_;
};

TEST_F(TokenFileTest, UnauthorizedRereadsTheFileAtOnce) {
  ClusterConfig cfg = config();
  cfg.token_file = (dir_ / "token").string();
  ClientOptions options = fast_options();
  options.token_check_interval = std::chrono::hours(1);
  KubeClient client(cfg, options);
  EXPECT_EQ(client.get("/who").status, 200);
  testing_support::replace_file(dir_ / "token", "token-2\n");
  accept_only("token-2");
  hits_ = 0;
  const HttpResponse res = client.get("/who");
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, "Bearer token-2");
  EXPECT_EQ(hits_.load(), 2);
}

TEST_F(TokenFileTest, StaticTokenUnauthorizedIsReturned) {
  ClusterConfig cfg = config();
  cfg.token = "bad";
  accept_only("good");
  KubeClient client(cfg, fast_options());
  EXPECT_EQ(client.get("/who").status, 401);
  EXPECT_EQ(hits_.load(), 1);
}

TEST_F(KubeClientTest, RetriesUnavailableThenSucceeds) {
  server_.http().Get("/flaky", [&](const httplib::Request&, httplib::Response& res) {
    if (++hits_ <= 2) {
      res.status = 503;
      return;
    }
    res.set_content("{}", "application/json");
  });
  server_.start();
  KubeClient client(config(), fast_options());
  const HttpResponse res = client.get("/flaky");
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(hits_.load(), 3);
}

struct StatusCase {
  int status;
  int expected_hits;  // with max_attempts 3
};

class StatusRetryTest : public KubeClientTest, public ::testing::WithParamInterface<StatusCase> {};

TEST_P(StatusRetryTest, RetriesOnlyThrottlingAndServerErrors) {
  const int status = GetParam().status;
  server_.http().Post("/x", [&](const httplib::Request&, httplib::Response& res) {
    const int n = ++hits_;
    res.status = status;
    res.set_content("attempt " + std::to_string(n), "text/plain");
  });
  server_.start();
  ClientOptions options = fast_options();
  options.max_attempts = 3;
  KubeClient client(config(), options);
  const HttpResponse res = client.post("/x", "{}");
  EXPECT_EQ(res.status, status);
  EXPECT_EQ(hits_.load(), GetParam().expected_hits);
  // The last response is the one returned.
  EXPECT_EQ(res.body, "attempt " + std::to_string(GetParam().expected_hits));
}

INSTANTIATE_TEST_SUITE_P(Statuses, StatusRetryTest,
                         ::testing::Values(StatusCase{429, 3}, StatusCase{500, 3}, StatusCase{502, 3},
                                           StatusCase{503, 3}, StatusCase{504, 3}, StatusCase{400, 1},
                                           StatusCase{403, 1}, StatusCase{404, 1}, StatusCase{409, 1},
                                           StatusCase{410, 1}, StatusCase{422, 1}, StatusCase{501, 1}),
                         [](const ::testing::TestParamInfo<StatusCase>& param_info) {
                           return "Status" + std::to_string(param_info.param.status);
                         });

// End to end over HTTPS: the Retry-After header reaches the backoff. The
// pause is read from a fake clock, so nothing here depends on the machine's
// speed (the scenarios are in kube_client_retry_test.cpp).
TEST_F(KubeClientTest, RetryAfterFromTheServerIsHonouredUpToBackoffMax) {
  server_.http().Get("/throttled", [&](const httplib::Request&, httplib::Response& res) {
    if (++hits_ % 2 == 1) {
      res.status = 429;
      res.set_header("Retry-After", "1");
      return;
    }
    res.set_content("{}", "application/json");
  });
  server_.start();
  for (const auto backoff_max : {200ms, 5000ms}) {
    auto clock = std::make_shared<testing_support::FakeClock>();
    ClientOptions options = fast_options();
    options.backoff_max = backoff_max;
    options.clock = clock;
    KubeClient client(config(), options);
    EXPECT_EQ(client.get("/throttled").status, 200);
    EXPECT_EQ(
        clock->sleeps(),
        (std::vector<MonotonicClock::duration>{std::min<std::chrono::milliseconds>(1000ms, backoff_max)}));
  }
  EXPECT_EQ(hits_.load(), 4);
}

int unused_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST(KubeClientErrorTest, ConnectionRefusedNamesTheServerNotTheToken) {
  TestCa ca;
  const int port = unused_port();
  ClusterConfig cfg = config_for(port, ca.cert_pem());
  cfg.token = "s3cret-token-value";
  ClientOptions options = fast_options();
  options.max_attempts = 3;
  KubeClient client(cfg, options);
  try {
    client.get("/api");
    FAIL() << "no ApiError";
  } catch (const ApiError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("https://127.0.0.1:" + std::to_string(port)), std::string::npos) << message;
    EXPECT_NE(message.find("after 3 attempts"), std::string::npos) << message;
    EXPECT_EQ(message.find("s3cret"), std::string::npos) << message;
  }
}

TEST_F(KubeClientTest, UntrustedServerCertificateFailsVerification) {
  server_.http().Get("/", [&](const httplib::Request&, httplib::Response& res) {
    ++hits_;
    res.set_content("ok", "text/plain");
  });
  server_.start();
  TestCa other("some other CA");
  ClientOptions options = fast_options();
  options.max_attempts = 2;
  KubeClient client(config_for(server_.port(), other.cert_pem()), options);
  try {
    client.get("/");
    FAIL() << "no ApiError";
  } catch (const ApiError& e) {
    EXPECT_NE(std::string(e.what()).find("verification failed"), std::string::npos) << e.what();
  }
  EXPECT_EQ(hits_.load(), 0);
}

TEST_F(KubeClientTest, InsecureSkipTlsVerifyAcceptsAnyCertificate) {
  server_.http().Get(
      "/", [&](const httplib::Request&, httplib::Response& res) { res.set_content("ok", "text/plain"); });
  server_.start();
  TestCa other("some other CA");
  ClusterConfig cfg = config_for(server_.port(), other.cert_pem());
  cfg.insecure_skip_tls_verify = true;
  KubeClient client(cfg, fast_options());
  EXPECT_EQ(client.get("/").body, "ok");
}

TEST(KubeClientCertTest, ClientCertificateAuthentication) {
  TestCa ca;
  const ClientPki pki = make_client_pki();
  TestServer server(ca.issue(), pki.ca_pem);
  server.http().Get("/", [&](const httplib::Request& req, httplib::Response& res) {
    // The verified peer certificate is the one the client was given.
    X509* peer = req.ssl ? SSL_get1_peer_certificate(req.ssl) : nullptr;
    char cn[128] = {};
    if (peer) {
      X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof cn);
      X509_free(peer);
    }
    res.set_content(cn, "text/plain");
  });
  server.start();
  ClientOptions options = fast_options();
  options.max_attempts = 1;
  {
    ClusterConfig cfg = config_for(server.port(), ca.cert_pem());
    cfg.client_cert_pem = pki.client.cert;
    cfg.client_key_pem = pki.client.key;
    KubeClient client(cfg, options);
    const HttpResponse res = client.get("/");
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(res.body, "system:cdc-guard");
  }
  KubeClient anonymous(config_for(server.port(), ca.cert_pem()), options);
  EXPECT_THROW(anonymous.get("/"), ApiError);
}

TEST(KubeClientCertTest, MismatchedClientKeyIsAConfigError) {
  TestCa ca;
  const auto a = ca.issue();
  const auto b = ca.issue();
  ClusterConfig cfg = config_for(1, ca.cert_pem());
  cfg.client_cert_pem = a.cert;
  cfg.client_key_pem = b.key;
  try {
    KubeClient client(cfg, fast_options());
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).find("PRIVATE"), std::string::npos);
  }
}

// kubeconfig tls-server-name: the server at 127.0.0.1 holds a certificate
// for api.internal only. The client reaches it by address and verifies (and
// sends as SNI) the other name.
class TlsServerNameTest : public ::testing::Test {
 protected:
  TlsServerNameTest() : server_(ca_.issue_server("api.internal", "DNS:api.internal")) {
    server_.http().Get("/sni", [&](const httplib::Request& req, httplib::Response& res) {
      const char* name = req.ssl ? SSL_get_servername(req.ssl, TLSEXT_NAMETYPE_host_name) : nullptr;
      res.set_content(name ? name : "(none)", "text/plain");
    });
    server_.start();
  }
  ClientOptions options() const {
    ClientOptions o = fast_options();
    o.max_attempts = 1;
    return o;
  }

  TestCa ca_;
  TestServer server_;
};

TEST_F(TlsServerNameTest, VerifiesTheServerAgainstTlsServerName) {
  ClusterConfig cfg = config_for(server_.port(), ca_.cert_pem());
  cfg.tls_server_name = "api.internal";
  KubeClient client(cfg, options());
  const HttpResponse res = client.get("/sni");
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, "api.internal");
  EXPECT_EQ(client.server(), "https://127.0.0.1:" + std::to_string(server_.port()));
}

TEST_F(TlsServerNameTest, AServerNamedByDnsIsReachedAtItsAddress) {
  ClusterConfig cfg = config_for(server_.port(), ca_.cert_pem());
  cfg.host = "localhost";
  cfg.tls_server_name = "api.internal";
  KubeClient client(cfg, options());
  EXPECT_EQ(client.get("/sni").body, "api.internal");
}

TEST_F(TlsServerNameTest, WithoutItOrWithAnotherNameVerificationFails) {
  for (const std::string& name : {std::string(), std::string("other.internal")}) {
    ClusterConfig cfg = config_for(server_.port(), ca_.cert_pem());
    cfg.tls_server_name = name;
    KubeClient client(cfg, options());
    try {
      client.get("/sni");
      ADD_FAILURE() << "no ApiError with tls-server-name \"" << name << "\"";
    } catch (const ApiError& e) {
      EXPECT_NE(std::string(e.what()).find("verification failed"), std::string::npos) << e.what();
    }
  }
}

// A credential plugin that answers with a client certificate: the server
// sees that certificate.
TEST(KubeClientCertTest, ClientCertificateFromAnExecPlugin) {
  TestCa ca;
  const ClientPki pki = make_client_pki();
  TestServer server(ca.issue(), pki.ca_pem);
  server.http().Get("/", [&](const httplib::Request& req, httplib::Response& res) {
    X509* peer = req.ssl ? SSL_get1_peer_certificate(req.ssl) : nullptr;
    char cn[128] = {};
    if (peer) {
      X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof cn);
      X509_free(peer);
    }
    res.set_content(cn, "text/plain");
  });
  server.start();
  TempDir dir;
  const nlohmann::json answer = {
      {"kind", "ExecCredential"},
      {"apiVersion", "client.authentication.k8s.io/v1beta1"},
      {"status", {{"clientCertificateData", pki.client.cert}, {"clientKeyData", pki.client.key}}}};
  write_text_file(dir / "answer.json", answer.dump());
  write_text_file(dir / "plugin", "#!/bin/sh\ncat '" + (dir / "answer.json").string() + "'\n");
  std::filesystem::permissions(dir / "plugin", std::filesystem::perms::owner_all);

  ClusterConfig cfg = config_for(server.port(), ca.cert_pem());
  cfg.exec = ExecPluginConfig{};
  cfg.exec->api_version = "client.authentication.k8s.io/v1beta1";
  cfg.exec->command = (dir / "plugin").string();
  cfg.exec->origin = "test";
  ClientOptions options = fast_options();
  options.max_attempts = 1;
  KubeClient client(cfg, options);
  const HttpResponse res = client.get("/");
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, "system:cdc-guard");
}

TEST_F(KubeClientTest, StreamDeliversLinesSplitAcrossChunks) {
  server_.http().Get("/watch", [&](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider("application/json", [](std::size_t, httplib::DataSink& sink) {
      const std::vector<std::string> pieces = {"{\"a\":", "1}\n{\"b\"", ":2}\r\n\n{\"c", "\":3}\n{\"d\":4}"};
      for (const auto& piece : pieces) {
        sink.write(piece.data(), piece.size());
        std::this_thread::sleep_for(20ms);
      }
      sink.done();
      return true;
    });
  });
  server_.http().Get("/gone", [&](const httplib::Request&, httplib::Response& res) {
    res.status = 410;
    res.set_content(R"({"kind":"Status","code":410})", "application/json");
  });
  server_.start();
  KubeClient client(config(), fast_options());
  std::vector<std::string> lines;
  const HttpResponse res = client.stream(
      "/watch",
      [&](std::string_view line) {
        lines.emplace_back(line);
        return true;
      },
      kHangGuard);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(lines, (std::vector<std::string>{"{\"a\":1}", "{\"b\":2}", "{\"c\":3}", "{\"d\":4}"}));

  lines.clear();
  const HttpResponse gone = client.stream(
      "/gone",
      [&](std::string_view line) {
        lines.emplace_back(line);
        return true;
      },
      kHangGuard);
  EXPECT_EQ(gone.status, 410);
  EXPECT_EQ(gone.body, R"({"kind":"Status","code":410})");
  EXPECT_TRUE(lines.empty());
}

class BlockingStreamTest : public KubeClientTest {
 protected:
  void SetUp() override {
    server_.http().Get("/watch", [&](const httplib::Request&, httplib::Response& res) {
      ++hits_;
      res.set_chunked_content_provider("application/json", [&](std::size_t offset, httplib::DataSink& sink) {
        if (offset == 0) {
          sink.write("{\"first\":1}\n", 12);
          sink.write("{\"second\":2}\n", 13);
        }
        // Then nothing, like a quiet watch, until the test ends.
        while (!done_ && sink.is_writable()) std::this_thread::sleep_for(5ms);
        sink.done();
        return true;
      });
    });
    server_.start();
  }
  void TearDown() override { done_ = true; }

  // Waits for `running` up to the hang guard; if it is still running then,
  // ends the server's side so that it can return, and says so.
  bool finished(std::future<void>& running) {
    if (running.wait_for(kHangGuard) == std::future_status::ready) return true;
    done_ = true;
    running.wait();
    return false;
  }

  std::atomic<bool> done_{false};
};

// The stream's read timeout is an hour and the server never ends it: only
// stop_streams() can end it within the hang guard.
TEST_F(BlockingStreamTest, StopStreamsInterruptsAWaitingStream) {
  KubeClient client(config(), fast_options());
  std::atomic<int> lines{0};
  HttpResponse res;
  auto watcher = std::async(std::launch::async, [&] {
    res = client.stream(
        "/watch",
        [&](std::string_view) {
          ++lines;
          return true;
        },
        std::chrono::hours(1));
  });
  const auto deadline = Clock::now() + kHangGuard;
  while (lines.load() < 2 && Clock::now() < deadline) std::this_thread::sleep_for(2ms);
  ASSERT_EQ(lines.load(), 2);
  client.stop_streams();
  EXPECT_TRUE(finished(watcher)) << "stop_streams() did not end the stream";
  EXPECT_EQ(res.status, 200);

  // Later streams return without connecting.
  const HttpResponse after = client.stream(
      "/watch", [](std::string_view) { return true; }, std::chrono::hours(1));
  EXPECT_EQ(after.status, 0);
  EXPECT_EQ(hits_.load(), 1);
}

// The server never ends the stream: only the 300 ms read timeout can end it
// within the hang guard.
TEST_F(BlockingStreamTest, ReadTimeoutEndsTheStreamNormally) {
  KubeClient client(config(), fast_options());
  int lines = 0;
  HttpResponse res;
  auto reading = std::async(std::launch::async, [&] {
    res = client.stream(
        "/watch",
        [&](std::string_view) {
          ++lines;
          return true;
        },
        300ms);
  });
  ASSERT_TRUE(finished(reading)) << "the read timeout did not end the stream";
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(lines, 2);
}

TEST_F(BlockingStreamTest, OnLineReturningFalseEndsTheStream) {
  KubeClient client(config(), fast_options());
  int lines = 0;
  const HttpResponse res = client.stream(
      "/watch",
      [&](std::string_view) {
        ++lines;
        return false;
      },
      30s);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(lines, 1);
}

TEST(KubeClientErrorTest, StreamConnectionFailureThrows) {
  TestCa ca;
  KubeClient client(config_for(unused_port(), ca.cert_pem()), fast_options());
  EXPECT_THROW(client.stream(
                   "/watch", [](std::string_view) { return true; }, 1s),
               ApiError);
}

TEST_F(KubeClientTest, ConcurrentRequestsShareThePool) {
  server_.http().Get(R"(/item/(\d+))", [&](const httplib::Request& req, httplib::Response& res) {
    ++hits_;
    res.set_content(req.matches[1].str(), "text/plain");
  });
  server_.start();
  ClusterConfig cfg = config();
  cfg.token = "t";
  KubeClient client(cfg, fast_options());
  std::atomic<int> ok{0};
  std::mutex failures_mutex;
  std::vector<std::string> failures;
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        const std::string id = std::to_string(t * 100 + i);
        std::string failure;
        try {
          const HttpResponse res = client.get("/item/" + id);
          if (res.status == 200 && res.body == id) {
            ++ok;
          } else {
            failure = std::to_string(res.status) + " " + res.body;
          }
        } catch (const ApiError& e) {
          failure = e.what();
        }
        if (failure.empty()) continue;
        std::lock_guard<std::mutex> lock(failures_mutex);
        failures.push_back(failure);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), 16 * 20) << "first failure: " << (failures.empty() ? "" : failures.front());
}

}  // namespace
}  // namespace cdcguard::kube
