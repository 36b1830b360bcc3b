// check_manifests() as a whole: what it counts, how it treats an object defined
// twice, and connectors from several files judged together.

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cdcguard/model/manifest.hpp"
#include "cdcguard/model/registry_parser.hpp"
#include "cdcguard/model/rule_ids.hpp"
#include "cdcguard/policy/check.hpp"

#include "support/fixtures.hpp"

namespace cdcguard {
namespace {

const std::string kRulesFixtures = std::string(CDCGUARD_FIXTURES) + "/rules/";

std::string read_fixture(const std::string& relative) {
  return testing_support::read_fixture_file("rules/" + relative);
}

ManifestSet load(std::initializer_list<std::string_view> files) {
  ManifestSet set;
  for (const auto file : files) {
    parse_manifests(read_fixture("manifests/" + std::string(file)), std::string(file), "default", set);
  }
  return set;
}

Registry base_registry() {
  return parse_registry(read_fixture("registries/registry.yaml"), "registry.yaml");
}

TimePoint at(std::string_view rfc3339) {
  return parse_timestamp(rfc3339).value();
}

TEST(CheckReport, CountsConnectorsAndConnectClusters) {
  ManifestSet set = load({"all-clear.yaml", "connect-group-id.yaml"});
  ASSERT_TRUE(set.errors.empty());
  const CheckReport report = check_manifests(std::move(set), base_registry(), at("2026-04-01T12:00:00Z"));
  EXPECT_TRUE(report.input_errors.empty());
  EXPECT_EQ(report.summary.connectors, 6U);
  EXPECT_EQ(report.summary.connect_clusters, 3U);
  EXPECT_EQ(report.summary.errors, 2U);  // connect-a and connect-b share a group
  EXPECT_EQ(report.summary.warnings, 0U);
  EXPECT_TRUE(report.has_errors());
}

TEST(CheckReport, NonDebeziumConnectorsAreCountedAndPass) {
  const CheckReport report =
      check_manifests(load({"non-debezium-ignored.yaml"}), base_registry(), at("2026-04-01T12:00:00Z"));
  EXPECT_EQ(report.summary.connectors, 4U);
  EXPECT_TRUE(report.violations.empty());
}

TEST(CheckReport, AnObjectDefinedTwiceIsAnInputErrorAndCheckedOnce) {
  const CheckReport report =
      check_manifests(load({"defined-twice.yaml"}), base_registry(), at("2026-04-01T12:00:00Z"));
  ASSERT_EQ(report.input_errors.size(), 2U);
  EXPECT_NE(report.input_errors[0].message.find("KafkaConnector ecommerce/orders-cdc is defined twice"),
            std::string::npos)
      << report.input_errors[0].message;
  EXPECT_NE(report.input_errors[0].message.find("defined-twice.yaml:3"), std::string::npos)
      << report.input_errors[0].message;
  EXPECT_EQ(report.input_errors[0].location.line, 15);
  EXPECT_NE(report.input_errors[1].message.find("KafkaConnect kafka/cdc-connect is defined twice"),
            std::string::npos)
      << report.input_errors[1].message;
  EXPECT_NE(report.input_errors[1].message.find("defined-twice.yaml:27"), std::string::npos)
      << report.input_errors[1].message;
  EXPECT_EQ(report.input_errors[1].location.line, 35);
  // Neither copy clashes with the other.
  for (const auto& v : report.violations) ADD_FAILURE() << v.rule << " on " << v.subject << ": " << v.message;
  EXPECT_EQ(report.summary.connectors, 1U);
  EXPECT_EQ(report.summary.connect_clusters, 1U);
  // The first copy of each is the one checked.
  ASSERT_EQ(report.checked.size(), 2U);
  EXPECT_EQ(report.checked[0].kind, "KafkaConnector");
  EXPECT_EQ(report.checked[0].subject, "ecommerce/orders-cdc");
  EXPECT_EQ(report.checked[0].location.line, 3);
  EXPECT_EQ(report.checked[1].kind, "KafkaConnect");
  EXPECT_EQ(report.checked[1].subject, "kafka/cdc-connect");
  EXPECT_EQ(report.checked[1].location.line, 27);
}

TEST(CheckReport, ListsEveryObjectCheckedWithOrWithoutViolationsInFileOrder) {
  const CheckReport report = check_manifests(load({"connect-group-id.yaml", "all-clear.yaml"}),
                                             base_registry(), at("2026-04-01T12:00:00Z"));
  ASSERT_EQ(report.checked.size(), report.summary.connectors + report.summary.connect_clusters);
  std::size_t connects = 0;
  for (std::size_t i = 0; i < report.checked.size(); ++i) {
    const CheckedObject& o = report.checked[i];
    EXPECT_TRUE(o.kind == "KafkaConnector" || o.kind == "KafkaConnect") << o.kind;
    if (o.kind == "KafkaConnect") ++connects;
    EXPECT_NE(o.subject.find('/'), std::string::npos) << o.subject;
    EXPECT_GT(o.location.line, 0) << o.subject;
    if (i > 0) {
      const SourceLocation& before = report.checked[i - 1].location;
      EXPECT_TRUE(before.file < o.location.file ||
                  (before.file == o.location.file && before.line < o.location.line))
          << o.subject << " out of order";
    }
  }
  EXPECT_EQ(connects, 3U);
  EXPECT_EQ(report.checked.front().location.file, "all-clear.yaml");
  EXPECT_EQ(report.checked.back().location.file, "connect-group-id.yaml");
}

TEST(CheckReport, ConnectorsFromSeveralFilesAreJudgedTogether) {
  // stock-v2-cdc takes the id stock-cdc released; stock-cdc is back with it in another file.
  const CheckReport report =
      check_manifests(load({"server-id-own-decommissioned-entry.yaml", "server-id-embargoed.yaml"}),
                      base_registry(), at("2026-04-01T12:00:00Z"));
  std::vector<std::pair<std::string, std::string>> got;
  for (const auto& v : report.violations) got.emplace_back(v.subject, v.rule);
  const std::vector<std::pair<std::string, std::string>> want = {
      {"warehouse/stock-v2-cdc", std::string(rule::kServerIdDuplicate)},
      {"warehouse/stock-v2-cdc", std::string(rule::kServerIdEmbargoed)},
      {"warehouse/stock-cdc", std::string(rule::kServerIdDuplicate)},
  };
  EXPECT_EQ(got, want);  // sorted by file, then line, then rule
  ASSERT_EQ(report.violations.size(), 3U);
  EXPECT_EQ(report.violations[0].location.file, "server-id-embargoed.yaml");
  EXPECT_NE(
      report.violations[0].message.find("warehouse/stock-cdc (server-id-own-decommissioned-entry.yaml:2)"),
      std::string::npos)
      << report.violations[0].message;
  EXPECT_EQ(report.violations[2].location.file, "server-id-own-decommissioned-entry.yaml");
  EXPECT_NE(report.violations[2].message.find("warehouse/stock-v2-cdc (server-id-embargoed.yaml:2)"),
            std::string::npos)
      << report.violations[2].message;
  // Both sit on one binlog: the fix points at the team's next free id past both.
  EXPECT_NE(report.violations[2].message.find("next free id for team-b: 184102"), std::string::npos)
      << report.violations[2].message;
}

TEST(CheckReport, AnEmptySetIsClean) {
  const CheckReport report = check_manifests(ManifestSet{}, base_registry(), at("2026-04-01T12:00:00Z"));
  EXPECT_TRUE(report.violations.empty());
  EXPECT_TRUE(report.input_errors.empty());
  EXPECT_EQ(report.summary.connectors, 0U);
  EXPECT_FALSE(report.has_errors());
}

}  // namespace
}  // namespace cdcguard
