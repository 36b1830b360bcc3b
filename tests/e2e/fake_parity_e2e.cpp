// The fake API server (tests/support/fake_api_server) held to the real one:
// every test runs one request sequence, through cdc-guard's own KubeClient
// (get/put/post/delete and stream, as the ConfigMap store, the informer and
// the cluster cache call them), once against the real kube-apiserver (admin
// kubeconfig, client certificate) and once against an in-process fake (its
// own token), and compares what cdc-guard depends on: statuses, Status
// bodies, list and object metadata, watch events, discovery. Server-specific
// values (resourceVersions, uids, timestamps) are compared by form and by how
// they move, never by value. What differs on purpose is asserted as such.
#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "cdcguard/kube/kube_client.hpp"
#include "cdcguard/kube/kube_config.hpp"
#include "e2e/e2e_helpers.hpp"
#include "support/fake_api_server.hpp"
#include "support/test_pki.hpp"

namespace cdcguard::e2e {
namespace {

using json = nlohmann::json;
using testing_support::FakeApiServer;

// Hang guards only: no answer here is expected to take long.
constexpr auto kHangGuard = std::chrono::seconds(60);

kube::ClientOptions client_options() {
  kube::ClientOptions o;
  o.connect_timeout = std::chrono::milliseconds(30000);
  o.request_timeout = std::chrono::milliseconds(90000);  // a LIST with a too large version waits ~3 s
  o.max_attempts = 1;  // the first answer of each server, never a retried one
  return o;
}

// ---- what is compared ---------------------------------------------------------

bool is_decimal(const json& v) {
  return v.is_string() && std::regex_match(v.get<std::string>(), std::regex("[1-9][0-9]*"));
}
bool is_uuid(const json& v) {
  return v.is_string() &&
         std::regex_match(v.get<std::string>(),
                          std::regex("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"));
}
bool is_rfc3339_seconds(const json& v) {
  return v.is_string() &&
         std::regex_match(v.get<std::string>(),
                          std::regex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z"));
}

std::uint64_t rv_of(const json& object) {
  const json& rv = object.at("metadata").at("resourceVersion");
  return is_decimal(rv) ? std::stoull(rv.get<std::string>()) : 0;
}

// An object as cdc-guard reads it: every field, but resourceVersion, uid and
// creationTimestamp by their form. managedFields is the one field the fake
// does not keep (asserted in ConfigMapWritesAndReadsAnswerAlike).
json object_view(const json& object) {
  if (!object.is_object()) return object;
  json view = json::object();
  for (const auto& [key, value] : object.items()) {
    if (key != "metadata" || !value.is_object()) {
      view[key] = value;
      continue;
    }
    json metadata = json::object();
    for (const auto& [field, v] : value.items()) {
      if (field == "managedFields") continue;
      if (field == "resourceVersion")
        metadata[field] = is_decimal(v) ? json("<decimal>") : v;
      else if (field == "uid")
        metadata[field] = is_uuid(v) ? json("<uuid>") : v;
      else if (field == "creationTimestamp")
        metadata[field] = is_rfc3339_seconds(v) ? json("<rfc3339>") : v;
      else
        metadata[field] = v;
    }
    view[key] = metadata;
  }
  return view;
}

// A Status whole (kind, apiVersion, status, message, reason, details, code),
// with a uid in its details by form; an object by object_view.
json body_view(const json& body) {
  if (!body.is_object() || body.value("kind", "") != "Status") return object_view(body);
  json view = body;
  if (view.contains("details") && view["details"].contains("uid"))
    view["details"]["uid"] = is_uuid(view["details"]["uid"]) ? json("<uuid>") : view["details"]["uid"];
  return view;
}

// Digits in a message replaced, for the messages that name a server's own
// resourceVersions ("... (4711)").
json numbers_masked(json status) {
  if (status.is_object() && status.contains("message") && status["message"].is_string())
    status["message"] = std::regex_replace(status["message"].get<std::string>(), std::regex("[0-9]+"), "#");
  return status;
}

struct Answer {
  int status = 0;
  std::string content_type;
  std::string text;
  json body;  // discarded when the body is not JSON
};

json answer_view(const Answer& a) {
  json view{{"status", a.status}};
  if (a.body.is_discarded()) {
    view["text"] = a.text;
    view["contentType"] = a.content_type;
  } else {
    view["body"] = body_view(a.body);
  }
  return view;
}

// What one server answered, step by step; two transcripts must be equal.
class Transcript {
 public:
  void add(const std::string& step, json view) { steps_.emplace_back(step, std::move(view)); }
  const std::vector<std::pair<std::string, json>>& steps() const { return steps_; }

 private:
  std::vector<std::pair<std::string, json>> steps_;
};

void expect_same(const Transcript& real, const Transcript& fake) {
  ASSERT_EQ(real.steps().size(), fake.steps().size());
  for (std::size_t i = 0; i < real.steps().size(); ++i) {
    const auto& [step, real_view] = real.steps()[i];
    const auto& fake_view = fake.steps()[i].second;
    ASSERT_EQ(step, fake.steps()[i].first);
    EXPECT_EQ(real_view, fake_view) << "step: " << step << "\n  real: " << real_view.dump()
                                    << "\n  fake: " << fake_view.dump();
  }
}

// ---- the two servers ------------------------------------------------------------

// One server and a client of it; `fake` is null for the real one.
struct Side {
  std::string name;
  kube::ClusterConfig config;
  FakeApiServer* fake = nullptr;
  std::unique_ptr<kube::KubeClient> client;

  Answer ask(std::string_view method, const std::string& path, const json& body = json()) {
    return ask_with(*client, method, path, body);
  }
  static Answer ask_with(kube::KubeClient& c, std::string_view method, const std::string& path,
                         const json& body = json()) {
    const auto r = c.request(method, path, body.is_null() ? "" : body.dump());
    return Answer{r.status, r.content_type, r.body, json::parse(r.body, nullptr, false)};
  }

  // A custom resource written as another client would: through the API
  // (and the cdc-guard webhook) on the real server, apply()/remove() on the
  // fake, which serves custom resources read-only.
  json create_connector(const json& object) {
    if (fake) return fake->apply(object);
    const std::string ns = object["metadata"]["namespace"];
    const auto a = ask("POST", "/apis/kafka.strimzi.io/v1/namespaces/" + ns + "/kafkaconnectors", object);
    if (a.status != 201) throw std::runtime_error("creating a KafkaConnector answered " + a.text);
    return a.body;
  }
  void delete_connector(const std::string& ns, const std::string& object_name) {
    if (fake) {
      fake->remove("KafkaConnector", ns, object_name);
      return;
    }
    const auto a =
        ask("DELETE", "/apis/kafka.strimzi.io/v1/namespaces/" + ns + "/kafkaconnectors/" + object_name);
    if (a.status != 200) throw std::runtime_error("deleting a KafkaConnector answered " + a.text);
  }

  // The same server with other credentials: a bearer token, or none at all.
  kube::ClusterConfig with_token(const std::string& token) const {
    kube::ClusterConfig c = config;
    c.client_cert_pem.clear();
    c.client_key_pem.clear();
    c.token = token;
    c.token_file.clear();
    return c;
  }
};

// A watch read to its end: until `last` holds for an event, or the server
// ends the stream (timeoutSeconds in the path).
struct Stream {
  int status = 0;
  std::vector<json> events;
  Answer error;  // a refused watch: its answer
};

Stream watch(kube::KubeClient& c, const std::string& path,
             const std::function<bool(const json&)>& last = {}) {
  Stream s;
  const auto r = c.stream(
      path,
      [&](std::string_view line) {
        s.events.push_back(json::parse(line, nullptr, false));
        return !(last && last(s.events.back()));
      },
      std::chrono::duration_cast<std::chrono::milliseconds>(kHangGuard));
  s.status = r.status;
  if (r.status != 200)
    s.error = Answer{r.status, r.content_type, r.body, json::parse(r.body, nullptr, false)};
  return s;
}

json event_view(const json& event) {
  if (!event.is_object()) return event;
  json view{{"type", event.value("type", "")}};
  const json object = event.value("object", json());
  if (event.value("type", "") == "ERROR")
    view["object"] = numbers_masked(object);
  else
    view["object"] = object_view(object);
  return view;
}

json events_view(const std::vector<json>& events) {
  json view = json::array();
  for (const auto& e : events) view.push_back(event_view(e));
  return view;
}

json stream_view(const Stream& s) {
  json view{{"status", s.status}, {"events", events_view(s.events)}};
  if (s.status != 200) view["error"] = answer_view(s.error);
  return view;
}

// A watch in the background, for events that happen while it is open.
class BackgroundWatch {
 public:
  BackgroundWatch(const kube::ClusterConfig& config, std::string path)
      : client_(config, client_options()), thread_([this, path = std::move(path)] { run(path); }) {}
  ~BackgroundWatch() {
    client_.stop_streams();
    thread_.join();
  }
  BackgroundWatch(const BackgroundWatch&) = delete;
  BackgroundWatch& operator=(const BackgroundWatch&) = delete;

  // The next event, or null when none came within the hang guard.
  json next() {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, kHangGuard, [&] { return !events_.empty() || done_; });
    if (events_.empty()) return json();
    json event = std::move(events_.front());
    events_.pop_front();
    return event;
  }

 private:
  void run(const std::string& path) {
    try {
      client_.stream(
          path,
          [&](std::string_view line) {
            std::lock_guard lock(mutex_);
            events_.push_back(json::parse(line, nullptr, false));
            cv_.notify_all();
            return true;
          },
          std::chrono::duration_cast<std::chrono::milliseconds>(kHangGuard * 2));
    } catch (const std::exception&) {
      // no connection: next() says so by returning null
    }
    std::lock_guard lock(mutex_);
    done_ = true;
    cv_.notify_all();
  }

  kube::KubeClient client_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<json> events_;
  bool done_ = false;
  std::thread thread_;  // last: it uses everything above
};

bool served_v1beta2() {
  return world().strimzi != "1.x";
}

class FakeParity : public ::testing::Test {
 protected:
  void SetUp() override {
    ns_ = new_namespace("parity");
    FakeApiServer::Options options;
    options.strimzi_versions =
        served_v1beta2() ? std::vector<std::string>{"v1", "v1beta2"} : std::vector<std::string>{"v1"};
    fake_server_ = std::make_unique<FakeApiServer>(ca_.issue("kube-apiserver"), options);
    fake_server_->start();

    real_.name = "real";
    real_.config = kube::load_kubeconfig(cluster().admin_kubeconfig().string());
    real_.client = std::make_unique<kube::KubeClient>(real_.config, client_options());

    fake_.name = "fake";
    fake_.config.server = fake_server_->url();
    fake_.config.host = "127.0.0.1";
    fake_.config.port = fake_server_->port();
    fake_.config.ca_pem = ca_.cert_pem();
    fake_.config.token = "test-token";
    fake_.config.source = "fake";
    fake_.fake = fake_server_.get();
    fake_.client = std::make_unique<kube::KubeClient>(fake_.config, client_options());
  }
  void TearDown() override { fake_server_->stop(); }

