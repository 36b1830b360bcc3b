// ServerIdAllocator::next_for: the lowest id of the connector's team range (else
// the registry range) that no connector, live entry, reservation or embargo holds.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "cdcguard/model/registry_parser.hpp"
#include "cdcguard/policy/connector_index.hpp"
#include "cdcguard/policy/registry_index.hpp"
#include "cdcguard/policy/server_id_allocator.hpp"

namespace cdcguard {
namespace {

// Ten ids in all; team-a holds the first five. team-open has no range of its own.
constexpr std::string_view kRegistryHead = R"(
rules:
  range: {from: 184000, to: 184009}
  embargoDays: 30
teams:
  - {name: team-a, namespaces: [ecommerce], range: {from: 184000, to: 184004}}
  - {name: team-open, namespaces: [shared]}
)";

constexpr std::string_view kNow = "2026-04-01T12:00:00Z";

struct ManifestConnector {
  std::string_view key = {};
  std::string_view server_id = {};
  std::string_view connector_class = "io.debezium.connector.mysql.MySqlConnector";
};

struct AllocatorCase {
  std::string_view name = {};
  std::string_view registry_tail = {};  // reserved:/entries: appended to kRegistryHead
  std::vector<ManifestConnector> connectors = {};
  std::string_view namespace_name = "ecommerce";
  std::string_view connector = {};  // namespace/name asking, or "" for any new connector
  std::string_view now = kNow;
  std::optional<std::uint32_t> id = {};
  std::string_view pool = "team-a";
  std::string_view range = "184000-184004";
  std::string_view error_has = {};
};

void PrintTo(const AllocatorCase& c, std::ostream* os) {
  *os << c.name;
}

ConnectorFacts facts(const ManifestConnector& m) {
  ConnectorFacts f;
  const auto slash = m.key.find('/');
  f.namespace_name = std::string(m.key.substr(0, slash));
  f.name = std::string(m.key.substr(slash + 1));
  f.connector_class = std::string(m.connector_class);
  f.server_id = parse_server_id(m.server_id, !m.server_id.empty());
  return f;
}

TimePoint at(std::string_view rfc3339) {
  return parse_timestamp(rfc3339).value();
}

const std::vector<AllocatorCase>& cases() {
  static const std::vector<AllocatorCase> all = {
      {.name = "lowest-id-of-the-team-range", .id = 184000},
      {.name = "namespace-without-team-uses-the-registry-range",
       .namespace_name = "analytics",
       .id = 184000,
       .pool = "the registry range",
       .range = "184000-184009"},
      {.name = "team-without-range-uses-the-registry-range",
       .namespace_name = "shared",
       .id = 184000,
       .pool = "team-open",
       .range = "184000-184009"},
      {.name = "skips-ids-of-connectors-in-any-namespace",
       .connectors = {{.key = "ecommerce/a-cdc", .server_id = "184000"},
                      {.key = "warehouse/b-cdc", .server_id = "184001"}},
       .id = 184002},
      {.name = "a-postgres-connector-holds-no-server-id",
       .connectors = {{.key = "ecommerce/pg-cdc",
                       .server_id = "184000",
                       .connector_class = "io.debezium.connector.postgresql.PostgresConnector"}},
       .id = 184000},
      {.name = "skips-an-active-entry",
       .registry_tail = "entries:\n"
                        "  - {connector: ecommerce/a-cdc, serverId: 184000, status: Active}\n",
       .id = 184001},
      {.name = "skips-a-reserved-entry",
       .registry_tail = "entries:\n"
                        "  - {connector: ecommerce/a-cdc, serverId: 184000, status: Reserved}\n",
       .id = 184001},
      {.name = "skips-a-live-pending-claim",
       .registry_tail = "entries:\n"
                        "  - {connector: ecommerce/a-cdc, serverId: 184000, status: Pending, "
                        "expiresAt: 2026-04-01T12:05:00Z}\n",
       .id = 184001},
      {.name = "an-expired-pending-claim-is-free",
       .registry_tail = "entries:\n"
                        "  - {connector: ecommerce/a-cdc, serverId: 184000, status: Pending, "
                        "expiresAt: 2026-04-01T11:00:00Z}\n",
       .id = 184000},
      {.name = "skips-a-reservation",
       .registry_tail = "reserved:\n"
                        "  - {serverId: 184000, reason: primary}\n",
       .id = 184001},
      {.name = "skips-an-id-under-embargo-on-its-last-second",
       .registry_tail = "entries:\n"
                        "  - {connector: ecommerce/a-cdc, serverId: 184000, status: Decommissioned, "
                        "decommissionedAt: 2026-03-10}\n",
       .now = "2026-04-08T23:59:59Z",
       .id = 184001},
      {.name = "an-id-whose-embargo-ended-is-free",
       .registry_tail = "entries:\n"
                        "  - {connector: ecommerce/a-cdc, serverId: 184000, status: Decommissioned, "
                        "decommissionedAt: 2026-03-10}\n",
       .now = "2026-04-09T00:00:00Z",
       .id = 184000},
      {.name = "skips-every-kind-of-holder-at-once",
       .registry_tail = "reserved:\n"
                        "  - {serverId: 184002, reason: primary}\n"
                        "entries:\n"
                        "  - {connector: ecommerce/b-cdc, serverId: 184001, status: Active}\n"
                        "  - {connector: ecommerce/c-cdc, serverId: 184003, status: Decommissioned, "
                        "decommissionedAt: 2026-03-20}\n",
       .connectors = {{.key = "ecommerce/a-cdc", .server_id = "184000"}},
       .id = 184004},
      {.name = "returns-the-live-entry-a-connector-already-holds",
       .registry_tail = "entries:\n"
                        "  - {connector: ecommerce/x-cdc, serverId: 184003, status: Active}\n",
       .connector = "ecommerce/x-cdc",
       .id = 184003},
      {.name = "returns-the-pending-claim-a-connector-already-holds",
       .registry_tail = "entries:\n"
                        "  - {connector: ecommerce/x-cdc, serverId: 184002, status: Pending, "
                        "expiresAt: 2026-04-01T12:05:00Z}\n",
       .connector = "ecommerce/x-cdc",
       .id = 184002},
      {.name = "another-connector-does-not-get-that-claim",
       .registry_tail = "entries:\n"
                        "  - {connector: ecommerce/x-cdc, serverId: 184000, status: Pending, "
                        "expiresAt: 2026-04-01T12:05:00Z}\n",
       .connector = "ecommerce/y-cdc",
       .id = 184001},
      {.name = "an-expired-own-claim-is-not-returned",
       .registry_tail = "entries:\n"
                        "  - {connector: ecommerce/x-cdc, serverId: 184003, status: Pending, "
                        "expiresAt: 2026-04-01T11:00:00Z}\n",
       .connector = "ecommerce/x-cdc",
       .id = 184000},
      {.name = "an-own-entry-outside-the-team-range-is-not-returned",
       .registry_tail = "entries:\n"
                        "  - {connector: ecommerce/x-cdc, serverId: 184008, status: Active}\n",
       .connector = "ecommerce/x-cdc",
       .id = 184000},
      {.name = "a-connector-may-take-the-id-it-runs-with",
       .connectors = {{.key = "ecommerce/x-cdc", .server_id = "184000"}},
       .connector = "ecommerce/x-cdc",
       .id = 184000},
      {.name = "a-connector-is-not-embargoed-by-its-own-release",
       .registry_tail = "entries:\n"
                        "  - {connector: ecommerce/x-cdc, serverId: 184000, status: Decommissioned, "
                        "decommissionedAt: 2026-03-20}\n",
       .connector = "ecommerce/x-cdc",
       .id = 184000},
      {.name = "exhausted-team-range",
       .registry_tail = "reserved:\n"
                        "  - {serverId: 184000, reason: primary}\n"
                        "entries:\n"
                        "  - {connector: ecommerce/a-cdc, serverId: 184001, status: Active}\n"
                        "  - {connector: ecommerce/b-cdc, serverId: 184002, status: Reserved}\n"
                        "  - {connector: ecommerce/c-cdc, serverId: 184003, status: Decommissioned, "
                        "decommissionedAt: 2026-03-20}\n",
       .connectors = {{.key = "ecommerce/d-cdc", .server_id = "184004"}},
       .error_has = "no free server id left in team team-a's range 184000-184004"},
      {.name = "exhausted-team-range-does-not-spill-into-the-registry-range",
       .registry_tail = "reserved:\n"
                        "  - {serverId: 184000}\n"
                        "  - {serverId: 184001}\n"
                        "  - {serverId: 184002}\n"
                        "  - {serverId: 184003}\n"
                        "  - {serverId: 184004}\n",
       .connector = "ecommerce/new-cdc",
       .error_has = "team-a's range 184000-184004"},
      {.name = "exhausted-registry-range",
       .registry_tail = "reserved:\n"
                        "  - {serverId: 184000}\n  - {serverId: 184001}\n  - {serverId: 184002}\n"
                        "  - {serverId: 184003}\n  - {serverId: 184004}\n  - {serverId: 184005}\n"
                        "  - {serverId: 184006}\n  - {serverId: 184007}\n  - {serverId: 184008}\n",
       .connectors = {{.key = "other/z-cdc", .server_id = "184009"}},
       .namespace_name = "analytics",
       .pool = "the registry range",
       .range = "184000-184009",
       .error_has = "no free server id left in the range 184000-184009"},
  };
  return all;
}

class AllocatorNextFor : public ::testing::TestWithParam<AllocatorCase> {};

TEST_P(AllocatorNextFor, PicksTheLowestFreeId) {
  const AllocatorCase& c = GetParam();
  const Registry registry =
      parse_registry(std::string(kRegistryHead) + std::string(c.registry_tail), std::string(c.name));
  const RegistryIndex registry_index(registry);
  ConnectorIndex connectors;
  for (const auto& m : c.connectors) connectors.upsert(facts(m));
  const ServerIdAllocator allocator(registry_index, connectors, at(c.now));

  const Allocation a = allocator.next_for(c.namespace_name, c.connector);
  EXPECT_EQ(a.id, c.id);
  EXPECT_EQ(a.pool, c.pool);
  EXPECT_EQ(a.range.str(), c.range);
  if (c.id) {
    EXPECT_EQ(a.error, "");
    EXPECT_TRUE(allocator.is_free(*a.id, c.connector)) << "next_for returned an id is_free refuses";
  } else {
    EXPECT_NE(a.error.find(c.error_has), std::string::npos) << a.error;
  }
  // Asking twice gives the same answer: the allocator reads, it never reserves.
  EXPECT_EQ(allocator.next_for(c.namespace_name, c.connector).id, a.id);
}

std::string case_name(const ::testing::TestParamInfo<AllocatorCase>& info) {
  std::string name(info.param.name);
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(Allocator, AllocatorNextFor, ::testing::ValuesIn(cases()), case_name);

TEST(AllocatorIsFree, TellsWhoMayTakeAnId) {
  const Registry registry =
      parse_registry(std::string(kRegistryHead) +
                         "reserved:\n"
                         "  - {serverId: 184009, reason: primary}\n"
                         "entries:\n"
                         "  - {connector: ecommerce/a-cdc, serverId: 184001, status: Active}\n"
                         "  - {connector: ecommerce/b-cdc, serverId: 184002, status: "
                         "Decommissioned, decommissionedAt: 2026-03-20}\n",
                     "is-free");
  const RegistryIndex registry_index(registry);
  ConnectorIndex connectors;
  connectors.upsert(facts({.key = "ecommerce/c-cdc", .server_id = "184003"}));
  const ServerIdAllocator allocator(registry_index, connectors, at(kNow));

  EXPECT_TRUE(allocator.is_free(184000, "ecommerce/new-cdc"));
  EXPECT_TRUE(allocator.is_free(184001, "ecommerce/a-cdc"));     // its own entry
  EXPECT_FALSE(allocator.is_free(184001, "ecommerce/new-cdc"));  // somebody else's entry
  EXPECT_TRUE(allocator.is_free(184002, "ecommerce/b-cdc"));     // its own release
  EXPECT_FALSE(allocator.is_free(184002, "ecommerce/new-cdc"));  // embargoed
  EXPECT_TRUE(allocator.is_free(184003, "ecommerce/c-cdc"));     // the id it runs with
  EXPECT_FALSE(allocator.is_free(184003, "ecommerce/new-cdc"));  // another connector's
  EXPECT_FALSE(allocator.is_free(184009, "ecommerce/a-cdc"));    // reserved for everyone
}

}  // namespace
}  // namespace cdcguard
