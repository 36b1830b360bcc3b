// The fake kube-apiserver itself: the integration tests trust it to answer as
// the real one does, so its formats and failure modes are pinned here, over
// raw HTTPS (not cdc-guard's KubeClient, which these tests must not depend on).
#include "support/fake_api_server.hpp"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

namespace cdcguard::testing_support {
namespace {

using json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

// Waits for what the server sends are bounded only to keep a broken test from
// hanging: generous, and no claim about speed (a wait that succeeds returns
// as soon as the line or the end arrives).
constexpr milliseconds kHangGuard{30000};

json configmap(const std::string& ns, const std::string& name, const std::string& value) {
  return json{{"apiVersion", "v1"},
              {"kind", "ConfigMap"},
              {"metadata", {{"name", name}, {"namespace", ns}}},
              {"data", {{"key", value}}}};
}

json connector(const std::string& ns, const std::string& name) {
  return json{
      {"apiVersion", "kafka.strimzi.io/v1beta2"},
      {"kind", "KafkaConnector"},
      {"metadata", {{"name", name}, {"namespace", ns}, {"labels", {{"strimzi.io/cluster", "connect"}}}}},
      {"spec", {{"class", "io.debezium.connector.postgresql.PostgresConnector"}}}};
}

std::string rv_of(const json& object) {
  return object.at("metadata").at("resourceVersion").get<std::string>();
}

// A streaming GET in the background, its body split into JSON lines.
class WatchReader {
 public:
  WatchReader(std::unique_ptr<httplib::SSLClient> client, std::string path)
      : client_(std::move(client)), thread_([this, path = std::move(path)] { run(path); }) {}
  ~WatchReader() {
    stop_ = true;
    // stop() before the request is in flight does nothing, so repeat it.
    while (!finished()) {
      client_->stop();
      std::this_thread::sleep_for(milliseconds(5));
    }
    thread_.join();
  }
  WatchReader(const WatchReader&) = delete;
  WatchReader& operator=(const WatchReader&) = delete;

  // The next line, or a null json when none came in time.
  json next(milliseconds timeout = kHangGuard) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return !lines_.empty(); })) return json();
    json line = json::parse(lines_.front());
    lines_.pop_front();
    return line;
  }
  // The next line of `type`, skipping others (bookmarks, mostly).
  json next_of(const std::string& type, milliseconds timeout = kHangGuard) {
    const auto deadline = steady_clock::now() + timeout;
    while (steady_clock::now() < deadline) {
      json line = next(std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now()));
      if (line.is_null()) break;
      if (line["type"] == type) return line;
    }
    return json();
  }
  bool wait_finished(milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return finished_; });
  }
  bool finished() {
    std::lock_guard lock(mu_);
    return finished_;
  }
  int status() {
    std::lock_guard lock(mu_);
    return status_;
  }
  httplib::Error error() {
    std::lock_guard lock(mu_);
    return error_;
  }
  std::string content_type() {
    std::lock_guard lock(mu_);
    return content_type_;
  }

 private:
  void run(const std::string& path) {
    const auto result = client_->Get(
        path,
        [&](const httplib::Response& response) {
          std::lock_guard lock(mu_);
          status_ = response.status;
          content_type_ = response.get_header_value("Content-Type");
          return true;
        },
        [&](const char* data, std::size_t length) {
          std::lock_guard lock(mu_);
          buffer_.append(data, length);
          for (std::size_t end; (end = buffer_.find('\n')) != std::string::npos;) {
            lines_.push_back(buffer_.substr(0, end));
            buffer_.erase(0, end + 1);
          }
          cv_.notify_all();
          return !stop_;
        });
    std::lock_guard lock(mu_);
    error_ = result.error();
    finished_ = true;
    cv_.notify_all();
  }

  std::unique_ptr<httplib::SSLClient> client_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> lines_;
  std::string buffer_;
  std::string content_type_;
  int status_ = 0;
  httplib::Error error_ = httplib::Error::Success;
  bool finished_ = false;
  std::atomic<bool> stop_{false};
  std::thread thread_;  // last: it uses everything above
};

class FakeApiServerTest : public ::testing::Test {
 protected:
  void start(FakeApiServer::Options options = {}) {
    write_text_file(ca_path_, ca_.cert_pem());
    server_ = std::make_unique<FakeApiServer>(ca_.issue(), std::move(options));
    server_->start();
  }

  std::unique_ptr<httplib::SSLClient> client(const std::string& token = "test-token") const {
    auto c = std::make_unique<httplib::SSLClient>("127.0.0.1", server_->port());
    c->set_ca_cert_path(ca_path_.string());
    c->enable_server_certificate_verification(true);
    if (!token.empty()) c->set_bearer_token_auth(token);
    c->set_connection_timeout(kHangGuard);
    c->set_read_timeout(kHangGuard);
    return c;
  }

