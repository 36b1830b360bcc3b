// TLS versions, certificate rotation, keep-alive and clients that stall.
#include <thread>

#include "server/server_fixture.hpp"

namespace cdcguard::testing_support {
namespace {

using Tls = WebhookServerFixture;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

TEST_F(Tls, ServesTls12AndTls13AndRefusesOlderVersions) {
  start();
  TlsConnection::Options v13;
  v13.min_version = TLS1_3_VERSION;
  EXPECT_EQ(connect(v13).version(), "TLSv1.3");
  TlsConnection::Options v12;
  v12.max_version = TLS1_2_VERSION;
  EXPECT_EQ(connect(v12).version(), "TLSv1.2");
  TlsConnection::Options old;
  old.max_version = TLS1_1_VERSION;
  old.legacy = true;  // the client would offer TLS 1.1; the server must say no
  EXPECT_THROW(connect(old), std::runtime_error);
  old.max_version = TLS1_VERSION;
  EXPECT_THROW(connect(old), std::runtime_error);
}

TEST_F(Tls, AClientThatDoesNotTrustTheCaIsRefused) {
  start();
  TestCa other("some other CA");
  TlsConnection::Options o;
  o.ca_pem = other.cert_pem();
  EXPECT_THROW(connect(o), std::runtime_error);
}

TEST_F(Tls, ARotatedCertificateIsServedWithoutRestartOrDroppedConnections) {
  start();
  TlsConnection before = connect();
  EXPECT_NE(before.peer_subject().find("cdc-guard-webhook-1"), std::string::npos);
  EXPECT_EQ(before.request("POST", "/validate", fixture("create-registered-id.json").dump()).status, 200);

  // cert-manager renews: a new key and certificate (here also a new CA).
  TestCa renewed_ca("cdc-guard test CA 2");
  const PemPair renewed = renewed_ca.issue("cdc-guard-webhook-2");
  replace_file(key_path_, renewed.key);
  replace_file(cert_path_, renewed.cert);

  std::string subject;
  const auto deadline = steady_clock::now() + std::chrono::seconds(30);  // a hang guard, not a speed claim
  while (steady_clock::now() < deadline) {
    try {
      TlsConnection::Options o;
      o.ca_pem = renewed_ca.cert_pem();
      subject = TlsConnection(server_->port(), o).peer_subject();
      break;
    } catch (const std::runtime_error&) {
      std::this_thread::sleep_for(milliseconds(20));  // not reloaded yet
    }
  }
  EXPECT_NE(subject.find("cdc-guard-webhook-2"), std::string::npos) << subject;
  // The connection made before the rotation still works.
  EXPECT_EQ(before.request("POST", "/validate", fixture("create-registered-id.json").dump()).status, 200);
  const std::string m = metrics_get("/metrics").body;
  EXPECT_NE(m.find("cdcguard_tls_certificate_reloads_total 1\n"), std::string::npos) << m;
  bool logged = false;
  for (const auto& line : sink_->lines())
    logged |= line.find("serving certificate reloaded") != std::string::npos;
  EXPECT_TRUE(logged);
}

TEST_F(Tls, ABrokenRotationKeepsThePreviousCertificate) {
  start();
  const PemPair other = ca_.issue("cdc-guard-webhook-2");
  replace_file(key_path_, other.key);  // the key changed, the certificate not (yet)
  const auto deadline = steady_clock::now() + std::chrono::seconds(30);  // a hang guard, not a speed claim
  std::string m;
  while (steady_clock::now() < deadline) {
    m = metrics_get("/metrics").body;
    if (m.find("cdcguard_tls_certificate_reload_errors_total 1\n") != std::string::npos) break;
    std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_NE(m.find("cdcguard_tls_certificate_reload_errors_total 1\n"), std::string::npos) << m;
  EXPECT_NE(connect().peer_subject().find("cdc-guard-webhook-1"), std::string::npos);
  // The certificate arrives: the pair matches again and is taken.
  replace_file(cert_path_, other.cert);
  std::string subject;
  const auto second = steady_clock::now() + std::chrono::seconds(30);  // a hang guard, not a speed claim
  while (steady_clock::now() < second) {
    subject = connect().peer_subject();
    if (subject.find("cdc-guard-webhook-2") != std::string::npos) break;
    std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_NE(subject.find("cdc-guard-webhook-2"), std::string::npos) << subject;
}

TEST_F(Tls, AConnectionIsKeptAliveForManyRequests) {
  start();
  TlsConnection c = connect();
  const std::string body = fixture("create-registered-id.json").dump();
  for (int i = 0; i < 50; ++i) {
    const HttpReply r = c.request("POST", "/validate", body);
    ASSERT_EQ(r.status, 200) << "request " << i << " on one connection";
    ASSERT_EQ(r.headers.count("connection") ? r.headers.at("connection") : "", "") << "request " << i;
  }
}

TEST_F(Tls, MoreOpenConnectionsThanWorkerThreadsAreServed) {
  server::ServerOptions o = options();
  o.threads = 2;  // a connection holds no thread: the event loop owns the sockets
  o.idle_timeout = milliseconds(60000);
  start(o);
  const std::string body = fixture("create-registered-id.json").dump();
  std::vector<std::unique_ptr<TlsConnection>> open;
  for (int i = 0; i < 12; ++i) {
    open.push_back(std::make_unique<TlsConnection>(server_->port(), trusting()));
    ASSERT_EQ(open.back()->request("POST", "/validate", body).status, 200);  // and left open
  }
  // Each open connection is still served, in any order, and a new one too.
  for (int i = 11; i >= 0; --i) ASSERT_EQ(open[i]->request("POST", "/validate", body).status, 200) << i;
  TlsConnection late(server_->port(), trusting());
  EXPECT_EQ(late.request("POST", "/validate", body).status, 200);
}

}  // namespace
}  // namespace cdcguard::testing_support
