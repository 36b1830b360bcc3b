#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "cdcguard/admission/admission_handler.hpp"
#include "cdcguard/model/registry_parser.hpp"
#include "cdcguard/store/file_registry_store.hpp"
#include "support/temp_dir.hpp"

namespace cdcguard::admission {
namespace {

namespace fs = std::filesystem;

const TimePoint kNow = *parse_timestamp("2026-11-25T10:00:00Z");

const char* kRegistry = R"(rules:
  range: {from: 184000, to: 184999}
  autoAssign: true
  schemaHistoryTopicTemplate: "schema-history.{prefix}"
teams:
  - {name: team-a, namespaces: [ecommerce], range: {from: 184000, to: 184099}}
entries:
  - {connector: ecommerce/catalog-cdc, serverId: 184000, status: Active, owner: team-a, date: 2025-12-01}
  - {connector: ecommerce/orders-cdc, serverId: 184001, status: Active, owner: team-a, date: 2026-01-15}
)";

class AdmissionHandlerTest : public testing::Test {
 protected:
  void SetUp() override {
    file_ = dir_ / "registry.yaml";
    std::ofstream(file_) << kRegistry;
    store_ = std::make_unique<FileRegistryStore>(file_.string());
    handler_ = std::make_unique<AdmissionHandler>(*store_, [] { return kNow; });
  }