  std::unique_ptr<WatchReader> watch(const std::string& path) {
    return std::make_unique<WatchReader>(client(), path);
  }

  // GET; the body parsed as JSON (null when there was no response).
  struct Answer {
    int status = 0;
    json body;  // discarded when the body is not JSON
    std::string text;
    httplib::Headers headers;
  };
  Answer send(const std::string& method, const std::string& path, const json& body = json(),
              const std::string& token = "test-token") {
    auto c = client(token);
    httplib::Result result = method == "GET"    ? c->Get(path)
                             : method == "PUT"  ? c->Put(path, body.dump(), "application/json")
                             : method == "POST" ? c->Post(path, body.dump(), "application/json")
                                                : c->Delete(path);
    Answer answer;
    if (!result) return answer;
    answer.status = result->status;
    answer.body = json::parse(result->body, nullptr, false);
    answer.text = result->body;
    answer.headers = result->headers;
    return answer;
  }

  TestCa ca_;
  TempDir dir_{"fake-api-server"};
  std::filesystem::path ca_path_ = dir_ / "ca.crt";
  std::unique_ptr<FakeApiServer> server_;
};

constexpr const char* kCms = "/api/v1/namespaces/kafka/configmaps";

// As the real server: an unknown token fails authentication (401, whatever
// the path); no credentials at all is system:anonymous, whom RBAC refuses
// (403) except on the public paths.
TEST_F(FakeApiServerTest, AnUnknownTokenGets401AndNoCredentials403WithAStatus) {
  start();
  const json unauthorized = {{"kind", "Status"},    {"apiVersion", "v1"},        {"metadata", json::object()},
                             {"status", "Failure"}, {"message", "Unauthorized"}, {"reason", "Unauthorized"},
                             {"code", 401}};
  Answer none = send("GET", kCms, json(), "");
  EXPECT_EQ(none.status, 403);
  EXPECT_EQ(none.body, (json{{"kind", "Status"},
                             {"apiVersion", "v1"},
                             {"metadata", json::object()},
                             {"status", "Failure"},
                             {"message",
                              "configmaps is forbidden: User \"system:anonymous\" cannot list resource "
                              "\"configmaps\" in API group \"\" in the namespace \"kafka\""},
                             {"reason", "Forbidden"},
                             {"details", {{"kind", "configmaps"}}},
                             {"code", 403}}));
  Answer wrong = send("GET", kCms, json(), "wrong-token");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.body, unauthorized);
  EXPECT_EQ(send("GET", kCms).status, 200);
  EXPECT_EQ(send("GET", "/readyz", json(), "").status, 200);
  EXPECT_EQ(send("GET", "/readyz", json(), "wrong-token").status, 401);

  const auto counters = server_->counters();
  EXPECT_EQ(counters.requests, 5);
  EXPECT_EQ(counters.unauthorized, 2);
  EXPECT_EQ(counters.forbidden, 1);
  EXPECT_EQ(server_->tokens_seen(), (std::vector<std::string>{"wrong-token", "test-token", "wrong-token"}));
}

TEST_F(FakeApiServerTest, RotatedTokensReplaceTheOldOnes) {
  start();
  EXPECT_EQ(send("GET", kCms, json(), "test-token").status, 200);
  server_->set_tokens({"rotated-token"});
  EXPECT_EQ(send("GET", kCms, json(), "test-token").status, 401);
  EXPECT_EQ(send("GET", kCms, json(), "rotated-token").status, 200);
  EXPECT_EQ(server_->tokens_seen(), (std::vector<std::string>{"test-token", "test-token", "rotated-token"}));
}

