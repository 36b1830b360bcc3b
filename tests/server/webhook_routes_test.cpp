// /validate, /mutate, health and metrics over real HTTPS, with request bodies
// shaped like the API server's AdmissionReviews (tests/fixtures/admission).
#include "server/server_fixture.hpp"

namespace cdcguard::testing_support {
namespace {

using Routes = WebhookServerFixture;

TEST_F(Routes, ValidateAdmitsARegisteredIdAndEchoesTheUid) {
  start();
  const std::string before = registry_text();
  const auto out = review("/validate", fixture("create-registered-id.json"));
  EXPECT_EQ(out["apiVersion"], "admission.k8s.io/v1");
  EXPECT_EQ(out["kind"], "AdmissionReview");
  EXPECT_EQ(out["response"]["uid"], "0d3f6c2e-1a1b-4c1d-8e1f-000000000001");
  EXPECT_EQ(out["response"]["allowed"], true);
  EXPECT_FALSE(out["response"].contains("status"));
  EXPECT_EQ(registry_text(), before) << "the entry was already Active: nothing to write";
}

TEST_F(Routes, ValidateDeniesADuplicateNamingTheHolderAndTheFix) {
  start();
  const std::string before = registry_text();
  const auto out = review("/validate", fixture("create-duplicate-id.json"));
  const auto& r = out["response"];
  EXPECT_EQ(r["uid"], "0d3f6c2e-1a1b-4c1d-8e1f-000000000002");
  EXPECT_EQ(r["allowed"], false);
  EXPECT_EQ(r["status"]["code"], 403);
  const std::string message = r["status"]["message"];
  EXPECT_NE(message.find("[server-id-duplicate]"), std::string::npos) << message;
  EXPECT_NE(message.find("ecommerce/orders-cdc"), std::string::npos) << message;
  EXPECT_NE(message.find("next free id for team-a: 184002"), std::string::npos) << message;
  EXPECT_EQ(registry_text(), before);
}

TEST_F(Routes, ValidateRecordsAnAdmittedV1beta2ConnectorAsActive) {
  start();
  const auto out = review("/validate", fixture("create-new-id-v1beta2.json"));
  ASSERT_EQ(out["response"]["allowed"], true) << out.dump();
  const Registry r = registry();
  const RegistryEntry* e = entry_of(r, "ecommerce/refunds-cdc", 184010);
  ASSERT_NE(e, nullptr) << registry_text();
  EXPECT_EQ(e->status, EntryStatus::Active);
  EXPECT_EQ(r.entries.size(), 4u);
  // The same request again (an API server retry) changes nothing.
  const std::string after = registry_text();
  EXPECT_EQ(review("/validate", fixture("create-new-id-v1beta2.json"))["response"]["allowed"], true);
  EXPECT_EQ(registry_text(), after);
}

TEST_F(Routes, DryRunGivesTheSameVerdictAndWritesNothing) {
  start();
  const std::string before = registry_text();
  EXPECT_EQ(review("/validate", fixture("create-new-id-dry-run.json"))["response"]["allowed"], true);
  auto dup = fixture("create-duplicate-id.json");
  dup["request"]["dryRun"] = true;
  const auto denied = review("/validate", dup);
  EXPECT_EQ(denied["response"]["allowed"], false);
  EXPECT_EQ(denied["response"]["status"]["code"], 403);
  auto mutate = fixture("create-mysql-without-id.json");
  mutate["request"]["dryRun"] = true;
  EXPECT_TRUE(review("/mutate", mutate)["response"].contains("patch"));
  EXPECT_EQ(registry_text(), before);
}

TEST_F(Routes, AnUnrelatedUpdateOfAViolatingConnectorPassesWithWarnings) {
  start();
  const auto out = review("/validate", fixture("update-unrelated-change.json"));
  const auto& r = out["response"];
  EXPECT_EQ(r["allowed"], true) << out.dump();
  ASSERT_TRUE(r.contains("warnings"));
  bool out_of_range = false;
  for (const auto& w : r["warnings"]) {
    EXPECT_LE(w.get<std::string>().size(), 120u);
    out_of_range |= w.get<std::string>().find("server-id-out-of-range") != std::string::npos;
  }
  EXPECT_TRUE(out_of_range) << r["warnings"].dump();
  // Changing a fact the rules read is judged like a CREATE.
  auto changed = fixture("update-unrelated-change.json");
  changed["request"]["object"]["spec"]["config"]["topic.prefix"] = "legacy-v2";
  EXPECT_EQ(review("/validate", changed)["response"]["allowed"], false);
}

TEST_F(Routes, ChangingAnIdIsAllowedWhenTheNewOnePassesAndEmbargoesTheOld) {
  start();
  const auto out = review("/validate", fixture("update-change-id.json"));
  ASSERT_EQ(out["response"]["allowed"], true) << out.dump();
  const Registry r = registry();
  const RegistryEntry* old_entry = entry_of(r, "ecommerce/orders-cdc", 184001);
  const RegistryEntry* new_entry = entry_of(r, "ecommerce/orders-cdc", 184020);
  ASSERT_NE(old_entry, nullptr);
  ASSERT_NE(new_entry, nullptr);
  EXPECT_EQ(old_entry->status, EntryStatus::Decommissioned);
  EXPECT_EQ(old_entry->decommissioned_at, kServerNow);
  EXPECT_EQ(new_entry->status, EntryStatus::Active);
  // The freed id is embargoed for everyone else.
  auto taker = fixture("create-duplicate-id.json");
  const auto denied = review("/validate", taker);
  EXPECT_EQ(denied["response"]["allowed"], false);
  EXPECT_NE(denied["response"]["status"]["message"].get<std::string>().find("server-id-embargoed"),
            std::string::npos)
      << denied.dump();
}

TEST_F(Routes, DeletesAndOtherKindsAreAllowedAtOnce) {
  start();
  const std::string before = registry_text();
  EXPECT_EQ(review("/validate", fixture("delete.json"))["response"]["allowed"], true);
  EXPECT_EQ(review("/validate", fixture("create-kafka-connect.json"))["response"]["allowed"], true);
  EXPECT_EQ(review("/mutate", fixture("create-kafka-connect.json"))["response"].contains("patch"), false);
  auto sink = fixture("create-duplicate-id.json");
  sink["request"]["object"]["spec"]["class"] = "io.confluent.connect.jdbc.JdbcSinkConnector";
  EXPECT_EQ(review("/validate", sink)["response"]["allowed"], true);
  EXPECT_EQ(registry_text(), before);
}

TEST_F(Routes, MutateAssignsTheNextFreeIdAsAStringAndRetriesGetTheSameOne) {
  start();
  const auto first = review("/mutate", fixture("create-mysql-without-id.json"));
  const auto& r = first["response"];
  ASSERT_EQ(r["allowed"], true);
  ASSERT_EQ(r["patchType"], "JSONPatch");
  const auto patch = nlohmann::json::parse(base64_decode(r["patch"]));
  const nlohmann::json expected = nlohmann::json::parse(R"([
    {"op":"add","path":"/spec/config/database.server.id","value":"184002"},
    {"op":"add","path":"/spec/config/schema.history.internal.kafka.topic","value":"schema-history.refunds"}])");
  EXPECT_EQ(patch, expected);
  ASSERT_NE(entry_of(registry(), "ecommerce/refunds-cdc", 184002), nullptr) << registry_text();
  // A reinvocation, and a retry with a new uid, get the same id; nothing new is claimed.
  auto retry = fixture("create-mysql-without-id.json");
  retry["request"]["uid"] = "retry-uid";
  const auto again = review("/mutate", retry);
  EXPECT_EQ(again["response"]["uid"], "retry-uid");
  EXPECT_EQ(nlohmann::json::parse(base64_decode(again["response"]["patch"])), expected);
  EXPECT_EQ(registry().entries.size(), 4u);
  // The patched object then passes /validate.
  auto patched = fixture("create-mysql-without-id.json");
  patched["request"]["object"]["spec"]["config"]["database.server.id"] = "184002";
  patched["request"]["object"]["spec"]["config"]["schema.history.internal.kafka.topic"] =
      "schema-history.refunds";
  EXPECT_EQ(review("/validate", patched)["response"]["allowed"], true);
}

TEST_F(Routes, MutateAddsTheConfigObjectWhenItIsAbsent) {
  start();
  auto body = fixture("create-mysql-without-id.json");
  body["request"]["object"]["spec"].erase("config");
  const auto out = review("/mutate", body);
  const auto patch = nlohmann::json::parse(base64_decode(out["response"]["patch"]));
  ASSERT_GE(patch.size(), 2u) << patch.dump();
  EXPECT_EQ(patch[0], nlohmann::json::parse(R"({"op":"add","path":"/spec/config","value":{}})"));
  EXPECT_EQ(patch[1]["path"], "/spec/config/database.server.id");
}

TEST_F(Routes, MutateLeavesAConnectorWithAnIdAlone) {
  start();
  const auto out = review("/mutate", fixture("create-registered-id.json"));
  EXPECT_EQ(out["response"]["allowed"], true);
  EXPECT_FALSE(out["response"].contains("patch"));
  EXPECT_FALSE(out["response"].contains("patchType"));
}

struct BadRequestCase {
  std::string name;
  std::string path;
  std::string method;
  std::string content_type;
  std::string body;
  int status;
  std::string message;  // part of the Status message
};

void PrintTo(const BadRequestCase& c, std::ostream* os) {
  *os << c.name;
}

class BadRequests : public WebhookServerFixture, public testing::WithParamInterface<BadRequestCase> {};

TEST_P(BadRequests, AreAnsweredWithAKubernetesStatus) {
  const auto& c = GetParam();
  server::ServerOptions o = options();
  o.max_body_bytes = 64 * 1024;
  start(o);
  const HttpReply reply = connect().request(c.method, c.path, c.body, c.content_type);
  ASSERT_EQ(reply.status, c.status) << reply.body;
  const auto status = nlohmann::json::parse(reply.body);
  EXPECT_EQ(status["kind"], "Status");
  EXPECT_EQ(status["apiVersion"], "v1");
  EXPECT_EQ(status["status"], "Failure");
  EXPECT_EQ(status["code"], c.status);
  EXPECT_NE(status["message"].get<std::string>().find(c.message), std::string::npos) << status.dump();
  // Logged with the status and the reason the client was given.
  bool logged = false;
  for (const auto& line : sink_->lines()) {
    const auto j = nlohmann::json::parse(line);
    logged |= j["msg"] == "request refused" && j["status"] == c.status && j["reason"] == status["message"];
  }
  EXPECT_TRUE(logged);
  // The server is still there.
  EXPECT_EQ(review("/validate", fixture("create-registered-id.json"))["response"]["allowed"], true);
}

std::string nested(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

INSTANTIATE_TEST_SUITE_P(
    Server, BadRequests,
    testing::Values(
        BadRequestCase{"invalid-json", "/validate", "POST", "application/json", "{\"apiVersion\":", 400,
                       "not valid JSON"},
        BadRequestCase{"not-an-object", "/mutate", "POST", "application/json", "[1,2]", 400, "JSON object"},
        BadRequestCase{
            "wrong-api-version", "/validate", "POST", "application/json",
            R"({"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"u"}})",
            400, "admission.k8s.io/v1beta1"},
        BadRequestCase{"wrong-kind", "/validate", "POST", "application/json",
                       R"({"apiVersion":"admission.k8s.io/v1","kind":"KafkaConnector"})", 400,
                       "KafkaConnector"},
        BadRequestCase{"no-request", "/validate", "POST", "application/json",
                       R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"})", 400, "no request"},
        BadRequestCase{
            "no-uid", "/mutate", "POST", "application/json",
            R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"operation":"CREATE"}})",
            400, "no uid"},
        BadRequestCase{"deeply-nested", "/validate", "POST", "application/json", nested(20000), 400,
                       "deeper than 128"},
        BadRequestCase{"empty-body", "/validate", "POST", "application/json", "", 400, "not valid JSON"},
        BadRequestCase{"too-large", "/validate", "POST", "application/json", std::string(65 * 1024, ' '), 413,
                       "larger than the limit of 65536 bytes"},
        BadRequestCase{"wrong-content-type", "/validate", "POST", "text/plain", "{}", 415,
                       "application/json"},
        BadRequestCase{"no-content-type", "/mutate", "POST", "", "{}", 415, "Content-Type"},
        BadRequestCase{"unknown-path", "/admit", "POST", "application/json", "{}", 404,
                       "no route for POST /admit"},
        BadRequestCase{"get-validate", "/validate", "GET", "", "", 405, "use POST"}),
    ScenarioName());