  std::string file_text() const {
    std::ifstream in(file_);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  Registry registry() const { return parse_registry(file_text(), "registry.yaml"); }

  static nlohmann::json connector(const std::string& name, const nlohmann::json& server_id,
                                  const std::string& cls = "io.debezium.connector.mysql.MySqlConnector") {
    nlohmann::json config = {{"topic.prefix", name}, {"schema.history.internal.kafka.topic", "sh." + name}};
    if (!server_id.is_null()) config["database.server.id"] = server_id;
    return {{"apiVersion", "kafka.strimzi.io/v1"},
            {"kind", "KafkaConnector"},
            {"metadata", {{"name", name}, {"namespace", "ecommerce"}}},
            {"spec", {{"class", cls}, {"config", config}}}};
  }

  static Request request(const std::string& operation, const nlohmann::json& object,
                         const nlohmann::json& old_object = nullptr, bool dry_run = false) {
    Request r;
    r.uid = "uid-" + operation;
    r.kind = {"kafka.strimzi.io", "v1", "KafkaConnector"};
    r.operation = operation;
    r.namespace_name = "ecommerce";
    r.name = object.is_object() ? object["metadata"]["name"].get<std::string>() : "gone";
    r.dry_run = dry_run;
    r.object = yaml_from_json(object);
    r.old_object = yaml_from_json(old_object);
    return r;
  }

  testing_support::TempDir dir_{"cdcguard-handler"};
  fs::path file_;
  std::unique_ptr<FileRegistryStore> store_;
  std::unique_ptr<AdmissionHandler> handler_;
};

TEST_F(AdmissionHandlerTest, ADuplicateIsDeniedNamingTheHolderAndTheFix) {
  const std::string before = file_text();
  const Response r = handler_->validate(request("CREATE", connector("refunds-cdc", 184001)));
  EXPECT_FALSE(r.allowed);
  EXPECT_EQ(r.code, 403);
  EXPECT_EQ(r.uid, "uid-CREATE");
  EXPECT_NE(r.message.find("[server-id-duplicate]"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("ecommerce/orders-cdc"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("next free id for team-a: 184002"), std::string::npos) << r.message;
  EXPECT_EQ(file_text(), before);
}

TEST_F(AdmissionHandlerTest, AnAdmittedIdIsRecordedAndAdmittingAgainChangesNothing) {
  const Response r = handler_->validate(request("CREATE", connector("refunds-cdc", "184002")));
  EXPECT_TRUE(r.allowed) << r.message;
  const Registry reg = registry();
  ASSERT_EQ(reg.entries.size(), 3u);
  EXPECT_EQ(reg.entries.back().connector, "ecommerce/refunds-cdc");
  EXPECT_EQ(reg.entries.back().server_id, 184002u);
  EXPECT_EQ(reg.entries.back().status, EntryStatus::Active);
  const std::string after = file_text();
  EXPECT_TRUE(handler_->validate(request("CREATE", connector("refunds-cdc", 184002))).allowed);
  EXPECT_EQ(file_text(), after);
  // The next one with that id is now the duplicate.
  EXPECT_FALSE(handler_->validate(request("CREATE", connector("other-cdc", 184002))).allowed);
}

TEST_F(AdmissionHandlerTest, DryRunGivesTheVerdictAndWritesNothing) {
  const std::string before = file_text();
  EXPECT_TRUE(handler_->validate(request("CREATE", connector("refunds-cdc", 184002), nullptr, true)).allowed);
  EXPECT_FALSE(
      handler_->validate(request("CREATE", connector("refunds-cdc", 184001), nullptr, true)).allowed);
  const Response m = handler_->mutate(request("CREATE", connector("refunds-cdc", nullptr), nullptr, true));
  EXPECT_FALSE(m.patch.empty());
  EXPECT_EQ(file_text(), before);
}

TEST_F(AdmissionHandlerTest, MutateAssignsTheNextFreeIdAndRetriesGetTheSameOne) {
  const nlohmann::json object = connector("refunds-cdc", nullptr);
  const Response first = handler_->mutate(request("CREATE", object));
  ASSERT_TRUE(first.allowed) << first.message;
  const nlohmann::json patched = object.patch(nlohmann::json::parse(first.patch));
  EXPECT_EQ(patched["spec"]["config"]["database.server.id"], "184002");
  const Response retry = handler_->mutate(request("CREATE", object));
  EXPECT_EQ(retry.patch, first.patch);
  const nlohmann::json other_object = connector("other-cdc", "auto");
  const Response other = handler_->mutate(request("CREATE", other_object));
  EXPECT_EQ(other_object.patch(nlohmann::json::parse(other.patch))["spec"]["config"]["database.server.id"],
            "184003");
  // The mutated object then passes /validate as its own claim.
  EXPECT_TRUE(handler_->validate(request("CREATE", patched)).allowed);
}

TEST_F(AdmissionHandlerTest, MutateFillsAMissingHistoryTopicFromTheTemplate) {
  nlohmann::json object = connector("refunds-cdc", nullptr);
  object["spec"]["config"].erase("schema.history.internal.kafka.topic");
  const Response r = handler_->mutate(request("CREATE", object));
  const nlohmann::json patched = object.patch(nlohmann::json::parse(r.patch));
  EXPECT_EQ(patched["spec"]["config"]["schema.history.internal.kafka.topic"], "schema-history.refunds-cdc");
}

// A 1.x config gets its history topic under the 1.x name: the 2.x name would
// make it a 2.x config that ignores its database.server.name.
TEST_F(AdmissionHandlerTest, MutateFillsTheHistoryTopicUnderTheConnectorsOwnGenerationsName) {
  nlohmann::json object = connector("legacy-cdc", nullptr);
  object["spec"]["config"] = {{"database.server.name", "legacy"}};
  const Response r = handler_->mutate(request("CREATE", object));
  ASSERT_TRUE(r.allowed) << r.message;
  const nlohmann::json patched = object.patch(nlohmann::json::parse(r.patch));
  EXPECT_EQ(patched["spec"]["config"]["database.history.kafka.topic"], "schema-history.legacy");
  EXPECT_FALSE(patched["spec"]["config"].contains("schema.history.internal.kafka.topic"));
  const Response v = handler_->validate(request("CREATE", patched));
  EXPECT_TRUE(v.allowed) << v.message;
}

TEST_F(AdmissionHandlerTest, AMixedGenerationConfigIsDeniedWithTheRenameToMake) {
  nlohmann::json object = connector("course-cdc", 184002);
  object["spec"]["config"] = {{"database.server.id", "184002"},
                              {"database.server.name", "mysql_orders"},
                              {"schema.history.internal.kafka.topic", "schema-history.mysql_orders"}};
  const Response r = handler_->validate(request("CREATE", object));
  EXPECT_FALSE(r.allowed);
  EXPECT_NE(r.message.find("[config-generation-mixed]"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("rename database.server.name to topic.prefix"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("[topic-prefix-missing]"), std::string::npos) << r.message;
}

TEST_F(AdmissionHandlerTest, AnUnrelatedUpdateOfAViolatingConnectorIsAllowedWithWarnings) {
  nlohmann::json old_object = connector("legacy-cdc", 184001);  // already a duplicate
  nlohmann::json new_object = old_object;
  new_object["metadata"]["annotations"] = {{"strimzi.io/restart", "true"}};
  const Response r = handler_->validate(request("UPDATE", new_object, old_object));
  EXPECT_TRUE(r.allowed);
  ASSERT_FALSE(r.warnings.empty());
  EXPECT_NE(r.warnings.front().find("server-id-duplicate"), std::string::npos);
}

TEST_F(AdmissionHandlerTest, ChangingAnIdIsJudgedAndEmbargoesTheOldOne) {
  ASSERT_TRUE(handler_->validate(request("CREATE", connector("refunds-cdc", 184002))).allowed);
  const Response bad = handler_->validate(
      request("UPDATE", connector("refunds-cdc", 184001), connector("refunds-cdc", 184002)));
  EXPECT_FALSE(bad.allowed);
  const Response good = handler_->validate(
      request("UPDATE", connector("refunds-cdc", 184005), connector("refunds-cdc", 184002)));
  EXPECT_TRUE(good.allowed) << good.message;
  bool embargoed = false;
  for (const auto& e : registry().entries) {
    if (e.server_id == 184002u)
      embargoed = e.status == EntryStatus::Decommissioned && e.decommissioned_at == kNow;
  }
  EXPECT_TRUE(embargoed);
  EXPECT_FALSE(handler_->validate(request("CREATE", connector("next-cdc", 184002))).allowed);
}

TEST_F(AdmissionHandlerTest, DeletesOtherKindsAndOtherClassesPass) {
  EXPECT_TRUE(handler_->validate(request("DELETE", nullptr, connector("orders-cdc", 184001))).allowed);
  EXPECT_TRUE(
      handler_
          ->validate(request("CREATE", connector("file-cdc", 184001, "org.apache.kafka.FileStreamSource")))
          .allowed);
  Request pod = request("CREATE", connector("x", 184001));
  pod.kind = {"", "v1", "Pod"};
  EXPECT_TRUE(handler_->validate(pod).allowed);
}

TEST_F(AdmissionHandlerTest, ABrokenRegistryDeniesWithAClearMessage) {
  std::ofstream(file_) << "rules: [\n";
  const Response r = handler_->validate(request("CREATE", connector("refunds-cdc", 184002)));
  EXPECT_FALSE(r.allowed);
  EXPECT_EQ(r.code, 500);
  EXPECT_NE(r.message.find("cannot rule out a duplicate"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("registry.yaml"), std::string::npos) << r.message;
}

// --- topic facts in the registry (issue 11) -----------------------------------

// The connector as connector() makes it, with its own topics.
nlohmann::json with_topics(nlohmann::json object, const std::string& prefix, const std::string& history) {
  object["spec"]["config"]["topic.prefix"] = prefix;
  object["spec"]["config"]["schema.history.internal.kafka.topic"] = history;
  return object;
}

// The connector's entry that is not Decommissioned, as a copy (the registry is read afresh each time).
std::optional<RegistryEntry> entry_of(const Registry& registry, std::string_view connector) {
  for (const auto& e : registry.entries) {
    if (e.connector == connector && e.status != EntryStatus::Decommissioned) return e;
  }
  return std::nullopt;
}

// Standalone nothing is in view: before issue 11 a connector whose history
// topic a registered connector uses was admitted; the entry now records the
// topics, and the registry stands for the connectors nobody sees.
TEST_F(AdmissionHandlerTest, StandaloneValidateJudgesTopicsAgainstRegisteredConnectors) {
  // orders-cdc's entry predates topic facts: admitting it again fills them in.
  const Response again = handler_->validate(request("CREATE", connector("orders-cdc", 184001)));
  ASSERT_TRUE(again.allowed) << again.message;
  const std::optional<RegistryEntry> orders = entry_of(registry(), "ecommerce/orders-cdc");
  ASSERT_TRUE(orders.has_value());
  EXPECT_EQ(orders->topic_prefix, "orders-cdc");
  EXPECT_EQ(orders->schema_history_topic, "sh.orders-cdc");
  const std::string recorded = file_text();

  const Response shared = handler_->validate(
      request("CREATE", with_topics(connector("refunds-cdc", 184002), "refunds", "sh.orders-cdc")));
  EXPECT_FALSE(shared.allowed);
  EXPECT_EQ(shared.denied_by, std::vector<std::string>{"schema-history-topic-shared"}) << shared.message;
  EXPECT_NE(shared.message.find("schema history topic \"sh.orders-cdc\" is also used by registry entry "
                                "ecommerce/orders-cdc (server id 184001)"),
            std::string::npos)
      << shared.message;

  const Response duplicate = handler_->validate(
      request("CREATE", with_topics(connector("refunds-cdc", 184002), "orders-cdc", "sh.refunds")));
  EXPECT_FALSE(duplicate.allowed);
  EXPECT_EQ(duplicate.denied_by, std::vector<std::string>{"topic-prefix-duplicate"}) << duplicate.message;
  EXPECT_NE(duplicate.message.find("registry entry ecommerce/orders-cdc (server id 184001)"),
            std::string::npos)
      << duplicate.message;

  const Response overlap = handler_->validate(
      request("CREATE", with_topics(connector("refunds-cdc", 184002), "orders-cdc.eu", "sh.refunds")));
  EXPECT_FALSE(overlap.allowed);
  EXPECT_EQ(overlap.denied_by, std::vector<std::string>{"topic-prefix-overlap"}) << overlap.message;
  EXPECT_NE(
      overlap.message.find("overlaps registry entry ecommerce/orders-cdc (server id 184001) with prefix "
                           "\"orders-cdc\""),
      std::string::npos)
      << overlap.message;
  EXPECT_EQ(file_text(), recorded) << "a denial writes nothing";

  // Its own entry is never held against it: re-applied, it passes and changes nothing.
  EXPECT_TRUE(handler_->validate(request("CREATE", connector("orders-cdc", 184001))).allowed);
  EXPECT_EQ(file_text(), recorded);
}

// A changed prefix is judged strictly, and once admitted the entry follows it.
TEST_F(AdmissionHandlerTest, AnAdmittedTopicChangeUpdatesTheEntry) {
  const nlohmann::json before = connector("refunds-cdc", 184002);
  ASSERT_TRUE(handler_->validate(request("CREATE", before)).allowed);
  const nlohmann::json after = with_topics(before, "refunds-v2", "sh.refunds-v2");
  const Response r = handler_->validate(request("UPDATE", after, before));
  ASSERT_TRUE(r.allowed) << r.message;
  const std::optional<RegistryEntry> e = entry_of(registry(), "ecommerce/refunds-cdc");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->server_id, 184002u);
  EXPECT_EQ(e->status, EntryStatus::Active);
  EXPECT_EQ(e->topic_prefix, "refunds-v2");
  EXPECT_EQ(e->schema_history_topic, "sh.refunds-v2");
  // The old prefix is free again; the new one is taken.
  EXPECT_TRUE(
      handler_->validate(request("CREATE", with_topics(connector("x-cdc", 184003), "refunds-cdc", "sh.x")))
          .allowed);
  EXPECT_FALSE(
      handler_->validate(request("CREATE", with_topics(connector("y-cdc", 184004), "refunds-v2", "sh.y")))
          .allowed);
}

// Ratcheting holds for the entry rules too: an UPDATE that changes no rule fact
// is admitted with the clash as a warning; one that moves onto a registered
// connector's history topic is denied.
TEST_F(AdmissionHandlerTest, TopicClashesWithEntriesRatchetOnUnrelatedUpdates) {
  ASSERT_TRUE(handler_->validate(request("CREATE", connector("orders-cdc", 184001))).allowed);
  const nlohmann::json clashing = with_topics(connector("legacy-cdc", 184005), "legacy", "sh.orders-cdc");
  nlohmann::json restarted = clashing;
  restarted["metadata"]["annotations"] = {{"strimzi.io/restart", "true"}};
  const Response unrelated = handler_->validate(request("UPDATE", restarted, clashing));
  EXPECT_TRUE(unrelated.allowed) << unrelated.message;
  EXPECT_EQ(unrelated.warned_by, std::vector<std::string>{"schema-history-topic-shared"});

  const nlohmann::json clean = with_topics(connector("legacy-cdc", 184005), "legacy", "sh.legacy");
  const Response moved = handler_->validate(request("UPDATE", clashing, clean));
  EXPECT_FALSE(moved.allowed);
  EXPECT_EQ(moved.denied_by, std::vector<std::string>{"schema-history-topic-shared"}) << moved.message;
}

// /mutate claims with the facts the object has after its patch: the assigned id
// and the history topic the template fills in. The next connector is judged
// against that claim before /validate of the first one has even run.
TEST_F(AdmissionHandlerTest, MutateClaimsWithTheTopicsOfThePatchedObject) {
  nlohmann::json object = connector("refunds-cdc", nullptr);
  object["spec"]["config"].erase("schema.history.internal.kafka.topic");
  const Response m = handler_->mutate(request("CREATE", object));
  ASSERT_TRUE(m.allowed) << m.message;
  const nlohmann::json patched = object.patch(nlohmann::json::parse(m.patch));
  EXPECT_EQ(patched["spec"]["config"]["schema.history.internal.kafka.topic"], "schema-history.refunds-cdc");
  const std::optional<RegistryEntry> e = entry_of(registry(), "ecommerce/refunds-cdc");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->server_id, 184002u);
  EXPECT_EQ(e->topic_prefix, "refunds-cdc");
  EXPECT_EQ(e->schema_history_topic, "schema-history.refunds-cdc");

  const Response other = handler_->validate(
      request("CREATE", with_topics(connector("other-cdc", 184003), "other", "schema-history.refunds-cdc")));
  EXPECT_FALSE(other.allowed);
  EXPECT_NE(other.message.find("registry entry ecommerce/refunds-cdc (server id 184002)"), std::string::npos)
      << other.message;
  // The patched object itself then passes /validate and its claim is already recorded.
  const std::string claimed = file_text();
  EXPECT_TRUE(handler_->validate(request("CREATE", patched)).allowed);
  EXPECT_EQ(file_text(), claimed);
}

// In a cluster a claim names the cluster that made it (--cluster-name), next to the topics.
TEST_F(AdmissionHandlerTest, AClusterClaimNamesItsClusterAndRecordsTheTopics) {
  HandlerOptions options;
  options.pending_claims = true;
  options.cluster_name = "prod-eu";
  AdmissionHandler cluster_handler(
      *store_, [] { return kNow; }, options);
  ASSERT_TRUE(cluster_handler.validate(request("CREATE", connector("refunds-cdc", 184002))).allowed);
  const std::optional<RegistryEntry> e = entry_of(registry(), "ecommerce/refunds-cdc");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->status, EntryStatus::Pending);
  EXPECT_EQ(e->cluster, "prod-eu");
  EXPECT_EQ(e->topic_prefix, "refunds-cdc");
  EXPECT_EQ(e->schema_history_topic, "sh.refunds-cdc");
}

}  // namespace
}  // namespace cdcguard::admission

namespace cdcguard::admission {
namespace {

// DESIGN.md "Names and keys": a claim is keyed by namespace/name, and nothing a
// request carries can make the stored registry unreadable.
struct NameCase {
  const char* name;
  std::string object_namespace;  // metadata.namespace ("" = none)
  std::string object_name;       // metadata.name ("" = none: metadata.generateName only)
  std::string request_namespace;
  std::string request_name;
  const char* problem;  // in the /validate denial
  const char* warning;  // the /mutate warning, after "cdc-guard assigned no server id: "
};

void PrintTo(const NameCase& c, std::ostream* os) {
  *os << c.name;
}

enum class Mode { Standalone, PendingClaims };

// A CREATE of a MySQL KafkaConnector with metadata.generateName, and the name
// and namespace given (as the request and the object carry them).
Request mysql_create(const std::string& uid, const std::string& request_namespace,
                     const std::string& request_name, nlohmann::json metadata,
                     const nlohmann::json& server_id) {
  nlohmann::json config = {{"topic.prefix", "shop"}, {"schema.history.internal.kafka.topic", "sh.shop"}};
  if (!server_id.is_null()) config["database.server.id"] = server_id;
  metadata["generateName"] = "orders-";
  Request r;
  r.uid = uid;
  r.kind = {"kafka.strimzi.io", "v1", "KafkaConnector"};
  r.operation = "CREATE";
  r.namespace_name = request_namespace;
  r.name = request_name;
  r.object = yaml_from_json(
      {{"apiVersion", "kafka.strimzi.io/v1"},
       {"kind", "KafkaConnector"},
       {"metadata", metadata},
       {"spec", {{"class", "io.debezium.connector.mysql.MySqlConnector"}, {"config", config}}}});
  return r;
}

// A handler on a registry file of its own, standalone or with Pending claims.
class HandlerOnAFile {
 protected:
  void start(Mode mode) {
    file_ = dir_.path() / "registry.yaml";
    std::ofstream(file_) << kRegistry;
    store_ = std::make_unique<FileRegistryStore>(file_.string());
    HandlerOptions options;
    options.pending_claims = mode == Mode::PendingClaims;
    handler_ = std::make_unique<AdmissionHandler>(
        *store_, [] { return kNow; }, options);
  }
  std::string file_text() const {
    std::ifstream in(file_);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }

  testing_support::TempDir dir_{"cdcguard-names"};
  fs::path file_;
  std::unique_ptr<FileRegistryStore> store_;
  std::unique_ptr<AdmissionHandler> handler_;
};

class InvalidNames : public testing::TestWithParam<std::tuple<NameCase, Mode>>, protected HandlerOnAFile {
 protected:
  void SetUp() override { start(std::get<1>(GetParam())); }
  Request request(const std::string& uid, const nlohmann::json& server_id) const {
    const NameCase& c = std::get<0>(GetParam());
    nlohmann::json metadata = nlohmann::json::object();
    if (!c.object_name.empty()) metadata["name"] = c.object_name;
    if (!c.object_namespace.empty()) metadata["namespace"] = c.object_namespace;
    return mysql_create(uid, c.request_namespace, c.request_name, metadata, server_id);
  }
};

TEST_P(InvalidNames, ValidateDeniesNamingTheKeyAndWritesNothing) {
  const NameCase& c = std::get<0>(GetParam());
  const std::string before = file_text();
  const Response r = handler_->validate(request("uid-validate", 184002));
  EXPECT_FALSE(r.allowed);
  EXPECT_EQ(r.code, 400);
  EXPECT_EQ(r.uid, "uid-validate");
  EXPECT_NE(r.message.find("invalid KafkaConnector"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find(c.problem), std::string::npos) << r.message;
  EXPECT_EQ(file_text(), before);
  EXPECT_NO_THROW(parse_registry(file_text(), "registry.yaml"));
}

TEST_P(InvalidNames, MutateAssignsAndClaimsNothingAndSaysWhy) {
  const NameCase& c = std::get<0>(GetParam());
  const std::string before = file_text();
  for (const nlohmann::json& id : {nlohmann::json(nullptr), nlohmann::json("auto")}) {
    SCOPED_TRACE(id.dump());
    const Response r = handler_->mutate(request("uid-mutate", id));
    EXPECT_TRUE(r.allowed) << r.message;
    EXPECT_EQ(r.patch, "");
    ASSERT_EQ(r.warnings.size(), 1u);
    EXPECT_EQ(r.warnings[0], std::string("cdc-guard assigned no server id: ") + c.warning);
    EXPECT_LE(r.warnings[0].size(), kMaxWarningLength) << "the API server would cut it";
    EXPECT_EQ(file_text(), before);
  }
  // A connector that has its id needs nothing from /mutate, whatever its name.
  const Response with_id = handler_->mutate(request("uid-mutate", 184002));
  EXPECT_TRUE(with_id.allowed);
  EXPECT_TRUE(with_id.warnings.empty());
  EXPECT_EQ(file_text(), before);
}

INSTANTIATE_TEST_SUITE_P(
    Admission, InvalidNames,
    testing::Combine(
        testing::Values(
            NameCase{"slash_in_name", "ecommerce", "a/b", "ecommerce", "a/b", "name \"a/b\" is not a valid",
                     "metadata.name is not a valid DNS-1123 subdomain; fix it or set database.server.id"},
            NameCase{"empty_namespace", "", "nsm3", "", "nsm3", "namespace \"\" is not a valid",
                     "the namespace is not a valid DNS-1123 label"},
            NameCase{"uppercase_name", "ecommerce", "Orders-CDC", "ecommerce", "Orders-CDC",
                     "name \"Orders-CDC\" is not a valid",
                     "metadata.name is not a valid DNS-1123 subdomain; fix it or set database.server.id"},
            NameCase{"uppercase_namespace", "Ecommerce", "orders", "Ecommerce", "orders",
                     "namespace \"Ecommerce\" is not a valid", "the namespace is not a valid DNS-1123 label"},
            NameCase{"name_too_long", "ecommerce", std::string(254, 'a'), "ecommerce", std::string(254, 'a'),
                     "it has 254 characters, at most 253",
                     "metadata.name is not a valid DNS-1123 subdomain; fix it or set database.server.id"},
            NameCase{"namespace_too_long", std::string(64, 'n'), "orders", std::string(64, 'n'), "orders",
                     "it has 64 characters, at most 63", "the namespace is not a valid DNS-1123 label"}),
        testing::Values(Mode::Standalone, Mode::PendingClaims)),
    [](const testing::TestParamInfo<std::tuple<NameCase, Mode>>& p) {
      return std::string(std::get<0>(p.param).name) +
             (std::get<1>(p.param) == Mode::Standalone ? "_standalone" : "_pending_claims");
    });

class GenerateName : public testing::TestWithParam<Mode>, protected HandlerOnAFile {
 protected:
  void SetUp() override { start(GetParam()); }
  static Request review(const std::string& uid, const std::string& name, const nlohmann::json& server_id) {
    nlohmann::json metadata = {{"namespace", "ecommerce"}};
    if (!name.empty()) metadata["name"] = name;
    return mysql_create(uid, "ecommerce", name, metadata, server_id);
  }
};

// The API server calls /mutate before it makes a name from generateName, and
// /validate after: the id-less connector is then denied as server-id-missing,
// with a message that says how to get an id.
TEST_P(GenerateName, MutateAssignsNothingAndValidateDeniesTheMissingId) {
  const std::string before = file_text();
  const Response m = handler_->mutate(review("uid-1", "", nullptr));
  EXPECT_TRUE(m.allowed) << m.message;
  EXPECT_EQ(m.patch, "");
  EXPECT_EQ(m.warnings, std::vector<std::string>{"cdc-guard assigned no server id: no metadata.name yet "
                                                 "(generateName); set metadata.name or database.server.id"});
  EXPECT_EQ(file_text(), before);

  const Response v = handler_->validate(review("uid-1", "orders-x7k2q", nullptr));
  EXPECT_FALSE(v.allowed);
  EXPECT_EQ(v.code, 403);
  EXPECT_EQ(v.denied_by, std::vector<std::string>{"server-id-missing"}) << v.message;
  EXPECT_NE(
      v.message.find("set metadata.name, or set spec.config.database.server.id (next free id for team-a: "
                     "184002)"),
      std::string::npos)
      << v.message;
  EXPECT_EQ(file_text(), before);
}

TEST_P(GenerateName, AnIdGivenWithGenerateNameIsRecordedUnderTheFinalName) {
  EXPECT_TRUE(handler_->mutate(review("uid-2", "", 184005)).allowed);
  const Response v = handler_->validate(review("uid-2", "orders-x7k2q", 184005));
  EXPECT_TRUE(v.allowed) << v.message;
  const Registry reg = parse_registry(file_text(), "registry.yaml");
  ASSERT_EQ(reg.entries.size(), 3u);
  EXPECT_EQ(reg.entries.back().connector, "ecommerce/orders-x7k2q");
}

// The longest name the API server takes is recorded, and read back.
TEST_P(GenerateName, TheLongestValidNameIsClaimed) {
  const std::string name = std::string(125, 'a') + "." + std::string(127, 'b');
  const Response m = handler_->mutate(review("uid-3", name, nullptr));
  ASSERT_TRUE(m.allowed) << m.message;
  EXPECT_NE(m.patch, "");
  const Registry reg = parse_registry(file_text(), "registry.yaml");
  EXPECT_EQ(reg.entries.back().connector, "ecommerce/" + name);
}

INSTANTIATE_TEST_SUITE_P(Admission, GenerateName, testing::Values(Mode::Standalone, Mode::PendingClaims),
                         [](const testing::TestParamInfo<Mode>& p) {
                           return p.param == Mode::Standalone ? "standalone" : "pending_claims";
                         });

// A claim that lapsed (its connector never appeared) holds nothing, but the
// parser, which does not know "now", counts every Pending entry: a new claim
// next to it would leave a registry that cannot be read.
TEST_F(AdmissionHandlerTest, ALapsedClaimMakesWayForTheNextOneAndTheRegistryStaysReadable) {
  TimePoint now = kNow;
  HandlerOptions options;
  options.pending_claims = true;
  options.claim_ttl = std::chrono::seconds(300);
  AdmissionHandler cluster_handler(
      *store_, [&] { return now; }, options);
  ASSERT_TRUE(cluster_handler.validate(request("CREATE", connector("never-created-cdc", 184002))).allowed);
  now += std::chrono::seconds(301);
  // Another connector gets the id, and the first one, retried, gets a new claim.
  const Response other = cluster_handler.validate(request("CREATE", connector("refunds-cdc", 184002)));
  EXPECT_TRUE(other.allowed) << other.message;
  const Response again = cluster_handler.mutate(request("CREATE", connector("never-created-cdc", nullptr)));
  EXPECT_TRUE(again.allowed) << again.message;
  const Registry reg = registry();  // throws (fails the test) when unreadable
  int holders = 0;
  int never_created = 0;
  for (const auto& e : reg.entries) {
    holders += e.server_id == 184002u ? 1 : 0;
    never_created += e.connector == "ecommerce/never-created-cdc" ? 1 : 0;
  }
  EXPECT_EQ(holders, 1);
  EXPECT_EQ(never_created, 1);
}

// Defence in depth: a claim records the request's uid, and a uid YAML cannot
// carry (a DEL byte is valid JSON and UTF-8) would leave a registry nobody can
// read. The store refuses the write; the admission is denied with why.
TEST_F(AdmissionHandlerTest, AClaimTheRegistryCouldNotReadBackIsDeniedAndNotWritten) {
  HandlerOptions options;
  options.pending_claims = true;
  AdmissionHandler cluster_handler(
      *store_, [] { return kNow; }, options);
  const std::string before = file_text();
  Request r = request("CREATE", connector("refunds-cdc", 184002));
  r.uid = "uid-\x7f";
  const Response v = cluster_handler.validate(r);
  EXPECT_FALSE(v.allowed);
  EXPECT_EQ(v.code, 500);
  EXPECT_NE(v.message.find("could not be read back"), std::string::npos) << v.message;
  EXPECT_NE(v.message.find("entry ecommerce/refunds-cdc cannot be read back"), std::string::npos)
      << v.message;
  EXPECT_EQ(file_text(), before);
  Request m = request("CREATE", connector("payments-cdc", nullptr));
  m.uid = "uid-\x7f";
  EXPECT_EQ(cluster_handler.mutate(m).code, 500);
  EXPECT_EQ(file_text(), before);
}

// `: > registry.yaml` while serving: the empty file is a broken registry,
// admissions that need it are denied with why, and it is never written over.
TEST_F(AdmissionHandlerTest, AnEmptiedRegistryFileDeniesAndIsNeverWrittenOver) {
  for (const char* text : {"", "\n  \n", "# all gone\n"}) {
    SCOPED_TRACE(testing::PrintToString(text));
    std::ofstream(file_, std::ios::trunc) << text;
    const Response v = handler_->validate(request("CREATE", connector("refunds-cdc", 184001)));
    EXPECT_FALSE(v.allowed);
    EXPECT_EQ(v.code, 500);
    EXPECT_NE(v.message.find("the registry is empty"), std::string::npos) << v.message;
    const Response m = handler_->mutate(request("CREATE", connector("refunds-cdc", nullptr)));
    EXPECT_FALSE(m.allowed);
    EXPECT_EQ(m.code, 500);
    EXPECT_NE(m.message.find("the registry is empty"), std::string::npos) << m.message;
    EXPECT_EQ(file_text(), text);
  }
}

}  // namespace
}  // namespace cdcguard::admission