TEST_F(FakeApiServerTest, ConfigMapsCanBeCreatedReadUpdatedAndDeleted) {
  start();
  const std::string path = std::string(kCms) + "/registry";
  Answer created = send("POST", kCms, configmap("kafka", "registry", "one"));
  ASSERT_EQ(created.status, 201);
  EXPECT_EQ(created.body["kind"], "ConfigMap");
  EXPECT_EQ(created.body["metadata"]["namespace"], "kafka");
  EXPECT_FALSE(created.body["metadata"].value("uid", "").empty());
  EXPECT_FALSE(created.body["metadata"].value("creationTimestamp", "").empty());
  EXPECT_EQ(rv_of(created.body), std::to_string(server_->resource_version()));

  Answer again = send("POST", kCms, configmap("kafka", "registry", "two"));
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(again.body["reason"], "AlreadyExists");
  EXPECT_EQ(again.body["message"], "configmaps \"registry\" already exists");

  Answer read = send("GET", path);
  ASSERT_EQ(read.status, 200);
  EXPECT_EQ(read.body, created.body);

  json update = read.body;
  update["data"]["key"] = "two";
  Answer updated = send("PUT", path, update);
  ASSERT_EQ(updated.status, 200);
  EXPECT_GT(std::stoull(rv_of(updated.body)), std::stoull(rv_of(created.body)));
  EXPECT_EQ(updated.body["metadata"]["uid"], created.body["metadata"]["uid"]);
  EXPECT_EQ(updated.body["data"]["key"], "two");

  // The same stale resourceVersion again: the real Conflict, byte for byte.
  update["data"]["key"] = "three";
  Answer conflict = send("PUT", path, update);
  EXPECT_EQ(conflict.status, 409);
  EXPECT_EQ(conflict.body,
            (json{{"kind", "Status"},
                  {"apiVersion", "v1"},
                  {"metadata", json::object()},
                  {"status", "Failure"},
                  {"message",
                   "Operation cannot be fulfilled on configmaps \"registry\": the object has been "
                   "modified; please apply your changes to the latest version and try again"},
                  {"reason", "Conflict"},
                  {"details", {{"name", "registry"}, {"kind", "configmaps"}}},
                  {"code", 409}}));
  EXPECT_EQ(server_->get("ConfigMap", "kafka", "registry")->at("data")["key"], "two");

  // No resourceVersion: unconditional.
  update["metadata"].erase("resourceVersion");
  Answer unconditional = send("PUT", path, update);
  ASSERT_EQ(unconditional.status, 200);
  EXPECT_EQ(unconditional.body["data"]["key"], "three");

  // Nothing changed: nothing written, as etcd does.
  const auto before = server_->resource_version();
  EXPECT_EQ(send("PUT", path, unconditional.body).status, 200);
  EXPECT_EQ(server_->resource_version(), before);

  Answer wrong_name = send("PUT", std::string(kCms) + "/other", unconditional.body);
  EXPECT_EQ(wrong_name.status, 400);
  EXPECT_EQ(wrong_name.body["reason"], "BadRequest");
  Answer missing = send("PUT", std::string(kCms) + "/missing", configmap("kafka", "missing", "x"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body["reason"], "NotFound");
  EXPECT_EQ(missing.body["message"], "configmaps \"missing\" not found");
  EXPECT_EQ(missing.body["details"], (json{{"name", "missing"}, {"kind", "configmaps"}}));

  Answer deleted = send("DELETE", path);
  EXPECT_EQ(deleted.status, 200);
  EXPECT_EQ(deleted.body["status"], "Success");
  EXPECT_EQ(send("GET", path).status, 404);
  EXPECT_EQ(send("DELETE", path).status, 404);
  EXPECT_FALSE(server_->get("ConfigMap", "kafka", "registry").has_value());

  const auto counters = server_->counters();
  EXPECT_EQ(counters.configmap_puts, 6);
  EXPECT_EQ(counters.conflicts, 2);  // the stale PUT and the second POST
}

// What leader election does with a Lease: create it, read it, update it with
// the resourceVersion read (a stale one loses), and never without one.
TEST_F(FakeApiServerTest, LeasesAreWrittenWithResourceVersionCompareAndSwap) {
  start();
  const std::string leases = "/apis/coordination.k8s.io/v1/namespaces/kafka/leases";
  const std::string path = leases + "/reconciler";
  const json lease = {
      {"apiVersion", "coordination.k8s.io/v1"},
      {"kind", "Lease"},
      {"metadata", {{"name", "reconciler"}}},
      {"spec", {{"holderIdentity", "a"}, {"leaseDurationSeconds", 15}, {"leaseTransitions", 0}}}};
  Answer missing = send("GET", path);
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body["message"], "leases.coordination.k8s.io \"reconciler\" not found");
  EXPECT_EQ(missing.body["details"],
            (json{{"name", "reconciler"}, {"group", "coordination.k8s.io"}, {"kind", "leases"}}));

  Answer created = send("POST", leases, lease);
  ASSERT_EQ(created.status, 201);
  EXPECT_EQ(created.body["apiVersion"], "coordination.k8s.io/v1");
  EXPECT_EQ(created.body["metadata"]["namespace"], "kafka");
  EXPECT_EQ(created.body["spec"], lease["spec"]);
  Answer again = send("POST", leases, lease);
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(again.body["reason"], "AlreadyExists");
  EXPECT_EQ(again.body["message"], "leases.coordination.k8s.io \"reconciler\" already exists");

  json renewal = send("GET", path).body;
  EXPECT_EQ(renewal, created.body);
  renewal["spec"]["renewTime"] = "2026-11-25T10:00:02.000000Z";
  Answer renewed = send("PUT", path, renewal);
  ASSERT_EQ(renewed.status, 200);
  EXPECT_GT(std::stoull(rv_of(renewed.body)), std::stoull(rv_of(created.body)));
  EXPECT_EQ(server_->get("Lease", "kafka", "reconciler")->at("spec")["renewTime"],
            "2026-11-25T10:00:02.000000Z");

  renewal["spec"]["holderIdentity"] = "b";  // still the resourceVersion read before the renewal
  Answer stale = send("PUT", path, renewal);
  EXPECT_EQ(stale.status, 409);
  EXPECT_EQ(stale.body["reason"], "Conflict");
  EXPECT_EQ(stale.body["message"],
            "Operation cannot be fulfilled on leases.coordination.k8s.io \"reconciler\": the object has been "
            "modified; please apply your changes to the latest version and try again");

  renewal["metadata"].erase("resourceVersion");
  Answer unconditional = send("PUT", path, renewal);
  EXPECT_EQ(unconditional.status, 422);
  EXPECT_EQ(unconditional.body["reason"], "Invalid");
  EXPECT_EQ(
      unconditional.body["message"],
      "leases.coordination.k8s.io \"reconciler\" is invalid: metadata.resourceVersion: Invalid value: 0: "
      "must be specified for an update");
  EXPECT_EQ(server_->get("Lease", "kafka", "reconciler")->at("spec")["holderIdentity"], "a");

  // A PUT (with a resourceVersion) of a missing Lease creates it.
  json other = renewal;
  other["metadata"]["name"] = "other";
  other["metadata"]["resourceVersion"] = "1";
  EXPECT_EQ(send("PUT", leases + "/other", other).status, 201);
  EXPECT_EQ(server_->get("Lease", "kafka", "other")->at("spec")["holderIdentity"], "b");

  // Watched like any other kind.
  auto w = watch(leases + "?watch=true");
  const json added = w->next();
  EXPECT_EQ(added["type"], "ADDED");
  EXPECT_EQ(added["object"]["kind"], "Lease");
  EXPECT_EQ(added["object"]["apiVersion"], "coordination.k8s.io/v1");
  EXPECT_EQ(send("DELETE", path).status, 200);
  EXPECT_EQ(w->next_of("DELETED")["object"]["metadata"]["name"], "reconciler");
}

