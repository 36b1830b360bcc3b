#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cdcguard/admission_handler.hpp"
#include "cdcguard/registry_parser.hpp"
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

}  // namespace
}  // namespace cdcguard::admission
