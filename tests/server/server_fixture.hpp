#pragma once

#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>

#include <filesystem>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "cdcguard/model/registry_parser.hpp"
#include "cdcguard/server/event_log.hpp"
#include "cdcguard/server/webhook_server.hpp"
#include "cdcguard/store/file_registry_store.hpp"
#include "support/fixtures.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"
#include "support/tls_client.hpp"

// A real webhook on an ephemeral port of 127.0.0.1, with a certificate made
// for this test by a CA made for this test, a registry file in a fresh
// directory and a fixed clock; log lines are captured.
namespace cdcguard::testing_support {

namespace fs = std::filesystem;

// Keeps every formatted log line, for assertions.
class CapturingSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::vector<std::string> lines() {
    std::lock_guard guard(mutex_);
    return lines_;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    std::string line(formatted.data(), formatted.size());
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    lines_.push_back(std::move(line));
  }
  void flush_() override {}

 private:
  std::vector<std::string> lines_;
};

inline const TimePoint kServerNow = *parse_timestamp("2026-11-25T10:00:00Z");

// A CREATE of a MySQL KafkaConnector ecommerce/`name` (the fixture
// create-registered-id.json renamed), with its own topic prefix, and this
// server id (null: none, for /mutate to assign).
inline nlohmann::json connector_create_review(const std::string& uid, const std::string& name,
                                              const nlohmann::json& server_id,
                                              const std::string& prefix = "") {
  auto body = nlohmann::json::parse(read_fixture_file("admission/create-registered-id.json"));
  body["request"]["uid"] = uid;
  body["request"]["name"] = name;
  auto& object = body["request"]["object"];
  object["metadata"]["name"] = name;
  auto& config = object["spec"]["config"];
  const std::string topic_prefix = prefix.empty() ? name : prefix;
  config["topic.prefix"] = topic_prefix;
  config["database.include.list"] = topic_prefix;
  config["schema.history.internal.kafka.topic"] = "schema-history." + topic_prefix;
  if (server_id.is_null())
    config.erase("database.server.id");
  else
    config["database.server.id"] = server_id;
  return body;
}

class WebhookServerFixture : public testing::Test {
 protected:
  void SetUp() override {
    registry_path_ = dir_ / "registry.yaml";
    cert_path_ = dir_ / "tls.crt";
    key_path_ = dir_ / "tls.key";
    write_text_file(registry_path_, read_fixture_file("admission/registry.yaml"));
    const PemPair pair = ca_.issue("cdc-guard-webhook-1");
    write_text_file(cert_path_, pair.cert);
    write_text_file(key_path_, pair.key);
    sink_ = std::make_shared<CapturingSink>();
    log_ = std::make_unique<server::EventLog>(server::LogFormat::Json, spdlog::level::info, sink_);
    store_ = std::make_unique<FileRegistryStore>(registry_path_.string());
  }
  void TearDown() override {
    if (server_) server_->stop();
    server_.reset();
  }

  server::ServerOptions options() const {
    server::ServerOptions o;
    o.address = "127.0.0.1";
    o.port = 0;
    o.metrics_port = 0;
    o.tls_cert = cert_path_.string();
    o.tls_key = key_path_.string();
    o.threads = 16;
    // A hang guard (a handshake under ASan on a loaded machine can take a
    // second); the tests of the deadline itself set a short one.
    o.read_timeout = std::chrono::milliseconds(30000);
    o.certificate_poll = std::chrono::milliseconds(20);
    return o;
  }
  void start(const server::ServerOptions& o) {
    server_ = std::make_unique<server::WebhookServer>(o, *store_, *log_, [] { return kServerNow; });
    server_->start();
  }
  void start() { start(options()); }

  TlsConnection::Options trusting() const {
    TlsConnection::Options o;
    o.ca_pem = ca_.cert_pem();
    return o;
  }
  TlsConnection connect(TlsConnection::Options o = {}) {
    if (o.ca_pem.empty()) o.ca_pem = ca_.cert_pem();
    return TlsConnection(server_->port(), o);
  }
  HttpReply post(const std::string& path, const std::string& body,
                 const std::string& content_type = "application/json") {
    return connect().request("POST", path, body, content_type);
  }
  // The AdmissionReview answer to a fixture (optionally edited first).
  nlohmann::json review(const std::string& path, nlohmann::json body) {
    const HttpReply reply = post(path, body.dump());
    EXPECT_EQ(reply.status, 200) << reply.body;
    EXPECT_EQ(reply.headers.count("content-type") ? reply.headers.at("content-type") : "",
              "application/json");
    return nlohmann::json::parse(reply.body);
  }
  static nlohmann::json fixture(const std::string& name) {
    return nlohmann::json::parse(read_fixture_file("admission/" + name));
  }
  std::string registry_text() const {
    std::ifstream in(registry_path_);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  Registry registry() const { return parse_registry(registry_text(), "registry.yaml"); }
  const RegistryEntry* entry_of(const Registry& r, const std::string& connector, std::uint32_t id) const {
    for (const auto& e : r.entries) {
      if (e.connector == connector && e.server_id == id) return &e;
    }
    return nullptr;
  }

  // GET on the plain-HTTP metrics port.
  HttpReply metrics_get(const std::string& path) { return plain_http_get(server_->metrics_port(), path); }

  TestCa ca_;
  TempDir dir_{"cdcguard-server"};
  fs::path registry_path_;
  fs::path cert_path_;
  fs::path key_path_;
  std::shared_ptr<CapturingSink> sink_;
  std::unique_ptr<server::EventLog> log_;
  std::unique_ptr<FileRegistryStore> store_;
  std::unique_ptr<server::WebhookServer> server_;
};

}  // namespace cdcguard::testing_support