TEST_F(FakeApiServerTest, ConcurrentPutsWithTheSameResourceVersionRaceAndOneWins) {
  start();
  const json stored = server_->apply(configmap("kafka", "registry", "zero"));
  server_->set_put_delay(milliseconds(100));
  std::atomic<int> ok{0};
  std::atomic<int> conflicts{0};
  std::vector<std::thread> writers;
  for (int i = 0; i < 4; ++i) {
    writers.emplace_back([&, i] {
      json update = stored;
      update["data"]["key"] = "writer-" + std::to_string(i);
      const int status = send("PUT", std::string(kCms) + "/registry", update).status;
      (status == 200 ? ok : conflicts)++;
    });
  }
  for (auto& w : writers) w.join();
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(conflicts, 3);
  EXPECT_EQ(server_->counters().conflicts, 3);
}

TEST_F(FakeApiServerTest, ServerSideChangesStampMetadataAndBumpTheResourceVersion) {
  start();
  const auto start_rv = server_->resource_version();
  const json first = server_->apply(connector("kafka", "orders"));
  EXPECT_EQ(rv_of(first), std::to_string(start_rv + 1));
  EXPECT_EQ(first["metadata"]["generation"], 1);
  json changed = connector("kafka", "orders");
  changed["spec"]["tasksMax"] = 2;
  const json second = server_->apply(changed);
  EXPECT_EQ(rv_of(second), std::to_string(start_rv + 2));
  EXPECT_EQ(second["metadata"]["uid"], first["metadata"]["uid"]);
  EXPECT_EQ(second["metadata"]["generation"], 2);
  EXPECT_EQ(*server_->get("KafkaConnector", "kafka", "orders"), second);
  EXPECT_TRUE(server_->remove("KafkaConnector", "kafka", "orders"));
  EXPECT_FALSE(server_->remove("KafkaConnector", "kafka", "orders"));
  EXPECT_EQ(server_->resource_version(), start_rv + 3);
  EXPECT_THROW(server_->apply(json{{"kind", "Secret"}, {"metadata", {{"name", "x"}, {"namespace", "y"}}}}),
               std::invalid_argument);
}