TEST_F(Routes, AReadableEnvelopeWithABadRequestIsDeniedInAdmissionReviewTerms) {
  start();
  auto body = fixture("create-registered-id.json");
  body["request"]["operation"] = "PATCH";
  auto out = review("/validate", body);
  EXPECT_EQ(out["response"]["uid"], "0d3f6c2e-1a1b-4c1d-8e1f-000000000001");
  EXPECT_EQ(out["response"]["allowed"], false);
  EXPECT_EQ(out["response"]["status"]["code"], 400);
  EXPECT_NE(out["response"]["status"]["message"].get<std::string>().find("unknown operation"),
            std::string::npos);

  body = fixture("create-registered-id.json");
  body["request"].erase("object");
  out = review("/validate", body);
  EXPECT_EQ(out["response"]["allowed"], false);
  EXPECT_NE(out["response"]["status"]["message"].get<std::string>().find("without an object"),
            std::string::npos);

  body = fixture("create-registered-id.json");
  body["request"]["object"]["spec"] = "not a map";
  out = review("/validate", body);
  EXPECT_EQ(out["response"]["allowed"], false);
  EXPECT_EQ(out["response"]["status"]["code"], 400);
}

TEST_F(Routes, ContentTypeParametersAreAccepted) {
  start();
  const HttpReply reply =
      post("/validate", fixture("create-registered-id.json").dump(), "application/json; charset=utf-8");
  EXPECT_EQ(reply.status, 200) << reply.body;
}