  // Runs `sequence` against each server and compares what they answered.
  void compare(const std::function<Transcript(Side&)>& sequence) {
    const Transcript real = sequence(real_);
    const Transcript fake = sequence(fake_);
    // CDCGUARD_PARITY_DUMP=1 prints what the real server answered, step by step.
    if (const char* dump = std::getenv("CDCGUARD_PARITY_DUMP"); dump && std::string(dump) == "1") {
      for (const auto& [step, view] : real.steps())
        std::cerr << "[parity] " << step << ": " << view.dump() << "\n";
    }
    expect_same(real, fake);
  }

  std::string configmaps() const { return "/api/v1/namespaces/" + ns_ + "/configmaps"; }
  std::string connectors(const std::string& version = "v1") const {
    return "/apis/kafka.strimzi.io/" + version + "/namespaces/" + ns_ + "/kafkaconnectors";
  }
  json configmap(const std::string& name, const std::string& value) const {
    return json{{"apiVersion", "v1"},
                {"kind", "ConfigMap"},
                {"metadata", {{"name", name}, {"labels", {{"app", "fake-parity"}}}}},
                {"data", {{"key", value}}}};
  }
  // A connector the webhook lets through untouched: not a MySQL binlog reader.
  json connector(const std::string& name) const {
    return json{
        {"apiVersion", "kafka.strimzi.io/v1"},
        {"kind", "KafkaConnector"},
        {"metadata", {{"name", name}, {"namespace", ns_}, {"labels", {{"strimzi.io/cluster", "parity"}}}}},
        {"spec",
         {{"class", "org.apache.kafka.connect.file.FileStreamSourceConnector"},
          {"tasksMax", 1},
          {"config", {{"file", "/tmp/parity.txt"}, {"topic", "parity"}}}}}};
  }