TEST_F(FakeApiServerTest, ListsCarryTheCurrentResourceVersionAndHonourFieldSelectors) {
  start();
  server_->apply(configmap("kafka", "registry", "a"));
  server_->apply(configmap("kafka", "other", "b"));
  server_->apply(configmap("team-b", "registry", "c"));
  server_->apply(connector("kafka", "orders"));

  Answer all = send("GET", "/api/v1/configmaps");
  ASSERT_EQ(all.status, 200);
  EXPECT_EQ(all.body["kind"], "ConfigMapList");
  EXPECT_EQ(all.body["apiVersion"], "v1");
  EXPECT_EQ(all.body["metadata"]["resourceVersion"], std::to_string(server_->resource_version()));
  EXPECT_EQ(all.body["items"].size(), 3u);
  // Items of a built-in type's list carry no kind or apiVersion.
  EXPECT_FALSE(all.body["items"][0].contains("kind"));
  EXPECT_FALSE(all.body["items"][0].contains("apiVersion"));

  Answer by_name = send("GET", "/api/v1/configmaps?fieldSelector=metadata.name%3Dregistry");
  ASSERT_EQ(by_name.status, 200);
  EXPECT_EQ(by_name.body["items"].size(), 2u);
  Answer one = send("GET", std::string(kCms) + "?fieldSelector=metadata.name%3Dregistry");
  ASSERT_EQ(one.body["items"].size(), 1u);
  EXPECT_EQ(one.body["items"][0]["data"]["key"], "a");
  Answer by_ns = send("GET", "/api/v1/configmaps?fieldSelector=metadata.namespace%3Dteam-b");
  ASSERT_EQ(by_ns.body["items"].size(), 1u);
  EXPECT_EQ(by_ns.body["items"][0]["data"]["key"], "c");
  Answer unsupported = send("GET", "/api/v1/configmaps?fieldSelector=data.key%3Da");
  EXPECT_EQ(unsupported.status, 400);
  EXPECT_EQ(unsupported.body["message"],
            "\"data.key\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\"");

  Answer at_rv = send("GET", "/api/v1/configmaps?resourceVersion=" + rv_of(all.body["items"][0]));
  EXPECT_EQ(at_rv.status, 200);
  EXPECT_EQ(send("GET", "/api/v1/configmaps?resourceVersion=0").status, 200);

  Answer connectors = send("GET", "/apis/kafka.strimzi.io/v1/namespaces/kafka/kafkaconnectors");
  ASSERT_EQ(connectors.status, 200);
  EXPECT_EQ(connectors.body["kind"], "KafkaConnectorList");
  EXPECT_EQ(connectors.body["apiVersion"], "kafka.strimzi.io/v1");
  EXPECT_EQ(connectors.body["metadata"]["continue"], "");
  ASSERT_EQ(connectors.body["items"].size(), 1u);
  EXPECT_EQ(connectors.body["items"][0]["apiVersion"], "kafka.strimzi.io/v1");
  Answer beta = send("GET", "/apis/kafka.strimzi.io/v1beta2/kafkaconnectors");
  ASSERT_EQ(beta.body["items"].size(), 1u);
  EXPECT_EQ(beta.body["items"][0]["apiVersion"], "kafka.strimzi.io/v1beta2");
  EXPECT_EQ(send("GET", "/apis/kafka.strimzi.io/v1/kafkaconnects").body["items"].size(), 0u);
  EXPECT_EQ(
      send("GET", "/apis/kafka.strimzi.io/v1/kafkaconnectors?fieldSelector=spec.class%3Dx").body["message"],
      "field label not supported: spec.class");
  EXPECT_EQ(server_->counters().lists, 9);  // the bad selector was refused before listing
}

TEST_F(FakeApiServerTest, AWatchWithoutResourceVersionStartsWithTheCurrentObjectsThenGoesLive) {
  start();
  server_->apply(configmap("kafka", "registry", "a"));
  server_->apply(configmap("elsewhere", "registry", "x"));
  auto w = watch(std::string(kCms) + "?watch=true");
  const json added = w->next();
  ASSERT_FALSE(added.is_null());
  EXPECT_EQ(added["type"], "ADDED");
  EXPECT_EQ(added["object"]["data"]["key"], "a");
  EXPECT_EQ(w->status(), 200);
  EXPECT_EQ(w->content_type(), "application/json");

  const json stored = server_->apply(configmap("kafka", "registry", "b"));
  const json modified = w->next();
  ASSERT_FALSE(modified.is_null());
  EXPECT_EQ(modified["type"], "MODIFIED");
  EXPECT_EQ(modified["object"], stored);

  server_->apply(configmap("elsewhere", "registry", "y"));  // another namespace: not seen
  ASSERT_TRUE(server_->remove("ConfigMap", "kafka", "registry"));
  const json deleted = w->next();
  ASSERT_FALSE(deleted.is_null());
  EXPECT_EQ(deleted["type"], "DELETED");
  EXPECT_EQ(deleted["object"]["metadata"]["name"], "registry");
  EXPECT_EQ(rv_of(deleted["object"]), std::to_string(server_->resource_version()));
  EXPECT_EQ(server_->counters().watches, 1);
}

