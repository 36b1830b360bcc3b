// A Pending claim becomes Active when its connector is seen in the cluster
// with the claimed id; nothing else confirms it.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cdcguard/model/registry_parser.hpp"
#include "cdcguard/policy/claim_confirmation.hpp"
#include "support/fixtures.hpp"

namespace cdcguard {
namespace {

const TimePoint kNow = *parse_timestamp("2026-11-25T10:00:00Z");

struct SeenConnector {
  std::string key;
  std::string server_id;
  std::string connector_class = std::string(kMySqlConnectorClass);
};

struct ConfirmCase {
  const char* name;
  std::string entry;  // one registry entry, flow map
  std::vector<SeenConnector> cluster;
  EntryStatus expected;
};

ConnectorIndex cluster_of(const std::vector<SeenConnector>& seen) {
  ConnectorIndex index;
  for (const auto& s : seen) {
    ConnectorFacts f;
    f.namespace_name = s.key.substr(0, s.key.find('/'));
    f.name = s.key.substr(s.key.find('/') + 1);
    f.connector_class = s.connector_class;
    f.server_id = parse_server_id(s.server_id, !s.server_id.empty());
    index.upsert(f);
  }
  return index;
}

class ClaimConfirmation : public testing::TestWithParam<ConfirmCase> {};

TEST_P(ClaimConfirmation, OnlyASightingWithTheClaimedIdConfirms) {
  const auto& c = GetParam();
  Registry r = parse_registry("rules:\n  range: {from: 184000, to: 184999}\nentries:\n  - " + c.entry + "\n",
                              "r.yaml");
  const ConnectorIndex cluster = cluster_of(c.cluster);
  const std::size_t expected_changes = c.expected == r.entries[0].status ? 0 : 1;
  EXPECT_EQ(confirmable_claims(r, cluster, kNow), expected_changes);
  EXPECT_EQ(confirm_claims(r, cluster, kNow), expected_changes);
  EXPECT_EQ(r.entries[0].status, c.expected);
  if (c.expected == EntryStatus::Active) {
    EXPECT_EQ(r.entries[0].claim_uid, "");
    EXPECT_FALSE(r.entries[0].expires_at.has_value());
  }
}

const std::string kPending =
    "{connector: ecommerce/orders-cdc, serverId: 184001, status: Pending, claimUid: u1, expiresAt: "
    "2026-11-25T10:05:00Z}";

INSTANTIATE_TEST_SUITE_P(
    Claims, ClaimConfirmation,
    testing::Values(
        ConfirmCase{"seen_with_the_id", kPending, {{"ecommerce/orders-cdc", "184001"}}, EntryStatus::Active},
        ConfirmCase{"seen_with_the_id_as_mariadb",
                    kPending,
                    {{"ecommerce/orders-cdc", "184001", std::string(kMariaDbConnectorClass)}},
                    EntryStatus::Active},
        ConfirmCase{"not_seen", kPending, {}, EntryStatus::Pending},
        ConfirmCase{"another_connector_has_the_id",
                    kPending,
                    {{"ecommerce/other-cdc", "184001"}},
                    EntryStatus::Pending},
        ConfirmCase{
            "seen_with_another_id", kPending, {{"ecommerce/orders-cdc", "184002"}}, EntryStatus::Pending},
        ConfirmCase{"seen_without_an_id", kPending, {{"ecommerce/orders-cdc", ""}}, EntryStatus::Pending},
        ConfirmCase{
            "seen_as_a_non_binlog_class",
            kPending,
            {{"ecommerce/orders-cdc", "184001", "io.debezium.connector.postgresql.PostgresConnector"}},
            EntryStatus::Pending},
        ConfirmCase{
            "lapsed_claim",
            "{connector: ecommerce/orders-cdc, serverId: 184001, status: Pending, claimUid: u1, expiresAt: "
            "2026-11-25T09:59:59Z}",
            {{"ecommerce/orders-cdc", "184001"}},
            EntryStatus::Pending},
        ConfirmCase{"already_active",
                    "{connector: ecommerce/orders-cdc, serverId: 184001, status: Active}",
                    {{"ecommerce/orders-cdc", "184001"}},
                    EntryStatus::Active},
        ConfirmCase{"reserved_stays_reserved",
                    "{connector: ecommerce/orders-cdc, serverId: 184001, status: Reserved}",
                    {{"ecommerce/orders-cdc", "184001"}},
                    EntryStatus::Reserved}),
    testing_support::ScenarioName());

}  // namespace
}  // namespace cdcguard