TEST_F(Routes, ABrokenRegistryDeniesAndFailsReadiness) {
  start();
  EXPECT_EQ(connect().request("GET", "/readyz", "", "").status, 200);
  EXPECT_EQ(connect().request("GET", "/healthz", "", "").status, 200);
  write_text_file(registry_path_, "rules: [this is not\n  a registry");
  const auto out = review("/validate", fixture("create-new-id-v1beta2.json"));
  EXPECT_EQ(out["response"]["allowed"], false);
  EXPECT_EQ(out["response"]["status"]["code"], 500);
  EXPECT_NE(out["response"]["status"]["message"].get<std::string>().find("cannot rule out a duplicate"),
            std::string::npos);
  const HttpReply ready = connect().request("GET", "/readyz", "", "");
  EXPECT_EQ(ready.status, 503);
  EXPECT_NE(ready.body.find("registry unavailable"), std::string::npos) << ready.body;
  EXPECT_EQ(connect().request("GET", "/healthz", "", "").status, 200);
  EXPECT_EQ(registry_text(), "rules: [this is not\n  a registry") << "a broken registry is never overwritten";
}

TEST_F(Routes, MetricsCountAdmissionsByVerdictAndRuleAndDescribeTheRegistry) {
  start();
  review("/validate", fixture("create-registered-id.json"));
  review("/validate", fixture("create-duplicate-id.json"));
  review("/mutate", fixture("create-mysql-without-id.json"));
  post("/validate", "{", "application/json");
  const HttpReply m = metrics_get("/metrics");
  ASSERT_EQ(m.status, 200);
  const std::string& t = m.body;
  for (const char* line : {
           "cdcguard_admission_requests_total{endpoint=\"validate\",verdict=\"allowed\"} 1\n",
           "cdcguard_admission_requests_total{endpoint=\"validate\",verdict=\"denied\"} 1\n",
           "cdcguard_admission_requests_total{endpoint=\"mutate\",verdict=\"patched\"} 1\n",
           "cdcguard_admission_violations_total{endpoint=\"validate\",rule=\"server-id-duplicate\",action="
           "\"deny\"} 1\n",
           "cdcguard_admission_duration_seconds_count{endpoint=\"validate\"} 2\n",
           "cdcguard_admission_duration_seconds_bucket{endpoint=\"validate\",le=\"+Inf\"} 2\n",
           "cdcguard_http_errors_total{code=\"400\"} 1\n",
           "cdcguard_registry_up 1\n",
           // the fixture's 3 entries plus the mutate claim (Active in standalone mode)
           "cdcguard_registry_entries{status=\"Active\"} 3\n",
           "cdcguard_registry_entries{status=\"Decommissioned\"} 1\n",
           // team-a 184000-184099: 184000, 184001 and the claimed 184002 are taken
           "cdcguard_registry_free_ids{pool=\"team-a\",range=\"184000-184099\"} 97\n",
           // team-b: 184101 is embargoed until 2026-12-10
           "cdcguard_registry_free_ids{pool=\"team-b\",range=\"184100-184199\"} 99\n",
           // the whole range less 3 live, 1 embargoed, 1 reserved
           "cdcguard_registry_free_ids{pool=\"registry\",range=\"184000-184999\"} 995\n",
           "cdcguard_tls_certificate_reloads_total 0\n",
       }) {
    EXPECT_NE(t.find(line), std::string::npos) << "missing: " << line << "\nin:\n" << t;
  }
  EXPECT_NE(t.find("# TYPE cdcguard_admission_duration_seconds histogram"), std::string::npos);
  EXPECT_EQ(metrics_get("/nothing").status, 404);
}