TEST_F(FakeApiServerTest, AWatchFromAResourceVersionReplaysLaterChangesThatMatch) {
  start();
  const json first = server_->apply(connector("kafka", "orders"));
  server_->apply(connector("kafka", "payments"));
  json changed = connector("kafka", "orders");
  changed["spec"]["tasksMax"] = 3;
  server_->apply(changed);
  server_->apply(connector("other", "orders"));

  auto w = watch("/apis/kafka.strimzi.io/v1beta2/kafkaconnectors?watch=1&resourceVersion=" + rv_of(first) +
                 "&fieldSelector=metadata.name%3Dorders");
  const json modified = w->next();
  ASSERT_FALSE(modified.is_null());
  EXPECT_EQ(modified["type"], "MODIFIED");
  EXPECT_EQ(modified["object"]["metadata"]["namespace"], "kafka");
  EXPECT_EQ(modified["object"]["apiVersion"], "kafka.strimzi.io/v1beta2");
  const json added = w->next();
  ASSERT_FALSE(added.is_null());
  EXPECT_EQ(added["type"], "ADDED");
  EXPECT_EQ(added["object"]["metadata"]["namespace"], "other");
  EXPECT_TRUE(w->next(milliseconds(150)).is_null());  // payments filtered out, nothing else

  auto v1 = watch("/apis/kafka.strimzi.io/v1/namespaces/kafka/kafkaconnectors?watch=true");
  json synthetic = v1->next();
  ASSERT_FALSE(synthetic.is_null());
  EXPECT_EQ(synthetic["object"]["apiVersion"], "kafka.strimzi.io/v1");
}

TEST_F(FakeApiServerTest, BookmarksCarryTheCurrentResourceVersionWhenAllowed) {
  FakeApiServer::Options options;
  options.bookmark_interval = milliseconds(50);
  start(options);
  server_->apply(connector("kafka", "orders"));
  auto w =
      watch("/apis/kafka.strimzi.io/v1/kafkaconnectors?watch=true&allowWatchBookmarks=true&resourceVersion=" +
            std::to_string(server_->resource_version()));
  server_->apply(configmap("kafka", "registry", "a"));  // another kind, but it moves the counter
  json bookmark;
  const auto deadline = steady_clock::now() + kHangGuard;
  while (steady_clock::now() < deadline) {
    bookmark = w->next_of("BOOKMARK");
    if (!bookmark.is_null() && rv_of(bookmark["object"]) == std::to_string(server_->resource_version()))
      break;
  }
  ASSERT_FALSE(bookmark.is_null());
  EXPECT_EQ(bookmark["object"],
            (json{{"kind", "KafkaConnector"},
                  {"apiVersion", "kafka.strimzi.io/v1"},
                  {"metadata", {{"resourceVersion", std::to_string(server_->resource_version())}}}}));

  auto without = watch("/apis/kafka.strimzi.io/v1/kafkaconnectors?watch=true&resourceVersion=" +
                       std::to_string(server_->resource_version()));
  EXPECT_TRUE(without->next(milliseconds(200)).is_null());
  // From now (no resourceVersion): the current objects, then a bookmark marking their end.
  auto from_now = watch("/apis/kafka.strimzi.io/v1/kafkaconnectors?watch=true&allowWatchBookmarks=true");
  EXPECT_EQ(from_now->next()["type"], "ADDED");
  const json end = from_now->next();
  EXPECT_EQ(end["type"], "BOOKMARK");
  EXPECT_EQ(end["object"]["metadata"]["annotations"], (json{{"k8s.io/initial-events-end", "true"}}));
}

TEST_F(FakeApiServerTest, TimeoutSecondsEndsTheStreamCleanly) {
  start();
  const auto started = steady_clock::now();
  auto w = watch(std::string(kCms) + "?watch=true&timeoutSeconds=1");
  ASSERT_TRUE(w->wait_finished(kHangGuard));
  EXPECT_GE(steady_clock::now() - started, milliseconds(900));
  EXPECT_EQ(w->status(), 200);
  EXPECT_EQ(w->error(), httplib::Error::Success);
}