  testing_support::TestCa ca_{"fake parity CA"};
  std::unique_ptr<FakeApiServer> fake_server_;
  std::string ns_;
  Side real_;
  Side fake_;
};

// ---- the tests ----------------------------------------------------------------------

// What the ConfigMap store does (GET, PUT with and without resourceVersion,
// conflicts) and what a person or an installer does (POST, DELETE).
TEST_F(FakeParity, ConfigMapWritesAndReadsAnswerAlike) {
  std::map<std::string, json> stored;  // per side, for the known difference below
  compare([&](Side& s) {
    Transcript t;
    const std::string path = configmaps() + "/parity-writes";
    const Answer created = s.ask("POST", configmaps(), configmap("parity-writes", "one"));
    t.add("POST a new ConfigMap", answer_view(created));
    t.add("POST of an existing name",
          answer_view(s.ask("POST", configmaps(), configmap("parity-writes", "x"))));
    const Answer read = s.ask("GET", path);
    t.add("GET", answer_view(read));
    t.add("GET answers what POST answered", read.body == created.body);
    stored[s.name] = read.body;
    t.add("GET of a missing object", answer_view(s.ask("GET", configmaps() + "/parity-missing")));

    const Answer same = s.ask("PUT", path, read.body);
    t.add("PUT of the object as read", answer_view(same));
    t.add("PUT of the object as read keeps its resourceVersion", rv_of(same.body) == rv_of(read.body));

    json changed = read.body;
    changed["data"]["key"] = "two";
    const Answer updated = s.ask("PUT", path, changed);
    t.add("PUT of a change", answer_view(updated));
    t.add("PUT of a change moves the resourceVersion up", rv_of(updated.body) > rv_of(read.body));
    t.add("PUT keeps uid and creationTimestamp",
          updated.body["metadata"]["uid"] == read.body["metadata"]["uid"] &&
              updated.body["metadata"]["creationTimestamp"] == read.body["metadata"]["creationTimestamp"]);

    changed["data"]["key"] = "three";  // still the resourceVersion read before "two"
    t.add("PUT with a stale resourceVersion", answer_view(s.ask("PUT", path, changed)));
    t.add("the stale PUT wrote nothing", s.ask("GET", path).body["data"]["key"] == "two");

    json unconditional = changed;
    unconditional["metadata"].erase("resourceVersion");
    const Answer forced = s.ask("PUT", path, unconditional);
    t.add("PUT without resourceVersion", answer_view(forced));
    t.add("PUT without resourceVersion moves it up", rv_of(forced.body) > rv_of(updated.body));

    t.add("PUT without kind and apiVersion",
          answer_view(
              s.ask("PUT", path, json{{"metadata", {{"name", "parity-writes"}}}, {"data", {{"key", "4"}}}})));
    t.add("PUT with another name in the body",
          answer_view(
              s.ask("PUT", path, json{{"metadata", {{"name", "parity-other"}}}, {"data", json::object()}})));
    t.add("PUT with another namespace in the body",
          answer_view(s.ask("PUT", path,
                            json{{"metadata", {{"name", "parity-writes"}, {"namespace", ns_ + "-other"}}},
                                 {"data", json::object()}})));
    t.add("PUT of a missing object",
          answer_view(s.ask("PUT", configmaps() + "/parity-missing", configmap("parity-missing", "x"))));
    json nameless = configmap("", "x");
    nameless["metadata"].erase("name");
    t.add("POST without a name", answer_view(s.ask("POST", configmaps(), nameless)));

    // DELETE with a stale precondition names both resourceVersions: masked.
    json stale_delete{{"kind", "DeleteOptions"},
                      {"apiVersion", "v1"},
                      {"preconditions", {{"resourceVersion", read.body["metadata"]["resourceVersion"]}}}};
    const Answer refused = s.ask("DELETE", path, stale_delete);
    t.add("DELETE with a stale precondition",
          json{{"status", refused.status}, {"body", numbers_masked(refused.body)}});
    const Answer deleted = s.ask("DELETE", path);
    t.add("DELETE", answer_view(deleted));
    t.add("DELETE names the uid", deleted.body["details"]["uid"] == read.body["metadata"]["uid"]);
    t.add("GET after DELETE", answer_view(s.ask("GET", path)));
    t.add("DELETE of a missing object", answer_view(s.ask("DELETE", path)));
    return t;
  });
  // Known difference, irrelevant: the real server keeps managedFields
  // (server-side apply bookkeeping), the fake does not. cdc-guard PUTs the
  // object it read, managedFields included, and never reads them.
  EXPECT_TRUE(stored["real"]["metadata"].contains("managedFields")) << stored["real"].dump();
  EXPECT_FALSE(stored["fake"]["metadata"].contains("managedFields")) << stored["fake"].dump();
}

// What leader election does with its Lease (tests/kube/leader_election_test.cpp
// runs it against the fake): create, read, renew with the resourceVersion
// read, lose a race (409), release; plus what a Lease refuses that a
// ConfigMap allows (an update without resourceVersion).
TEST_F(FakeParity, LeaseWritesAndReadsAnswerAlike) {
  compare([&](Side& s) {
    Transcript t;
    const std::string leases = "/apis/coordination.k8s.io/v1/namespaces/" + ns_ + "/leases";
    const std::string path = leases + "/parity-lease";
    const json lease{{"apiVersion", "coordination.k8s.io/v1"},
                     {"kind", "Lease"},
                     {"metadata", {{"name", "parity-lease"}}},
                     {"spec",
                      {{"holderIdentity", "replica-a_0000beef"},
                       {"leaseDurationSeconds", 15},
                       {"acquireTime", "2026-11-25T10:00:00.123456Z"},
                       {"renewTime", "2026-11-25T10:00:00.123456Z"},
                       {"leaseTransitions", 0}}}};
    t.add("GET of a missing Lease", answer_view(s.ask("GET", path)));
    const Answer created = s.ask("POST", leases, lease);
    t.add("POST a new Lease", answer_view(created));
    t.add("POST of an existing name", answer_view(s.ask("POST", leases, lease)));
    const Answer read = s.ask("GET", path);
    t.add("GET", answer_view(read));
    t.add("GET answers what POST answered", object_view(read.body) == object_view(created.body));

    json renewal = read.body;
    renewal["spec"]["renewTime"] = "2026-11-25T10:00:02.654321Z";
    const Answer renewed = s.ask("PUT", path, renewal);
    t.add("PUT of a renewal", answer_view(renewed));
    t.add("the renewal moves the resourceVersion up", rv_of(renewed.body) > rv_of(read.body));
    t.add("PUT of the Lease as stored keeps its resourceVersion",
          rv_of(s.ask("PUT", path, renewed.body).body) == rv_of(renewed.body));

    json rival = renewal;  // still the resourceVersion read before the renewal
    rival["spec"]["holderIdentity"] = "replica-b_0000cafe";
    t.add("PUT with a stale resourceVersion", answer_view(s.ask("PUT", path, rival)));
    json unconditional = rival;
    unconditional["metadata"].erase("resourceVersion");
    t.add("PUT without resourceVersion", answer_view(s.ask("PUT", path, unconditional)));
    t.add("neither wrote", s.ask("GET", path).body["spec"]["holderIdentity"] == "replica-a_0000beef");
    json missing = lease;  // as a client that read it before it was deleted would send it
    missing["metadata"]["name"] = "parity-missing";
    missing["metadata"]["resourceVersion"] = renewed.body["metadata"]["resourceVersion"];
    t.add("PUT of a missing Lease", answer_view(s.ask("PUT", leases + "/parity-missing", missing)));
    missing["metadata"].erase("resourceVersion");
    t.add("PUT of a missing Lease without resourceVersion",
          answer_view(s.ask("PUT", leases + "/parity-missing", missing)));

    json released = renewed.body;
    released["spec"]["holderIdentity"] = "";
    released["spec"]["leaseDurationSeconds"] = 1;
    t.add("PUT of the release", answer_view(s.ask("PUT", path, released)));

    json stale_delete{{"kind", "DeleteOptions"},
                      {"apiVersion", "v1"},
                      {"preconditions", {{"resourceVersion", read.body["metadata"]["resourceVersion"]}}}};
    const Answer refused = s.ask("DELETE", path, stale_delete);
    t.add("DELETE with a stale precondition",
          json{{"status", refused.status}, {"body", numbers_masked(refused.body)}});
    t.add("DELETE", answer_view(s.ask("DELETE", path)));
    t.add("GET after DELETE", answer_view(s.ask("GET", path)));
    return t;
  });
}

// The informer's LIST (fieldSelector metadata.name, the resourceVersion it
// watches from) and the cluster cache's LISTs of custom resources.
TEST_F(FakeParity, ListsAnswerAlike) {
  compare([&](Side& s) {
    Transcript t;
    for (const char* name : {"parity-a", "parity-b"}) s.ask("POST", configmaps(), configmap(name, name));
    s.create_connector(connector("parity-source"));

    const auto list_view = [](const Answer& a) {
      json view{{"status", a.status}};
      if (a.status != 200) return answer_view(a);
      view["kind"] = a.body["kind"];
      view["apiVersion"] = a.body["apiVersion"];
      json metadata = a.body["metadata"];
      if (metadata.contains("resourceVersion"))
        metadata["resourceVersion"] = is_decimal(metadata["resourceVersion"]) ? "<decimal>" : "<not decimal>";
      view["metadata"] = metadata;
      json items = json::array();
      for (const auto& item : a.body["items"]) items.push_back(object_view(item));
      view["items"] = items;
      return view;
    };
    const std::string all_configmaps = "/api/v1/configmaps?fieldSelector=metadata.namespace%3D" + ns_;
    t.add("LIST", list_view(s.ask("GET", configmaps())));
    t.add("LIST fieldSelector metadata.name=",
          list_view(s.ask("GET", configmaps() + "?fieldSelector=metadata.name%3Dparity-b")));
    t.add("LIST fieldSelector metadata.name==",
          list_view(s.ask("GET", configmaps() + "?fieldSelector=metadata.name%3D%3Dparity-b")));
    t.add("LIST fieldSelector metadata.name!=",
          list_view(s.ask("GET", configmaps() + "?fieldSelector=metadata.name!%3Dparity-b")));
    t.add("LIST fieldSelector of a missing name",
          list_view(s.ask("GET", configmaps() + "?fieldSelector=metadata.name%3Dparity-none")));
    t.add("LIST in every namespace, fieldSelector metadata.namespace",
          list_view(s.ask("GET", all_configmaps)));
    t.add("LIST in every namespace, fieldSelector metadata.namespace and name",
          list_view(s.ask("GET", all_configmaps + ",metadata.name%3Dparity-a")));
    t.add("LIST fieldSelector on an unsupported field",
          answer_view(s.ask("GET", configmaps() + "?fieldSelector=data.key%3Dparity-a")));
    t.add("LIST fieldSelector that does not parse",
          answer_view(s.ask("GET", configmaps() + "?fieldSelector=junk")));

    // A resourceVersion on a LIST means "not older than": never 410.
    const Answer now = s.ask("GET", configmaps());
    const std::uint64_t current = std::stoull(now.body["metadata"]["resourceVersion"].get<std::string>());
    t.add("LIST resourceVersion=0", list_view(s.ask("GET", configmaps() + "?resourceVersion=0")));
    t.add("LIST resourceVersion=1", list_view(s.ask("GET", configmaps() + "?resourceVersion=1")));
    t.add("LIST at the current resourceVersion",
          list_view(s.ask("GET", configmaps() + "?resourceVersion=" + std::to_string(current))));
    // Far ahead: the real server waits for it (about 3 s), then answers 504.
    const Answer ahead = s.ask("GET", configmaps() + "?resourceVersion=" + std::to_string(current + 1000000));
    t.add("LIST resourceVersion far ahead",
          json{{"status", ahead.status}, {"body", numbers_masked(ahead.body)}});
    t.add("LIST resourceVersion that is not a number",
          answer_view(s.ask("GET", configmaps() + "?resourceVersion=abc")));

    t.add("LIST KafkaConnectors v1", list_view(s.ask("GET", connectors("v1"))));
    if (served_v1beta2())
      t.add("LIST KafkaConnectors v1beta2", list_view(s.ask("GET", connectors("v1beta2"))));
    t.add("LIST KafkaConnectors in every namespace, fieldSelector metadata.namespace",
          list_view(s.ask(
              "GET", "/apis/kafka.strimzi.io/v1/kafkaconnectors?fieldSelector=metadata.namespace%3D" + ns_)));
    t.add("LIST KafkaConnectors fieldSelector metadata.name",
          list_view(s.ask("GET", connectors() + "?fieldSelector=metadata.name%3Dparity-source")));
    t.add("LIST KafkaConnect (none)",
          list_view(s.ask("GET", "/apis/kafka.strimzi.io/v1/namespaces/" + ns_ + "/kafkaconnects")));
    t.add("LIST KafkaConnectors fieldSelector on an unsupported field",
          answer_view(s.ask("GET", connectors() + "?fieldSelector=spec.class%3Dx")));
    t.add("GET KafkaConnector", answer_view(s.ask("GET", connectors() + "/parity-source")));
    if (served_v1beta2())
      t.add("GET KafkaConnector v1beta2",
            answer_view(s.ask("GET", connectors("v1beta2") + "/parity-source")));
    t.add("GET of a missing KafkaConnector", answer_view(s.ask("GET", connectors() + "/parity-missing")));
    s.delete_connector(ns_, "parity-source");
    return t;
  });
}

// The informer's watch: from the LIST's resourceVersion, with bookmarks and
// a fieldSelector; and watches from "now" (resourceVersion 0, empty, absent).
TEST_F(FakeParity, WatchesReplayFromAResourceVersionAndStartFromNow) {
  compare([&](Side& s) {
    Transcript t;
    const Answer listed = s.ask("GET", configmaps());
    const std::string from = listed.body["metadata"]["resourceVersion"];
    const Answer a = s.ask("POST", configmaps(), configmap("parity-watched", "one"));
    json change = a.body;
    change["data"]["key"] = "two";
    const Answer modified = s.ask("PUT", configmaps() + "/parity-watched", change);
    s.ask("POST", configmaps(), configmap("parity-other", "x"));
    s.ask("DELETE", configmaps() + "/parity-watched");

    const auto deleted = [](const json& e) { return e.value("type", "") == "DELETED"; };
    const std::string options = "?watch=true&timeoutSeconds=30&resourceVersion=" + from;
    const Stream one =
        watch(*s.client, configmaps() + options + "&fieldSelector=metadata.name%3Dparity-watched", deleted);
    t.add("WATCH from a resourceVersion, fieldSelector metadata.name", stream_view(one));
    bool increasing = one.events.size() == 3;
    for (std::size_t i = 1; increasing && i < one.events.size(); ++i)
      increasing = rv_of(one.events[i]["object"]) > rv_of(one.events[i - 1]["object"]);
    t.add("event resourceVersions increase", increasing);
    t.add("MODIFIED carries the resourceVersion PUT answered",
          one.events.size() > 1 && one.events[1]["object"]["metadata"]["resourceVersion"] ==
                                       modified.body["metadata"]["resourceVersion"]);
    t.add("WATCH from a resourceVersion, every object",
          stream_view(watch(*s.client, configmaps() + options, deleted)));
    t.add("WATCH with watch=1",
          stream_view(watch(*s.client,
                            configmaps() + "?watch=1&timeoutSeconds=30&resourceVersion=" + from +
                                "&fieldSelector=metadata.name%3Dparity-other",
                            [](const json&) { return true; })));

    // From now: the current objects as ADDED, and with bookmarks allowed a
    // bookmark marking the end of them; the stream ends at timeoutSeconds.
    const auto initial_end = [](const json& e) { return e.value("type", "") == "BOOKMARK"; };
    t.add("WATCH resourceVersion=0",
          stream_view(watch(*s.client, configmaps() + "?watch=true&timeoutSeconds=2&resourceVersion=0")));
    t.add("WATCH resourceVersion=0, bookmarks",
          stream_view(
              watch(*s.client,
                    configmaps() + "?watch=true&timeoutSeconds=30&allowWatchBookmarks=true&resourceVersion=0",
                    initial_end)));
    t.add("WATCH resourceVersion empty, bookmarks",
          stream_view(
              watch(*s.client,
                    configmaps() + "?watch=true&timeoutSeconds=30&allowWatchBookmarks=true&resourceVersion=",
                    initial_end)));
    t.add(
        "WATCH without resourceVersion, bookmarks",
        stream_view(watch(*s.client, configmaps() + "?watch=true&timeoutSeconds=30&allowWatchBookmarks=true",
                          initial_end)));
    t.add(
        "WATCH KafkaConnectors without resourceVersion, bookmarks",
        stream_view(watch(*s.client, connectors() + "?watch=true&timeoutSeconds=30&allowWatchBookmarks=true",
                          initial_end)));
    t.add("WATCH fieldSelector on an unsupported field",
          stream_view(watch(*s.client, configmaps() + "?watch=true&fieldSelector=data.key%3Dx")));
    t.add("WATCH resourceVersion that is not a number",
          stream_view(watch(*s.client, configmaps() + "?watch=true&resourceVersion=abc")));

    // Live: opened from now, then a change.
    {
      BackgroundWatch live(s.config,
                           configmaps() + "?watch=true&allowWatchBookmarks=true&timeoutSeconds=120");
      const json added = live.next();
      const json end = live.next();
      t.add("live WATCH: the current object, then the end of the initial events",
            json{event_view(added), event_view(end)});
      const Answer other = s.ask("GET", configmaps() + "/parity-other");
      json later = other.body;
      later["data"]["key"] = "live";
      const Answer put = s.ask("PUT", configmaps() + "/parity-other", later);
      json next = live.next();
      while (next.value("type", "") == "BOOKMARK") next = live.next();  // periodic ones, on the fake
      t.add("live WATCH: a change made after it opened", event_view(next));
      t.add("live WATCH: the change's resourceVersion",
            next.is_object() &&
                next["object"]["metadata"]["resourceVersion"] == put.body["metadata"]["resourceVersion"]);
    }

    // Kafka connectors: ADDED, MODIFIED, DELETED, in the version asked for.
    const Answer cr_listed = s.ask("GET", connectors());
    const std::string cr_from = cr_listed.body["metadata"]["resourceVersion"];
    json cr = s.create_connector(connector("parity-source"));
    cr = s.ask("GET", connectors() + "/parity-source").body;
    cr["spec"]["tasksMax"] = 2;
    if (s.fake)
      s.fake->apply(cr);
    else
      s.ask("PUT", connectors() + "/parity-source", cr);
    s.delete_connector(ns_, "parity-source");
    const std::string cr_options =
        "?watch=true&timeoutSeconds=30&allowWatchBookmarks=true&resourceVersion=" + cr_from;
    t.add("WATCH KafkaConnectors v1 from a resourceVersion",
          stream_view(watch(*s.client, connectors() + cr_options, deleted)));
    if (served_v1beta2())
      t.add("WATCH KafkaConnectors v1beta2 in every namespace from a resourceVersion",
            stream_view(watch(*s.client,
                              "/apis/kafka.strimzi.io/v1beta2/kafkaconnectors" + cr_options +
                                  "&fieldSelector=metadata.namespace%3D" + ns_,
                              deleted)));
    return t;
  });
}

// What the informer keeps from a bookmark: its resourceVersion. The real
// server sends one only when the watched resource has moved on since the
// watch's last event (here: a change its fieldSelector filters out, made
// while it is open), at its own pace (at the latest 2 s before
// timeoutSeconds); the fake sends one every bookmark_interval, moved on or
// not (its tests need them fast). Compared: the shape, and that a bookmark as new as the
// filtered change comes before the stream ends.
TEST_F(FakeParity, BookmarksCarryOnlyTheResourceVersion) {
  compare([&](Side& s) {
    Transcript t;
    s.ask("POST", configmaps(), configmap("parity-quiet", "x"));
    BackgroundWatch w(s.config, configmaps() + "?watch=true&allowWatchBookmarks=true&timeoutSeconds=8" +
                                    "&fieldSelector=metadata.name%3Dparity-quiet");
    t.add("the current object", event_view(w.next()));
    t.add("the end of the initial events", event_view(w.next()));
    const Answer filtered = s.ask("POST", configmaps(), configmap("parity-busy", "x"));
    std::set<std::string> types;
    std::set<std::string> shapes;
    bool caught_up = false;
    // Until a bookmark as new as the change, or the end of the stream.
    for (json e = w.next(); e.is_object(); e = w.next()) {
      types.insert(e.value("type", ""));
      if (e.value("type", "") != "BOOKMARK") continue;
      json shape = e["object"];
      shape["metadata"]["resourceVersion"] =
          is_decimal(shape["metadata"]["resourceVersion"]) ? "<decimal>" : "?";
      shapes.insert(shape.dump());
      if (rv_of(e["object"]) >= rv_of(filtered.body)) {
        caught_up = true;
        break;
      }
    }
    t.add("event types after the change", json(types));
    t.add("bookmark objects", json(shapes));
    t.add("a bookmark at least as new as the filtered change", caught_up);
    return t;
  });
}

// A 410 on demand from the real server: a watch from a resourceVersion older
// than its watch cache of KafkaConnectors, which began when the CRD was
// installed. The fake gets the same from compact(). That is all the real one
// can be made to do: a version a client got recently expires only when the
// apiserver's watch cache moves past it or etcd compacts (every 5 minutes),
// never at a test's request. That is what the fake stays for.
TEST_F(FakeParity, ExpiredResourceVersions) {
  compare([&](Side& s) {
    Transcript t;
    s.create_connector(connector("parity-expired"));
    const std::string recent = s.ask("GET", connectors()).body["metadata"]["resourceVersion"];
    s.ask("POST", configmaps(), configmap("parity-later", "x"));  // a change after `recent`
    if (s.fake) s.fake->compact();
    const auto ended = [](const json&) { return false; };
    t.add("WATCH KafkaConnectors from resourceVersion 1",
          stream_view(watch(*s.client,
                            connectors() + "?watch=true&allowWatchBookmarks=true&resourceVersion=1", ended)));
    t.add("WATCH KafkaConnectors in every namespace from resourceVersion 1",
          stream_view(watch(
              *s.client, "/apis/kafka.strimzi.io/v1/kafkaconnectors?watch=true&resourceVersion=1", ended)));
    const Answer list = s.ask("GET", connectors() + "?resourceVersion=1");
    t.add("LIST from resourceVersion 1 answers the current state",
          json{list.status, list.body["items"].size(), rv_of(list.body) >= std::stoull(recent)});

    // Known difference, by design: the fake expires a recent version at will
    // (compact()); the real server keeps serving it.
    const Stream from_recent =
        watch(*s.client, connectors() + "?watch=true&timeoutSeconds=2&resourceVersion=" + recent,
              [](const json& e) { return e.value("type", "") != "BOOKMARK"; });
    const bool expired =
        !from_recent.events.empty() && from_recent.events.front().value("type", "") == "ERROR";
    EXPECT_EQ(expired, s.fake != nullptr) << s.name << ": " << stream_view(from_recent).dump();
    s.delete_connector(ns_, "parity-expired");
    return t;
  });
}

// The cluster cache's discovery of kafka.strimzi.io, and what a version,
// group or resource that is not served answers.
TEST_F(FakeParity, DiscoveryAnswersAlike) {
  std::map<std::string, json> hashes;
  compare([&](Side& s) {
    Transcript t;
    const Answer groups = s.ask("GET", "/apis");
    t.add("/apis kind and apiVersion", json{groups.status, groups.body["kind"], groups.body["apiVersion"]});
    json strimzi;
    for (const auto& g : groups.body["groups"])
      if (g.value("name", "") == "kafka.strimzi.io") strimzi = g;
    t.add("/apis: the kafka.strimzi.io entry", strimzi);
    t.add("/apis/kafka.strimzi.io", answer_view(s.ask("GET", "/apis/kafka.strimzi.io")));
    std::vector<std::string> versions{"v1"};
    if (served_v1beta2()) versions.push_back("v1beta2");
    for (const auto& v : versions) {
      Answer resources = s.ask("GET", "/apis/kafka.strimzi.io/" + v);
      // Known difference, irrelevant: the real server names each resource's
      // storage version by a hash; the fake does not. cdc-guard reads neither.
      json& list = resources.body["resources"];
      for (auto& r : list) {
        if (r.contains("storageVersionHash")) {
          hashes[s.name].push_back(r["storageVersionHash"]);
          r.erase("storageVersionHash");
        }
      }
      // The real server's order of the resources changes from run to run
      // (by when each CRD's handler was installed): compared by name.
      std::sort(list.begin(), list.end(),
                [](const json& x, const json& y) { return x.value("name", "") < y.value("name", ""); });
      t.add("/apis/kafka.strimzi.io/" + v, answer_view(resources));
    }
    t.add("a version not served", answer_view(s.ask("GET", "/apis/kafka.strimzi.io/v1alpha1")));
    t.add("LIST in a version not served", answer_view(s.ask("GET", connectors("v1alpha1"))));
    if (!served_v1beta2())
      t.add("LIST in v1beta2, not served", answer_view(s.ask("GET", connectors("v1beta2"))));
    t.add("a group not served", answer_view(s.ask("GET", "/apis/no.such.group")));
    t.add("a resource not served in a served version",
          answer_view(s.ask("GET", "/apis/kafka.strimzi.io/v1/namespaces/" + ns_ + "/kafkamirrors")));
    t.add("a path outside /api and /apis", answer_view(s.ask("GET", "/no/such/path")));
    t.add("a core resource that does not exist",
          answer_view(s.ask("GET", "/api/v1/namespaces/" + ns_ + "/nosuchthings")));
    t.add("a core API version that does not exist", answer_view(s.ask("GET", "/api/v2")));
    return t;
  });
  EXPECT_EQ(hashes["real"].size(), served_v1beta2() ? 4u : 2u) << hashes["real"].dump();
  EXPECT_TRUE(hashes["fake"].is_null()) << hashes["fake"].dump();
}

// A token the server does not know (401), and no credentials at all: that is
// system:anonymous, whom RBAC refuses (403), except on the public paths.
TEST_F(FakeParity, AuthenticationAnswersAlike) {
  compare([&](Side& s) {
    Transcript t;
    kube::KubeClient stranger(s.with_token("not-a-token"), client_options());
    kube::KubeClient anonymous(s.with_token(""), client_options());
    const std::string cm = configmaps() + "/parity-auth";
    t.add("unknown token: GET", answer_view(Side::ask_with(stranger, "GET", cm)));
    t.add("unknown token: PUT",
          answer_view(Side::ask_with(stranger, "PUT", cm, configmap("parity-auth", "x"))));
    t.add("unknown token: WATCH", stream_view(watch(stranger, configmaps() + "?watch=true")));
    t.add("unknown token: /readyz", answer_view(Side::ask_with(stranger, "GET", "/readyz")));

    t.add("no credentials: LIST", answer_view(Side::ask_with(anonymous, "GET", configmaps())));
    t.add("no credentials: GET", answer_view(Side::ask_with(anonymous, "GET", cm)));
    t.add("no credentials: PUT",
          answer_view(Side::ask_with(anonymous, "PUT", cm, configmap("parity-auth", "x"))));
    t.add("no credentials: POST",
          answer_view(Side::ask_with(anonymous, "POST", configmaps(), configmap("parity-auth", "x"))));
    t.add("no credentials: DELETE", answer_view(Side::ask_with(anonymous, "DELETE", cm)));
    t.add("no credentials: WATCH in every namespace",
          stream_view(watch(anonymous, "/api/v1/configmaps?watch=true&allowWatchBookmarks=true")));
    t.add("no credentials: LIST KafkaConnectors in every namespace",
          answer_view(Side::ask_with(anonymous, "GET", "/apis/kafka.strimzi.io/v1/kafkaconnectors")));
    t.add("no credentials: GET a KafkaConnector",
          answer_view(Side::ask_with(anonymous, "GET", connectors() + "/parity-auth")));
    t.add("no credentials: /apis", answer_view(Side::ask_with(anonymous, "GET", "/apis")));
    t.add("no credentials: /apis/kafka.strimzi.io",
          answer_view(Side::ask_with(anonymous, "GET", "/apis/kafka.strimzi.io")));
    t.add("no credentials: /readyz", answer_view(Side::ask_with(anonymous, "GET", "/readyz")));
    const Answer version = Side::ask_with(anonymous, "GET", "/version");
    t.add("no credentials: /version", json{version.status, version.body.contains("gitVersion")});
    t.add("the admin credentials work", s.ask("GET", configmaps()).status);
    return t;
  });
}

}  // namespace
}  // namespace cdcguard::e2e