TEST_F(Routes, OneJsonLogLinePerAdmissionWithoutConfigValues) {
  start();
  auto body = fixture("create-duplicate-id.json");
  body["request"]["object"]["spec"]["config"]["database.password"] = "hunter2-do-not-log";
  review("/validate", body);
  review("/validate", fixture("create-registered-id.json"));
  std::vector<nlohmann::json> admissions;
  for (const auto& line : sink_->lines()) {
    EXPECT_EQ(line.find("hunter2-do-not-log"), std::string::npos) << line;
    const auto j = nlohmann::json::parse(line);  // every line is one JSON object
    if (j["msg"] == "admission") admissions.push_back(j);
  }
  ASSERT_EQ(admissions.size(), 2u);
  const auto& denied = admissions[0];
  EXPECT_EQ(denied["uid"], "0d3f6c2e-1a1b-4c1d-8e1f-000000000002");
  EXPECT_EQ(denied["operation"], "CREATE");
  EXPECT_EQ(denied["object"], "ecommerce/refunds-cdc");
  EXPECT_EQ(denied["verdict"], "denied");
  EXPECT_EQ(denied["rules"], "server-id-duplicate");
  EXPECT_EQ(denied["level"], "info");
  EXPECT_TRUE(denied["latency_us"].is_number_integer());
  EXPECT_EQ(admissions[1]["verdict"], "allowed");
  EXPECT_FALSE(admissions[1].contains("rules"));
}

}  // namespace
}  // namespace cdcguard::testing_support