TEST_F(FakeApiServerTest, DropWatchesEndsEveryOpenStream) {
  start();
  server_->apply(configmap("kafka", "registry", "a"));
  auto first = watch(std::string(kCms) + "?watch=true");
  auto second = watch("/api/v1/configmaps?watch=true");
  ASSERT_FALSE(first->next().is_null());
  ASSERT_FALSE(second->next().is_null());
  server_->drop_watches();
  EXPECT_TRUE(first->wait_finished(kHangGuard));
  EXPECT_TRUE(second->wait_finished(kHangGuard));
  // New watches are unaffected.
  auto third = watch(std::string(kCms) + "?watch=true");
  EXPECT_FALSE(third->next().is_null());
  EXPECT_FALSE(third->finished());
}

// A LIST's resourceVersion means "not older than", so a LIST is never
// expired; a watch from before the compaction point is.
TEST_F(FakeApiServerTest, AfterCompactionOldResourceVersionsAreExpired) {
  start();
  const json old = server_->apply(configmap("kafka", "registry", "a"));
  server_->apply(configmap("kafka", "registry", "b"));
  server_->compact();
  const std::string current = std::to_string(server_->resource_version());
  const std::string expected_message = "too old resource version: " + rv_of(old) + " (" + current + ")";

  Answer list = send("GET", std::string(kCms) + "?resourceVersion=" + rv_of(old));
  EXPECT_EQ(list.status, 200);
  EXPECT_EQ(list.body["metadata"]["resourceVersion"], current);
  ASSERT_EQ(list.body["items"].size(), 1u);
  EXPECT_EQ(list.body["items"][0]["data"]["key"], "b");

  auto w = watch(std::string(kCms) + "?watch=true&resourceVersion=" + rv_of(old));
  const json error = w->next();
  ASSERT_FALSE(error.is_null());
  EXPECT_EQ(error["type"], "ERROR");
  EXPECT_EQ(error["object"]["kind"], "Status");
  EXPECT_EQ(error["object"]["code"], 410);
  EXPECT_EQ(error["object"]["reason"], "Expired");
  EXPECT_EQ(error["object"]["message"], expected_message);
  EXPECT_TRUE(w->wait_finished(kHangGuard));
  EXPECT_EQ(w->status(), 200);
  EXPECT_EQ(server_->counters().gone, 1);

  // From the compaction point on, and from "now", everything still works.
  EXPECT_EQ(send("GET", std::string(kCms) + "?resourceVersion=" + current).status, 200);
  auto fresh = watch(std::string(kCms) + "?watch=true&resourceVersion=" + current);
  server_->apply(configmap("kafka", "registry", "c"));
  EXPECT_EQ(fresh->next()["type"], "MODIFIED");
}

TEST_F(FakeApiServerTest, DiscoveryDescribesEveryServedStrimziVersion) {
  start();
  Answer groups = send("GET", "/apis");
  ASSERT_EQ(groups.status, 200);
  EXPECT_EQ(groups.body["kind"], "APIGroupList");
  ASSERT_EQ(groups.body["groups"].size(), 1u);
  json group = send("GET", "/apis/kafka.strimzi.io").body;
  EXPECT_EQ(group,
            (json{{"kind", "APIGroup"},
                  {"apiVersion", "v1"},
                  {"name", "kafka.strimzi.io"},
                  {"versions",
                   {{{"groupVersion", "kafka.strimzi.io/v1"}, {"version", "v1"}},
                    {{"groupVersion", "kafka.strimzi.io/v1beta2"}, {"version", "v1beta2"}}}},
                  {"preferredVersion", {{"groupVersion", "kafka.strimzi.io/v1"}, {"version", "v1"}}}}));
  // The list's entries are the same APIGroups, without kind and apiVersion.
  group.erase("kind");
  group.erase("apiVersion");
  EXPECT_EQ(groups.body["groups"][0], group);
  for (const std::string version : {"v1", "v1beta2"}) {
    Answer resources = send("GET", "/apis/kafka.strimzi.io/" + version);
    ASSERT_EQ(resources.status, 200);
    EXPECT_EQ(resources.body["kind"], "APIResourceList");
    EXPECT_EQ(resources.body["groupVersion"], "kafka.strimzi.io/" + version);
    std::map<std::string, json> by_name;
    for (const auto& r : resources.body["resources"]) by_name[r["name"]] = r;
    ASSERT_TRUE(by_name.count("kafkaconnectors"));
    EXPECT_EQ(by_name["kafkaconnectors"]["kind"], "KafkaConnector");
    EXPECT_EQ(by_name["kafkaconnectors"]["namespaced"], true);
    ASSERT_TRUE(by_name.count("kafkaconnects"));
    EXPECT_EQ(by_name["kafkaconnects"]["kind"], "KafkaConnect");
  }
  // What the real server's mux answers under /apis: plain text, no Status.
  Answer unknown = send("GET", "/apis/kafka.strimzi.io/v1alpha1/kafkaconnectors");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.text, "404 page not found\n");
  EXPECT_EQ(send("GET", "/no/such/path").text, "404 page not found\n");
  // Under /api, the core group answers with a Status.
  Answer core = send("GET", "/api/v1/namespaces/kafka/nosuchthings");
  EXPECT_EQ(core.status, 404);
  EXPECT_EQ(core.body["message"], "the server could not find the requested resource");
}

TEST_F(FakeApiServerTest, AServerWithOnlyV1AnswersV1beta2With404) {
  FakeApiServer::Options options;
  options.strimzi_versions = {"v1"};
  start(options);
  server_->apply(connector("kafka", "orders"));
  const json group = send("GET", "/apis/kafka.strimzi.io").body;
  ASSERT_EQ(group["versions"].size(), 1u);
  EXPECT_EQ(group["preferredVersion"]["version"], "v1");
  EXPECT_EQ(send("GET", "/apis/kafka.strimzi.io/v1beta2").status, 404);
  Answer list = send("GET", "/apis/kafka.strimzi.io/v1beta2/namespaces/kafka/kafkaconnectors");
  EXPECT_EQ(list.status, 404);
  EXPECT_EQ(list.text, "404 page not found\n");
  EXPECT_EQ(send("GET", "/apis/kafka.strimzi.io/v1/namespaces/kafka/kafkaconnectors").status, 200);
}

TEST_F(FakeApiServerTest, FailNextAnswersTheStatusWithRetryAfterButSparesWatches) {
  start();
  server_->fail_next(2, 429, 3);
  for (int i = 0; i < 2; ++i) {
    Answer throttled = send("GET", kCms);
    EXPECT_EQ(throttled.status, 429);
    EXPECT_EQ(throttled.body["kind"], "Status");
    EXPECT_EQ(throttled.body["reason"], "TooManyRequests");
    EXPECT_EQ(throttled.body["code"], 429);
    EXPECT_EQ(throttled.body["details"]["retryAfterSeconds"], 3);
    const auto retry_after = throttled.headers.find("Retry-After");
    ASSERT_NE(retry_after, throttled.headers.end());
    EXPECT_EQ(retry_after->second, "3");
  }
  EXPECT_EQ(send("GET", kCms).status, 200);

  server_->fail_next(1, 503);
  auto w = watch(std::string(kCms) + "?watch=true&allowWatchBookmarks=true");
  ASSERT_FALSE(w->next_of("BOOKMARK").is_null());
  EXPECT_EQ(w->status(), 200);
  Answer unavailable = send("GET", kCms);
  EXPECT_EQ(unavailable.status, 503);
  EXPECT_EQ(unavailable.body["reason"], "ServiceUnavailable");
  EXPECT_EQ(unavailable.headers.count("Retry-After"), 0u);
  EXPECT_EQ(send("GET", kCms).status, 200);
}

// stop() does not wait for an open watch (which never ends by itself) or an
// idle kept-alive connection to end: if it did, it would not return within
// the hang guard.
TEST_F(FakeApiServerTest, StopEndsOpenStreamsAndStartServesTheSameObjectsOnTheSamePort) {
  start();
  const json stored = server_->apply(configmap("kafka", "registry", "a"));
  auto w = watch(std::string(kCms) + "?watch=true");
  ASSERT_FALSE(w->next().is_null());
  // An idle kept-alive connection must not hold stop() up either.
  auto kept_alive = client();
  kept_alive->set_keep_alive(true);
  ASSERT_EQ(kept_alive->Get(kCms)->status, 200);

  const int port = server_->port();
  auto stopping = std::async(std::launch::async, [&] { server_->stop(); });
  ASSERT_EQ(stopping.wait_for(kHangGuard), std::future_status::ready) << "stop() waited for the open stream";
  EXPECT_TRUE(w->wait_finished(kHangGuard));
  EXPECT_EQ(send("GET", kCms).status, 0);  // connection refused

  server_->start();
  EXPECT_EQ(server_->port(), port);
  EXPECT_EQ(server_->url(), "https://127.0.0.1:" + std::to_string(port));
  Answer again = send("GET", std::string(kCms) + "/registry");
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(again.body, stored);
  server_->stop();
  server_->stop();  // twice is harmless
}

}  // namespace
}  // namespace cdcguard::testing_support
