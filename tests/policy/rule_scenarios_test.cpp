// Every rule of DESIGN.md, driven the way `cdc-guard check` drives it:
// parse_manifests() -> parse_registry() -> check_manifests(). Each scenario is a
// real YAML file under tests/fixtures/rules/manifests/ checked against a registry
// under tests/fixtures/rules/registries/, and lists the exact set of violations it
// must produce: a scenario that expects none proves the rule stays silent.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <fstream>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "cdcguard/model/manifest.hpp"
#include "cdcguard/model/registry_parser.hpp"
#include "cdcguard/model/rule_ids.hpp"
#include "cdcguard/model/time.hpp"
#include "cdcguard/policy/check.hpp"

#include "support/fixtures.hpp"

namespace cdcguard {
namespace {

namespace r = rule;

const std::string kRulesFixtures = std::string(CDCGUARD_FIXTURES) + "/rules/";

// registries/registry.yaml at this time: see the comment at its top.
constexpr std::string_view kNow = "2026-04-01T12:00:00Z";
constexpr std::string_view kNextTeamA = "next free id for team-a: 184004";
constexpr std::string_view kNextTeamB = "next free id for team-b: 184102";
constexpr std::string_view kNextGlobal = "next free id in 184000-184999: 184000";

constexpr std::string_view kServerIdPath = "spec.config.database.server.id";
constexpr std::string_view kPrefixPath = "spec.config.topic.prefix";
constexpr std::string_view kHistoryPath = "spec.config.schema.history.internal.kafka.topic";

struct Expected {
  std::string_view rule = {};
  std::string_view subject = {};  // namespace/name
  std::string_view path = {};
  Action action = Action::Deny;
  std::vector<std::string_view> message_has = {};  // the other party, the fix, ...
  std::string_view other = {};                     // Violation::other, when set
  bool at_object = false;  // points at the object (the field is absent) rather than the field's line
};

struct Scenario {
  std::string_view name = {};
  std::string_view manifests = {};              // under rules/manifests/
  std::string_view registry = "registry.yaml";  // under rules/registries/
  std::string_view now = kNow;
  std::vector<Expected> expected = {};
  std::size_t exempted = 0;
};

void PrintTo(const Scenario& s, std::ostream* os) {
  *os << s.name;
}

const std::vector<Scenario>& scenarios() {
  static const std::vector<Scenario> all = {
      // --- nothing to report --------------------------------------------------
      {.name = "all-clear-own-entries-are-not-duplicates", .manifests = "all-clear.yaml"},

      // --- server-id-missing ---------------------------------------------------
      {.name = "server-id-missing",
       .manifests = "server-id-missing.yaml",
       .expected =
           {
               {.rule = r::kServerIdMissing,
                .subject = "ecommerce/new-cdc",
                .path = kServerIdPath,
                .message_has = {"has no database.server.id", kNextTeamA},
                .at_object = true},
               {.rule = r::kServerIdMissing,
                .subject = "ecommerce/auto-cdc",
                .path = kServerIdPath,
                .message_has = {"\"auto\"", "rules.autoAssign", kNextTeamA}},
           }},
      {.name = "server-id-missing-with-auto-assign",
       .manifests = "server-id-missing.yaml",
       .registry = "auto-assign.yaml"},

      // --- server-id-invalid ---------------------------------------------------
      {.name = "server-id-invalid",
       .manifests = "server-id-invalid.yaml",
       .expected =
           {
               {.rule = r::kServerIdInvalid,
                .subject = "ecommerce/zero-cdc",
                .path = kServerIdPath,
                .message_has = {"database.server.id \"0\"", "1..4294967295", kNextTeamA}},
               {.rule = r::kServerIdInvalid,
                .subject = "ecommerce/too-big-cdc",
                .path = kServerIdPath,
                .message_has = {"database.server.id \"4294967296\"", kNextTeamA}},
               {.rule = r::kServerIdInvalid,
                .subject = "ecommerce/negative-cdc",
                .path = kServerIdPath,
                .message_has = {"\"-184004\"", kNextTeamA}},
               {.rule = r::kServerIdInvalid,
                .subject = "ecommerce/typo-cdc",
                .path = kServerIdPath,
                .message_has = {"\"184OO4\"", kNextTeamA}},
               {.rule = r::kServerIdInvalid,
                .subject = "ecommerce/float-cdc",
                .path = kServerIdPath,
                .message_has = {"\"184004.0\"", kNextTeamA}},
           }},

      // --- server-id-out-of-range, server-id-outside-team-range ---------------------
      {.name = "server-id-out-of-range",
       .manifests = "server-id-out-of-range.yaml",
       .expected =
           {
               {.rule = r::kServerIdOutOfRange,
                .subject = "analytics/max-id-cdc",
                .path = kServerIdPath,
                .message_has = {"server.id 4294967295 is outside the registry range 184000-184999",
                                kNextGlobal}},
               {.rule = r::kServerIdOutOfRange,
                .subject = "ecommerce/legacy-random-cdc",
                .path = kServerIdPath,
                .message_has = {"server.id 5400 is outside the registry range 184000-184999", kNextTeamA}},
               {.rule = r::kServerIdOutsideTeamRange,
                .subject = "ecommerce/legacy-random-cdc",
                .path = kServerIdPath,
                .message_has = {"server.id 5400", "team team-a's range 184001-184099", kNextTeamA}},
           }},
      {.name = "server-id-outside-team-range",
       .manifests = "server-id-outside-team-range.yaml",
       .expected =
           {
               {.rule = r::kServerIdOutsideTeamRange,
                .subject = "ecommerce/misplaced-cdc",
                .path = kServerIdPath,
                .message_has = {"server.id 184150 is outside team team-a's range 184001-184099",
                                "namespace ecommerce", kNextTeamA}},
           }},

      // --- server-id-unresolvable -------------------------------------------------
      {.name = "server-id-placeholder-denied",
       .manifests = "server-id-unresolvable.yaml",
       .expected =
           {
               {.rule = r::kServerIdUnresolvable,
                .subject = "ecommerce/secret-cdc",
                .path = kServerIdPath,
                .message_has = {"\"${secrets:ecommerce/mysql-ids:secret-cdc}\"", "rules.allowPlaceholders",
                                kNextTeamA}},
           }},
      {.name = "server-id-placeholder-allowed-is-a-warning",
       .manifests = "server-id-unresolvable.yaml",
       .registry = "allow-placeholders.yaml",
       .expected =
           {
               {.rule = r::kServerIdUnresolvable,
                .subject = "ecommerce/secret-cdc",
                .path = kServerIdPath,
                .action = Action::Warn,
                .message_has = {"${secrets:ecommerce/mysql-ids:secret-cdc}",
                                "next free id for team-a: 184002"}},
           }},

      // --- server-id-reserved --------------------------------------------------
      {.name = "server-id-reserved",
       .manifests = "server-id-reserved.yaml",
       .expected =
           {
               {.rule = r::kServerIdReserved,
                .subject = "analytics/primary-clash-cdc",
                .path = kServerIdPath,
                .message_has = {"server.id 184999 is reserved (MySQL primary server_id)", kNextGlobal}},
           }},

      // --- server-id-duplicate -------------------------------------------------
      {.name = "server-id-held-by-active-entry",
       .manifests = "server-id-held-by-active-entry.yaml",
       .expected =
           {
               {.rule = r::kServerIdDuplicate,
                .subject = "ecommerce/orders-v2-cdc",
                .path = kServerIdPath,
                .message_has = {"server.id 184001 is held by ecommerce/orders-cdc (Active since 2026-01-15)",
                                kNextTeamA},
                .other = "ecommerce/orders-cdc"},
           }},
      {.name = "server-id-held-by-reserved-entry",
       .manifests = "server-id-held-by-reserved-entry.yaml",
       .expected =
           {
               {.rule = r::kServerIdDuplicate,
                .subject = "ecommerce/customers-v2-cdc",
                .path = kServerIdPath,
                .message_has = {"held by ecommerce/customers-cdc (Reserved since 2026-03-20)", kNextTeamA},
                .other = "ecommerce/customers-cdc"},
           }},
      {.name = "server-id-held-by-live-pending-claim",
       .manifests = "server-id-held-by-pending-claim.yaml",
       .expected =
           {
               {.rule = r::kServerIdDuplicate,
                .subject = "ecommerce/returns-v2-cdc",
                .path = kServerIdPath,
                .message_has = {"held by ecommerce/returns-cdc (Pending claim until 2026-04-01T12:05:00Z)",
                                kNextTeamA},
                .other = "ecommerce/returns-cdc"},
           }},
      {.name = "server-id-pending-claim-after-its-expiry",
       .manifests = "server-id-held-by-pending-claim.yaml",
       .now = "2026-04-01T12:06:00Z"},
      {.name = "server-id-expired-claim-is-free", .manifests = "server-id-expired-claim.yaml"},
      {.name = "server-id-duplicate-in-manifests-names-each-other",
       .manifests = "server-id-duplicate-in-manifests.yaml",
       .expected =
           {
               {.rule = r::kServerIdDuplicate,
                .subject = "analytics/clicks-cdc",
                .path = kServerIdPath,
                .message_has = {"server.id 184500 is held by analytics/views-cdc "
                                "(server-id-duplicate-in-manifests.yaml:",
                                kNextGlobal},
                .other = "analytics/views-cdc"},
               {.rule = r::kServerIdDuplicate,
                .subject = "analytics/views-cdc",
                .path = kServerIdPath,
                .message_has = {"server.id 184500 is held by analytics/clicks-cdc "
                                "(server-id-duplicate-in-manifests.yaml:",
                                kNextGlobal},
                .other = "analytics/clicks-cdc"},
           }},
      {.name = "server-id-duplicate-many-names-three-and-counts-the-rest",
       .manifests = "server-id-duplicate-many.yaml",
       .expected =
           {
               {.rule = r::kServerIdDuplicate,
                .subject = "analytics/a-cdc",
                .path = kServerIdPath,
                .message_has = {"held by analytics/b-cdc (", "), analytics/c-cdc (", "), analytics/d-cdc (",
                                ") and 1 more:", kNextGlobal},
                .other = "analytics/b-cdc"},
               {.rule = r::kServerIdDuplicate,
                .subject = "analytics/b-cdc",
                .path = kServerIdPath,
                .message_has = {"held by analytics/a-cdc (", "analytics/d-cdc (", ") and 1 more:"},
                .other = "analytics/a-cdc"},
               {.rule = r::kServerIdDuplicate,
                .subject = "analytics/c-cdc",
                .path = kServerIdPath,
                .message_has = {"held by analytics/a-cdc (", ") and 1 more:"},
                .other = "analytics/a-cdc"},
               {.rule = r::kServerIdDuplicate,
                .subject = "analytics/d-cdc",
                .path = kServerIdPath,
                .message_has = {"held by analytics/a-cdc (", ") and 1 more:"},
                .other = "analytics/a-cdc"},
               {.rule = r::kServerIdDuplicate,
                .subject = "analytics/e-cdc",
                .path = kServerIdPath,
                .message_has = {"held by analytics/a-cdc (", "analytics/c-cdc (", ") and 1 more:"},
                .other = "analytics/a-cdc"},
           }},
      {.name = "server-id-duplicate-registered-owner-keeps-its-id",
       .manifests = "server-id-duplicate-registered-owner.yaml",
       .expected =
           {
               {.rule = r::kServerIdDuplicate,
                .subject = "ecommerce/orders-copy-cdc",
                .path = kServerIdPath,
                .message_has = {"held by ecommerce/orders-cdc (Active since 2026-01-15)", kNextTeamA},
                .other = "ecommerce/orders-cdc"},
           }},

      // --- server-id-embargoed -------------------------------------------------
      {.name = "server-id-embargoed-on-the-last-day",
       .manifests = "server-id-embargoed.yaml",
       .now = "2026-04-08T12:00:00Z",
       .expected =
           {
               {.rule = r::kServerIdEmbargoed,
                .subject = "warehouse/stock-v2-cdc",
                .path = kServerIdPath,
                .message_has = {"server.id 184101 was released by warehouse/stock-cdc on 2026-03-10",
                                "rests for 30 days", "reusable from 2026-04-09", kNextTeamB},
                .other = "warehouse/stock-cdc"},
           }},
      {.name = "server-id-embargoed-on-the-last-second",
       .manifests = "server-id-embargoed.yaml",
       .now = "2026-04-08T23:59:59Z",
       .expected =
           {
               {.rule = r::kServerIdEmbargoed,
                .subject = "warehouse/stock-v2-cdc",
                .path = kServerIdPath,
                .message_has = {"warehouse/stock-cdc", kNextTeamB},
                .other = "warehouse/stock-cdc"},
           }},
      {.name = "server-id-embargo-over",
       .manifests = "server-id-embargoed.yaml",
       .now = "2026-04-09T00:00:00Z"},
      {.name = "server-id-own-decommissioned-entry-does-not-embargo",
       .manifests = "server-id-own-decommissioned-entry.yaml"},

      // --- server-id-unregistered ----------------------------------------------
      {.name = "server-id-unregistered",
       .manifests = "server-id-unregistered.yaml",
       .registry = "require-registration.yaml",
       .expected =
           {
               // Nothing else objects to 184004, so the fix is to register it.
               {.rule = r::kServerIdUnregistered,
                .subject = "ecommerce/new-cdc",
                .path = kServerIdPath,
                .message_has = {"server.id 184004 is not registered to ecommerce/new-cdc",
                                "add {connector: ecommerce/new-cdc, serverId: 184004, status: Reserved}"}},
               {.rule = r::kServerIdUnregistered,
                .subject = "ecommerce/payments-cdc",
                .path = kServerIdPath,
                .message_has = {"server.id 184007 is not registered to ecommerce/payments-cdc",
                                "the registry gives it 184002", "use its registered id 184002"}},
           }},
      {.name = "server-id-unregistered-and-taken-suggests-a-free-id",
       .manifests = "server-id-held-by-active-entry.yaml",
       .registry = "require-registration.yaml",
       .expected =
           {
               {.rule = r::kServerIdDuplicate,
                .subject = "ecommerce/orders-v2-cdc",
                .path = kServerIdPath,
                .message_has = {"held by ecommerce/orders-cdc (Active since 2026-01-15)", kNextTeamA},
                .other = "ecommerce/orders-cdc"},
               {.rule = r::kServerIdUnregistered,
                .subject = "ecommerce/orders-v2-cdc",
                .path = kServerIdPath,
                .message_has =
                    {"server.id 184001 is not registered to ecommerce/orders-v2-cdc",
                     "add {connector: ecommerce/orders-v2-cdc, serverId: 184004, status: Reserved}"}},
           }},
      {.name = "server-id-registered-connector-is-pointed-at-its-id",
       .manifests = "server-id-registered-connector-off-its-id.yaml",
       .expected =
           {
               {.rule = r::kServerIdReserved,
                .subject = "ecommerce/payments-cdc",
                .path = kServerIdPath,
                .message_has = {"server.id 184999 is reserved", "its registered id", "184002"}},
               {.rule = r::kServerIdOutsideTeamRange,
                .subject = "ecommerce/payments-cdc",
                .path = kServerIdPath,
                .message_has = {"team team-a's range 184001-184099", "its registered id", "184002"}},
           }},
      {.name = "server-id-unregistered-allowed-without-require-registration",
       .manifests = "server-id-unregistered.yaml"},

      // --- exhausted team range ------------------------------------------------
      {.name = "team-range-exhausted",
       .manifests = "team-range-exhausted.yaml",
       .registry = "exhausted-team.yaml",
       .expected =
           {
               {.rule = r::kServerIdMissing,
                .subject = "tiny/second-cdc",
                .path = kServerIdPath,
                .message_has = {"no free server id left in team team-c's range 184200-184201"},
                .at_object = true},
           }},

      // --- connector classes ---------------------------------------------------
      {.name = "mariadb-gets-server-id-and-history-rules",
       .manifests = "mariadb-server-id-rules.yaml",
       .expected =
           {
               {.rule = r::kServerIdDuplicate,
                .subject = "ecommerce/maria-orders-cdc",
                .path = kServerIdPath,
                .message_has = {"held by ecommerce/orders-cdc (Active since 2026-01-15)", kNextTeamA},
                .other = "ecommerce/orders-cdc"},
               {.rule = r::kServerIdMissing,
                .subject = "ecommerce/maria-noid-cdc",
                .path = kServerIdPath,
                .message_has = {kNextTeamA},
                .at_object = true},
               {.rule = r::kSchemaHistoryTopicMissing,
                .subject = "ecommerce/maria-noid-cdc",
                .path = kHistoryPath,
                .message_has = {"\"schema-history.maria-noid\""},
                .at_object = true},
           }},
      {.name = "postgres-gets-topic-rules-only",
       .manifests = "postgres-topic-rules-only.yaml",
       .expected =
           {
               {.rule = r::kTopicPrefixDuplicate,
                .subject = "inventory/pg-inventory-cdc",
                .path = kPrefixPath,
                .message_has = {"topic prefix \"shop\" is also used by analytics/shop-cdc",
                                "\"shop-pg-inventory-cdc\""},
                .other = "analytics/shop-cdc"},
               {.rule = r::kTopicPrefixDuplicate,
                .subject = "analytics/shop-cdc",
                .path = kPrefixPath,
                .message_has = {"topic prefix \"shop\" is also used by inventory/pg-inventory-cdc",
                                "\"shop-shop-cdc\""},
                .other = "inventory/pg-inventory-cdc"},
               {.rule = r::kTopicPrefixMissing,
                .subject = "inventory/pg-noprefix-cdc",
                .path = kPrefixPath,
                .message_has = {"\"inventory-pg-noprefix-cdc\""},
                .at_object = true},
           }},
      {.name = "non-debezium-classes-ignored", .manifests = "non-debezium-ignored.yaml"},

      // --- topic prefixes ------------------------------------------------------
      {.name = "topic-prefix-missing",
       .manifests = "topic-prefix-missing.yaml",
       .expected =
           {
               {.rule = r::kTopicPrefixMissing,
                .subject = "ecommerce/orders-cdc",
                .path = kPrefixPath,
                .message_has = {"no topic.prefix", "database.server.name", "\"ecommerce-orders-cdc\""},
                .at_object = true},
           }},
      {.name = "topic-prefix-duplicate",
       .manifests = "topic-prefix-duplicate.yaml",
       .expected =
           {
               {.rule = r::kTopicPrefixDuplicate,
                .subject = "analytics/clicks-cdc",
                .path = kPrefixPath,
                .message_has = {"topic prefix \"shop\" is also used by analytics/views-cdc",
                                "\"shop-clicks-cdc\""},
                .other = "analytics/views-cdc"},
               {.rule = r::kTopicPrefixDuplicate,
                .subject = "analytics/views-cdc",
                .path = kPrefixPath,
                .message_has = {"topic prefix \"shop\" is also used by analytics/clicks-cdc",
                                "\"shop-views-cdc\""},
                .other = "analytics/clicks-cdc"},
           }},
      {.name = "topic-prefix-overlap",
       .manifests = "topic-prefix-overlap.yaml",
       .expected =
           {
               {.rule = r::kTopicPrefixOverlap,
                .subject = "analytics/shop-cdc",
                .path = kPrefixPath,
                .message_has = {"topic prefix \"shop\" overlaps analytics/shop-orders-cdc",
                                "with prefix \"shop.orders\""},
                .other = "analytics/shop-orders-cdc"},
               {.rule = r::kTopicPrefixOverlap,
                .subject = "analytics/shop-orders-cdc",
                .path = kPrefixPath,
                .message_has = {"topic prefix \"shop.orders\" overlaps analytics/shop-cdc",
                                "with prefix \"shop\""},
                .other = "analytics/shop-cdc"},
           }},
      {.name = "topic-prefix-string-prefix-is-no-overlap",
       .manifests = "topic-prefix-string-prefix-only.yaml"},
      {.name = "topic-prefix-overlap-custom-delimiter",
       .manifests = "topic-prefix-overlap-custom-delimiter.yaml",
       .expected =
           {
               {.rule = r::kTopicPrefixOverlap,
                .subject = "analytics/shop-cdc",
                .path = kPrefixPath,
                .message_has = {"topic prefix \"shop\" overlaps analytics/shop-orders-cdc",
                                "with prefix \"shop_orders\""},
                .other = "analytics/shop-orders-cdc"},
               {.rule = r::kTopicPrefixOverlap,
                .subject = "analytics/shop-orders-cdc",
                .path = kPrefixPath,
                .message_has = {"topic prefix \"shop_orders\" overlaps analytics/shop-cdc"},
                .other = "analytics/shop-cdc"},
           }},
      // No overlap as written; but Kafka folds '.' and '_', so shop's topic shop_orders_<table>
      // and shop.orders' topics can still collide (issue 14).
      {.name = "topic-prefix-custom-delimiter-no-overlap",
       .manifests = "topic-prefix-custom-delimiter-no-overlap.yaml",
       .expected =
           {
               {.rule = r::kTopicNameCollision,
                .subject = "analytics/shop-cdc",
                .path = kPrefixPath,
                .message_has = {"Topic 'shop_orders' collides with existing topics: shop.orders"},
                .other = "analytics/shop-orders-cdc"},
               {.rule = r::kTopicNameCollision,
                .subject = "analytics/shop-orders-cdc",
                .path = kPrefixPath,
                .message_has = {"Topic 'shop.orders' collides with existing topics: shop_orders"},
                .other = "analytics/shop-cdc"},
           }},
      {.name = "debezium-1x-names",
       .manifests = "debezium-1x-names.yaml",
       .expected =
           {
               {.rule = r::kTopicPrefixDuplicate,
                .subject = "legacy/old-cdc",
                .path = "spec.config.database.server.name",
                .message_has = {"topic prefix \"legacy\" is also used by legacy/new-cdc"},
                .other = "legacy/new-cdc"},
               {.rule = r::kSchemaHistoryTopicShared,
                .subject = "legacy/old-cdc",
                .path = "spec.config.database.history.kafka.topic",
                .message_has = {"schema history topic \"dbhistory.legacy\" is also used by legacy/new-cdc"},
                .other = "legacy/new-cdc"},
               {.rule = r::kTopicPrefixDuplicate,
                .subject = "legacy/new-cdc",
                .path = kPrefixPath,
                .message_has = {"topic prefix \"legacy\" is also used by legacy/old-cdc"},
                .other = "legacy/old-cdc"},
               {.rule = r::kSchemaHistoryTopicShared,
                .subject = "legacy/new-cdc",
                .path = kHistoryPath,
                .message_has = {"schema history topic \"dbhistory.legacy\" is also used by legacy/old-cdc"},
                .other = "legacy/old-cdc"},
           }},

      // --- schema history topics -----------------------------------------------
      {.name = "schema-history-topic-missing",
       .manifests = "schema-history-topic-missing.yaml",
       .expected =
           {
               {.rule = r::kSchemaHistoryTopicMissing,
                .subject = "ecommerce/orders-cdc",
                .path = kHistoryPath,
                .message_has = {"schema.history.internal.kafka.topic", "database.history.kafka.topic",
                                "\"schema-history.ecommerce\""},
                .at_object = true},
               {.rule = r::kSchemaHistoryTopicMissing,
                .subject = "analytics/explicit-kafka-history-cdc",
                .path = kHistoryPath,
                .message_has = {"\"schema-history.explicit-kafka-history\""},
                .at_object = true},
           }},
      {.name = "schema-history-topic-filled-from-template",
       .manifests = "schema-history-topic-missing.yaml",
       .registry = "history-template.yaml"},
      // A file-backed schema history never reads schema.history.internal.kafka.topic:
      // a leftover key is neither shared with nor colliding with anyone.
      {.name = "schema-history-file-backed-connector-uses-no-topic",
       .manifests = "schema-history-file-backed-uses-no-topic.yaml"},
      {.name = "schema-history-topic-shared",
       .manifests = "schema-history-topic-shared.yaml",
       .expected =
           {
               {.rule = r::kSchemaHistoryTopicShared,
                .subject = "analytics/a-cdc",
                .path = kHistoryPath,
                .message_has =
                    {"schema history topic \"schema-history.shared\" is also used by analytics/b-cdc"},
                .other = "analytics/b-cdc"},
               {.rule = r::kSchemaHistoryTopicShared,
                .subject = "analytics/b-cdc",
                .path = kHistoryPath,
                .message_has =
                    {"schema history topic \"schema-history.shared\" is also used by analytics/a-cdc"},
                .other = "analytics/a-cdc"},
           }},
      {.name = "schema-history-topic-shared-with-template-filled-topic",
       .manifests = "schema-history-topic-shared-with-template.yaml",
       .registry = "history-template.yaml",
       .expected =
           {
               {.rule = r::kSchemaHistoryTopicShared,
                .subject = "analytics/shop-cdc",
                .path = kHistoryPath,
                .message_has = {"\"schema-history.shop\" (filled from rules.schemaHistoryTopicTemplate) is "
                                "also used by analytics/other-cdc"},
                .other = "analytics/other-cdc",
                .at_object = true},
               {.rule = r::kSchemaHistoryTopicShared,
                .subject = "analytics/other-cdc",
                .path = kHistoryPath,
                .message_has = {"\"schema-history.shop\" is also used by analytics/shop-cdc"},
                .other = "analytics/shop-cdc"},
           }},
      {.name = "schema-history-topic-collides",
       .manifests = "schema-history-topic-collides.yaml",
       .expected =
           {
               {.rule = r::kSchemaHistoryTopicCollides,
                .subject = "analytics/own-cdc",
                .path = kHistoryPath,
                .message_has = {"\"own.history\" lies inside the data-topic namespace of this connector's "
                                "own prefix \"own\"",
                                "\"schema-history.own\""},
                .other = "analytics/own-cdc"},
               {.rule = r::kSchemaHistoryTopicCollides,
                .subject = "analytics/same-cdc",
                .path = kHistoryPath,
                .message_has = {"\"same\" lies inside the data-topic namespace of this connector's own "
                                "prefix \"same\""},
                .other = "analytics/same-cdc"},
               {.rule = r::kSchemaHistoryTopicCollides,
                .subject = "analytics/equal-cdc",
                .path = kHistoryPath,
                .message_has =
                    {"\"inventory\" lies inside the data-topic namespace of analytics/inventory-cdc",
                     "with prefix \"inventory\""},
                .other = "analytics/inventory-cdc"},
               {.rule = r::kSchemaHistoryTopicCollides,
                .subject = "analytics/inside-cdc",
                .path = kHistoryPath,
                .message_has = {"\"inventory.schema-changes\" lies inside the data-topic namespace of "
                                "analytics/inventory-cdc"},
                .other = "analytics/inventory-cdc"},
           }},
      {.name = "schema-history-topic-template-inside-own-prefix",
       .manifests = "schema-history-topic-template-inside-prefix.yaml",
       .registry = "history-template-inside-prefix.yaml",
       .expected =
           {
               {.rule = r::kSchemaHistoryTopicCollides,
                .subject = "analytics/shop-cdc",
                .path = kHistoryPath,
                .message_has = {"\"shop.history\"", "own prefix \"shop\"",
                                "\"schema-history.analytics-shop-cdc\""},
                .other = "analytics/shop-cdc",
                .at_object = true},
           }},

      // --- topic rules against registry entries (issue 11) --------------------
      {.name = "topic-rules-against-registry-entries",
       .manifests = "topics-against-registry-entries.yaml",
       .registry = "topic-facts.yaml",
       .expected =
           {
               {.rule = r::kTopicPrefixDuplicate,
                .subject = "analytics/new-cdc",
                .path = kPrefixPath,
                .message_has = {"topic prefix \"shop\" is also used by registry entry ecommerce/orders-cdc "
                                "(server id 184001)",
                                "if ecommerce/orders-cdc no longer exists, mark its registry entry "
                                "Decommissioned"},
                .other = "ecommerce/orders-cdc"},
               {.rule = r::kSchemaHistoryTopicShared,
                .subject = "analytics/new-cdc",
                .path = kHistoryPath,
                .message_has = {"schema history topic \"schema-history.shop\" is also used by registry entry "
                                "ecommerce/orders-cdc (server id 184001)"},
                .other = "ecommerce/orders-cdc"},
               {.rule = r::kSchemaHistoryTopicCollides,
                .subject = "analytics/archive-cdc2",
                .path = kPrefixPath,
                .message_has =
                    {"the data-topic namespace of topic prefix \"archive\" holds schema history "
                     "topic \"archive.history\" of registry entry ecommerce/archive-cdc (server id "
                     "184007, Reserved)",
                     "if ecommerce/archive-cdc is no longer planned, remove its Reserved registry entry"},
                .other = "ecommerce/archive-cdc"},
           }},

      // --- KafkaConnect --------------------------------------------------------
      {.name = "connect-strimzi-defaults-collide",
       .manifests = "connect-strimzi-defaults.yaml",
       .expected =
           {
               {.rule = r::kConnectGroupIdDuplicate,
                .subject = "kafka/connect-a",
                .path = "spec.config.group.id",
                .message_has =
                    {"group.id \"connect-cluster\" (Strimzi's default) is also used by KafkaConnect "
                     "kafka/connect-b",
                     "my-cluster-kafka-bootstrap:9092"},
                .other = "kafka/connect-b",
                .at_object = true},
               {.rule = r::kConnectStorageTopicDuplicate,
                .subject = "kafka/connect-a",
                .path = "spec.config.offset.storage.topic",
                .message_has = {"\"connect-cluster-offsets\" (Strimzi's default)", "kafka/connect-b"},
                .other = "kafka/connect-b",
                .at_object = true},
               {.rule = r::kConnectStorageTopicDuplicate,
                .subject = "kafka/connect-a",
                .path = "spec.config.config.storage.topic",
                .message_has = {"\"connect-cluster-configs\" (Strimzi's default)", "kafka/connect-b"},
                .other = "kafka/connect-b",
                .at_object = true},
               {.rule = r::kConnectStorageTopicDuplicate,
                .subject = "kafka/connect-a",
                .path = "spec.config.status.storage.topic",
                .message_has = {"\"connect-cluster-status\" (Strimzi's default)", "kafka/connect-b"},
                .other = "kafka/connect-b",
                .at_object = true},
               {.rule = r::kConnectGroupIdDuplicate,
                .subject = "kafka/connect-b",
                .path = "spec.config.group.id",
                .message_has =
                    {"group.id \"connect-cluster\" (Strimzi's default) is also used by KafkaConnect "
                     "kafka/connect-a"},
                .other = "kafka/connect-a",
                .at_object = true},
               {.rule = r::kConnectStorageTopicDuplicate,
                .subject = "kafka/connect-b",
                .path = "spec.config.offset.storage.topic",
                .message_has = {"\"connect-cluster-offsets\"", "kafka/connect-a"},
                .other = "kafka/connect-a",
                .at_object = true},
               {.rule = r::kConnectStorageTopicDuplicate,
                .subject = "kafka/connect-b",
                .path = "spec.config.config.storage.topic",
                .message_has = {"\"connect-cluster-configs\"", "kafka/connect-a"},
                .other = "kafka/connect-a",
                .at_object = true},
               {.rule = r::kConnectStorageTopicDuplicate,
                .subject = "kafka/connect-b",
                .path = "spec.config.status.storage.topic",
                .message_has = {"\"connect-cluster-status\"", "kafka/connect-a"},
                .other = "kafka/connect-a",
                .at_object = true},
           }},
      {.name = "connect-defaults-on-different-kafka", .manifests = "connect-different-kafka.yaml"},
      {.name = "connect-group-id-v1-and-v1beta2",
       .manifests = "connect-group-id.yaml",
       .expected =
           {
               {.rule = r::kConnectGroupIdDuplicate,
                .subject = "kafka/connect-a",
                .path = "spec.groupId",
                .message_has = {"group.id \"cdc-connect\" is also used by KafkaConnect kafka/connect-b"},
                .other = "kafka/connect-b"},
               {.rule = r::kConnectGroupIdDuplicate,
                .subject = "kafka/connect-b",
                .path = "spec.config.group.id",
                .message_has = {"group.id \"cdc-connect\" is also used by KafkaConnect kafka/connect-a"},
                .other = "kafka/connect-a"},
           }},
      {.name = "connect-storage-topic-duplicate",
       .manifests = "connect-storage-topic-duplicate.yaml",
       .expected =
           {
               {.rule = r::kConnectStorageTopicDuplicate,
                .subject = "kafka/connect-a",
                .path = "spec.offsetStorageTopic",
                .message_has = {"storage topic \"shared-connect-topic\" is also "
                                "spec.config.status.storage.topic of KafkaConnect kafka/connect-b",
                                "my-cluster-kafka-bootstrap:9092"},
                .other = "kafka/connect-b"},
               {.rule = r::kConnectStorageTopicDuplicate,
                .subject = "kafka/connect-b",
                .path = "spec.config.status.storage.topic",
                .message_has = {"storage topic \"shared-connect-topic\" is also spec.offsetStorageTopic of "
                                "KafkaConnect kafka/connect-a"},
                .other = "kafka/connect-a"},
           }},

      // --- enforcement and exceptions -------------------------------------------
      {.name = "enforcement-warn-and-audit",
       .manifests = "enforcement-actions.yaml",
       .registry = "enforcement.yaml",
       .expected =
           {
               {.rule = r::kTopicPrefixOverlap,
                .subject = "analytics/shop-cdc",
                .path = kPrefixPath,
                .action = Action::Warn,
                .message_has = {"analytics/shop-orders-cdc"},
                .other = "analytics/shop-orders-cdc"},
               {.rule = r::kTopicPrefixOverlap,
                .subject = "analytics/shop-orders-cdc",
                .path = kPrefixPath,
                .action = Action::Warn,
                .message_has = {"analytics/shop-cdc"},
                .other = "analytics/shop-cdc"},
               {.rule = r::kTopicPrefixDuplicate,
                .subject = "analytics/clicks-cdc",
                .path = kPrefixPath,
                .action = Action::Audit,
                .message_has = {"analytics/views-cdc"},
                .other = "analytics/views-cdc"},
               {.rule = r::kTopicPrefixDuplicate,
                .subject = "analytics/views-cdc",
                .path = kPrefixPath,
                .action = Action::Audit,
                .message_has = {"analytics/clicks-cdc"},
                .other = "analytics/clicks-cdc"},
               {.rule = r::kServerIdMissing,
                .subject = "analytics/no-id-cdc",
                .path = kServerIdPath,
                .message_has = {kNextGlobal},
                .at_object = true},
           }},
      {.name = "exception-honoured-through-its-until-day",
       .manifests = "exception.yaml",
       .registry = "exceptions.yaml",
       .now = "2026-06-30T23:59:59Z",
       .expected =
           {
               {.rule = r::kTopicPrefixOverlap,
                .subject = "legacy/new-cdc",
                .path = kPrefixPath,
                .message_has = {"topic prefix \"legacy.v2\" overlaps legacy/old-cdc"},
                .other = "legacy/old-cdc"},
           },
       .exempted = 1},
      {.name = "exception-ignored-the-day-after",
       .manifests = "exception.yaml",
       .registry = "exceptions.yaml",
       .now = "2026-07-01T00:00:00Z",
       .expected =
           {
               {.rule = r::kTopicPrefixOverlap,
                .subject = "legacy/old-cdc",
                .path = kPrefixPath,
                .message_has = {"topic prefix \"legacy\" overlaps legacy/new-cdc"},
                .other = "legacy/new-cdc"},
               {.rule = r::kTopicPrefixOverlap,
                .subject = "legacy/new-cdc",
                .path = kPrefixPath,
                .message_has = {"topic prefix \"legacy.v2\" overlaps legacy/old-cdc"},
                .other = "legacy/old-cdc"},
           }},

      // --- config-generation-mixed (issue 14) -----------------------------------
      {.name = "config-generation-1x-names-in-a-2x-config",
       .manifests = "config-generation-1x-names-in-2x-config.yaml",
       .expected =
           {
               {.rule = r::kConfigGenerationMixed,
                .subject = "courses/orders-cdc",
                .path = "spec.config.database.server.name",
                .message_has = {"it sets schema.history.internal.kafka.topic, a Debezium 2.x name",
                                "2.x ignores the 1.x name database.server.name",
                                "no topic.prefix, which 2.x requires",
                                "rename database.server.name to topic.prefix"}},
               {.rule = r::kTopicPrefixMissing,
                .subject = "courses/orders-cdc",
                .path = "spec.config.database.server.name",
                .message_has = {"database.server.name \"mysql_orders\" is the 1.x name",
                                "rename spec.config.database.server.name to topic.prefix"}},
               {.rule = r::kConfigGenerationMixed,
                .subject = "courses/driver-cdc",
                .path = "spec.config.database.server.name",
                .message_has =
                    {"it sets driver.connectTimeout",
                     "database.server.name, database.history.kafka.topic and database.history",
                     "rename database.server.name to topic.prefix, database.history.kafka.topic to "
                     "schema.history.internal.kafka.topic and database.history to "
                     "schema.history.internal (value io.debezium.storage.kafka.history.KafkaSchemaHistory)"}},
               {.rule = r::kTopicPrefixMissing,
                .subject = "courses/driver-cdc",
                .path = "spec.config.database.server.name"},
               {.rule = r::kSchemaHistoryTopicMissing,
                .subject = "courses/driver-cdc",
                .path = "spec.config.database.history.kafka.topic",
                .message_has = {"rename spec.config.database.history.kafka.topic to "
                                "schema.history.internal.kafka.topic"}},
               {.rule = r::kConfigGenerationMixed,
                .subject = "courses/maria-cdc",
                .path = "spec.config.database.server.name",
                .message_has = {"the MariaDB connector exists only since Debezium 2.5"}},
               {.rule = r::kTopicPrefixMissing,
                .subject = "courses/maria-cdc",
                .path = "spec.config.database.server.name"},
               {.rule = r::kSchemaHistoryTopicMissing,
                .subject = "courses/maria-cdc",
                .path = "spec.config.database.history.kafka.topic"},
           }},
      {.name = "config-generation-reverse-mix",
       .manifests = "config-generation-reverse-mix.yaml",
       .expected =
           {
               {.rule = r::kConfigGenerationMixed,
                .subject = "courses/inventory-cdc",
                .path = "spec.config.database.history.kafka.bootstrap.servers",
                .message_has =
                    {"it sets topic.prefix", "Debezium 1.x, which reads those names, knows no topic.prefix",
                     "rename database.history.kafka.bootstrap.servers to "
                     "schema.history.internal.kafka.bootstrap.servers and database.history.kafka.topic to "
                     "schema.history.internal.kafka.topic",
                     "on Debezium 1.x instead, rename topic.prefix to database.server.name"}},
               {.rule = r::kSchemaHistoryTopicMissing,
                .subject = "courses/inventory-cdc",
                .path = "spec.config.database.history.kafka.topic"},
               {.rule = r::kConfigGenerationMixed,
                .subject = "courses/maria-inventory-cdc",
                .path = "spec.config.database.history.skip.unparseable.ddl",
                .message_has = {"rename database.history.skip.unparseable.ddl to "
                                "schema.history.internal.skip.unparseable.ddl"}},
           }},
      // /mutate's template fills the 2.x history topic the connector lacks; the mix is still reported.
      {.name = "config-generation-reverse-mix-with-template",
       .manifests = "config-generation-reverse-mix.yaml",
       .registry = "history-template.yaml",
       .expected =
           {
               {.rule = r::kConfigGenerationMixed,
                .subject = "courses/inventory-cdc",
                .path = "spec.config.database.history.kafka.bootstrap.servers"},
               {.rule = r::kConfigGenerationMixed,
                .subject = "courses/maria-inventory-cdc",
                .path = "spec.config.database.history.skip.unparseable.ddl"},
           }},

      // --- topic-prefix-invalid, schema-history-topic-invalid (issue 14) --------------
      {.name = "topic-prefix-invalid",
       .manifests = "topic-prefix-invalid.yaml",
       .expected =
           {
               {.rule = r::kTopicPrefixInvalid,
                .subject = "analytics/space-cdc",
                .path = kPrefixPath,
                .message_has = {"holds ' ' (a space)", "has invalid format", "e.g. \"mysql_orders\""}},
               {.rule = r::kTopicPrefixInvalid,
                .subject = "analytics/slash-cdc",
                .path = kPrefixPath,
                .message_has = {"holds '/'", "e.g. \"shop_orders\""}},
               {.rule = r::kTopicPrefixInvalid,
                .subject = "analytics/dot-cdc",
                .path = kPrefixPath,
                .message_has = {"Topic name cannot be"}},
               {.rule = r::kTopicPrefixInvalid,
                .subject = "analytics/too-long-cdc",
                .path = kPrefixPath,
                .message_has = {"250 characters long", "longer than 249"}},
               {.rule = r::kTopicPrefixInvalid,
                .subject = "analytics/edge-cdc",
                .path = kPrefixPath,
                .action = Action::Warn,
                .message_has = {"would be 379 characters", "MySQL's limit"}},
               {.rule = r::kTopicPrefixInvalid,
                .subject = "analytics/overflows-cdc",
                .path = kPrefixPath,
                .action = Action::Warn,
                .message_has = {"would be 250 characters", "the longest table in table.include.list"}},
               {.rule = r::kTopicPrefixInvalid,
                .subject = "analytics/internal-cdc",
                .path = kPrefixPath,
                .action = Action::Warn,
                .message_has = {"starts with \"__\""}},
               {.rule = r::kTopicPrefixInvalid,
                .subject = "analytics/delimiter-cdc",
                .path = "spec.config.topic.delimiter",
                .message_has = {"topic.delimiter \"/\" holds '/'"}},
           }},
      // A rule set to deny leaves the likely-trouble findings at warn; set to audit, all are audit.
      {.name = "topic-prefix-invalid-enforced-as-audit",
       .manifests = "topic-prefix-invalid.yaml",
       .registry = "topic-prefix-invalid-audit.yaml",
       .expected =
           {
               {.rule = r::kTopicPrefixInvalid,
                .subject = "analytics/space-cdc",
                .path = kPrefixPath,
                .action = Action::Audit},
               {.rule = r::kTopicPrefixInvalid,
                .subject = "analytics/slash-cdc",
                .path = kPrefixPath,
                .action = Action::Audit},
               {.rule = r::kTopicPrefixInvalid,
                .subject = "analytics/dot-cdc",
                .path = kPrefixPath,
                .action = Action::Audit},
               {.rule = r::kTopicPrefixInvalid,
                .subject = "analytics/too-long-cdc",
                .path = kPrefixPath,
                .action = Action::Audit},
               {.rule = r::kTopicPrefixInvalid,
                .subject = "analytics/edge-cdc",
                .path = kPrefixPath,
                .action = Action::Audit},
               {.rule = r::kTopicPrefixInvalid,
                .subject = "analytics/overflows-cdc",
                .path = kPrefixPath,
                .action = Action::Audit},
               {.rule = r::kTopicPrefixInvalid,
                .subject = "analytics/internal-cdc",
                .path = kPrefixPath,
                .action = Action::Audit},
               {.rule = r::kTopicPrefixInvalid,
                .subject = "analytics/delimiter-cdc",
                .path = "spec.config.topic.delimiter",
                .action = Action::Audit},
           }},
      {.name = "schema-history-topic-invalid",
       .manifests = "schema-history-topic-invalid.yaml",
       .expected =
           {
               {.rule = r::kSchemaHistoryTopicInvalid,
                .subject = "analytics/spaced-history-cdc",
                .path = kHistoryPath,
                .message_has = {"\"schema history/spaced\" is no Kafka topic name",
                                "e.g. \"schema-history.spaced\""}},
               {.rule = r::kSchemaHistoryTopicInvalid,
                .subject = "analytics/long-history-cdc",
                .path = kHistoryPath,
                .message_has = {"250 characters long"}},
               {.rule = r::kSchemaHistoryTopicInvalid,
                .subject = "analytics/internal-history-cdc",
                .path = kHistoryPath,
                .action = Action::Warn,
                .message_has = {"starts with \"__\"", "e.g. \"schema-history.internal\""}},
               {.rule = r::kSchemaHistoryTopicInvalid,
                .subject = "analytics/legacy-history-cdc",
                .path = "spec.config.database.history.kafka.topic",
                .message_has = {"\"..\""}},
           }},

      // --- topic-name-collision (issue 14) ------------------------------------------
      {.name = "topic-name-collision",
       .manifests = "topic-name-collision.yaml",
       .expected =
           {
               {.rule = r::kTopicNameCollision,
                .subject = "analytics/underscore-cdc",
                .path = kPrefixPath,
                .message_has = {"topic prefix \"shop_orders\" collides with analytics/dot-cdc",
                                "with prefix \"shop.orders\"",
                                "Topic 'shop_orders' collides with existing topics: shop.orders"},
                .other = "analytics/dot-cdc"},
               {.rule = r::kTopicNameCollision,
                .subject = "analytics/dot-cdc",
                .path = kPrefixPath,
                .message_has = {"Topic 'shop.orders' collides with existing topics: shop_orders"},
                .other = "analytics/underscore-cdc"},
               {.rule = r::kTopicNameCollision,
                .subject = "analytics/users-cdc",
                .path = kHistoryPath,
                .message_has = {"schema history topic \"schema-history.mysql_users\" collides with "
                                "analytics/users-copy-cdc",
                                "with schema history topic \"schema-history.mysql.users\"",
                                "e.g. \"schema-history.users\""},
                .other = "analytics/users-copy-cdc"},
               {.rule = r::kTopicNameCollision,
                .subject = "analytics/users-copy-cdc",
                .path = kHistoryPath,
                .message_has = {"e.g. \"schema-history.users-copy\""},
                .other = "analytics/users-cdc"},
               {.rule = r::kTopicNameCollision,
                .subject = "analytics/audit-cdc",
                .path = kPrefixPath,
                .message_has = {"analytics/billing-cdc", "with schema history topic \"audit.log\"",
                                "Topic 'audit_log' collides with existing topics: audit.log"},
                .other = "analytics/billing-cdc"},
               {.rule = r::kTopicNameCollision,
                .subject = "analytics/billing-cdc",
                .path = kHistoryPath,
                .message_has = {"analytics/audit-cdc", "with prefix \"audit_log\"",
                                "e.g. \"schema-history.billing\""},
                .other = "analytics/audit-cdc"},
               {.rule = r::kTopicNameCollision,
                .subject = "analytics/catalog-cdc",
                .path = kPrefixPath,
                .message_has = {"Topic 'catalog.inventory_items' collides with existing topics: "
                                "catalog_inventory_items"},
                .other = "analytics/catalog-items-cdc"},
               {.rule = r::kTopicNameCollision,
                .subject = "analytics/catalog-items-cdc",
                .path = kPrefixPath,
                .message_has = {"Topic 'catalog_inventory_items' collides with existing topics: "
                                "catalog.inventory_items"},
                .other = "analytics/catalog-cdc"},
               {.rule = r::kTopicNameCollision,
                .subject = "analytics/self-cdc",
                .path = kHistoryPath,
                .message_has = {"this connector's own prefix \"self\"",
                                "Topic 'self_history' collides with existing topics: self.history",
                                "e.g. \"schema-history.self\""},
                .other = "analytics/self-cdc"},
           }},
      {.name = "topic-name-collision-with-registry-entries",
       .manifests = "topic-name-collision-registry.yaml",
       .registry = "topic-facts.yaml",
       .expected =
           {
               {.rule = r::kTopicNameCollision,
                .subject = "analytics/pr-cdc",
                .path = kPrefixPath,
                .message_has =
                    {"registry entry ecommerce/archive-cdc (server id 184007, Reserved) with schema "
                     "history topic \"archive.history\""},
                .other = "ecommerce/archive-cdc"},
               {.rule = r::kTopicNameCollision,
                .subject = "analytics/pr-cdc",
                .path = kHistoryPath,
                .message_has =
                    {"registry entry ecommerce/payments-cdc (server id 184002) with schema history topic "
                     "\"schema-history.payments\""},
                .other = "ecommerce/payments-cdc"},
           }},

      // --- fixes that follow the house convention (issue 14) ----------------------------
      {.name = "course-copy-paste",
       .manifests = "course-copy-paste.yaml",
       .expected =
           {
               {.rule = r::kServerIdDuplicate, .subject = "courses/orders-cdc", .path = kServerIdPath},
               {.rule = r::kConfigGenerationMixed,
                .subject = "courses/orders-cdc",
                .path = "spec.config.database.server.name"},
               {.rule = r::kTopicPrefixMissing,
                .subject = "courses/orders-cdc",
                .path = "spec.config.database.server.name"},
               {.rule = r::kSchemaHistoryTopicShared,
                .subject = "courses/orders-cdc",
                .path = kHistoryPath,
                .message_has = {"keep \"schema-history.mysql_orders\"",
                                "e.g. \"schema-history.mysql_users\" for courses/users-cdc"}},
               {.rule = r::kServerIdDuplicate, .subject = "courses/users-cdc", .path = kServerIdPath},
               {.rule = r::kConfigGenerationMixed,
                .subject = "courses/users-cdc",
                .path = "spec.config.database.server.name"},
               {.rule = r::kTopicPrefixMissing,
                .subject = "courses/users-cdc",
                .path = "spec.config.database.server.name"},
               {.rule = r::kSchemaHistoryTopicShared,
                .subject = "courses/users-cdc",
                .path = kHistoryPath,
                .message_has =
                    {"give this connector its own history topic, e.g. \"schema-history.mysql_users\""}},
           }},
      {.name = "schema-history-topic-shared-house-name",
       .manifests = "schema-history-topic-shared-house-name.yaml",
       .expected =
           {
               {.rule = r::kSchemaHistoryTopicShared,
                .subject = "courses/orders-cdc",
                .path = kHistoryPath,
                .message_has =
                    {"keep \"schema-history.mysql_orders\" (rules.schemaHistoryTopicTemplate gives it "
                     "to this connector)",
                     "e.g. \"schema-history.mysql_users\" for courses/users-cdc"},
                .other = "courses/users-cdc"},
               {.rule = r::kSchemaHistoryTopicShared,
                .subject = "courses/users-cdc",
                .path = kHistoryPath,
                .message_has =
                    {"give this connector its own history topic, e.g. \"schema-history.mysql_users\""},
                .other = "courses/orders-cdc"},
               {.rule = r::kSchemaHistoryTopicShared,
                .subject = "courses/payments-cdc",
                .path = kHistoryPath,
                .message_has =
                    {"e.g. \"schema-history.mysql_payments-2\" (the house name "
                     "\"schema-history.mysql_payments\" from rules.schemaHistoryTopicTemplate is taken by "
                     "courses/other-cdc)"},
                .other = "courses/refunds-cdc"},
               {.rule = r::kSchemaHistoryTopicShared,
                .subject = "courses/refunds-cdc",
                .path = kHistoryPath,
                .message_has = {"e.g. \"schema-history.mysql_refunds\""},
                .other = "courses/payments-cdc"},
           }},
      {.name = "schema-history-topic-shared-house-template",
       .manifests = "schema-history-topic-shared-house-name.yaml",
       .registry = "house-template.yaml",
       .expected =
           {
               {.rule = r::kSchemaHistoryTopicShared,
                .subject = "courses/orders-cdc",
                .path = kHistoryPath,
                .message_has = {"e.g. \"dbhistory.courses.mysql_orders\""}},
               {.rule = r::kSchemaHistoryTopicShared,
                .subject = "courses/users-cdc",
                .path = kHistoryPath,
                .message_has = {"e.g. \"dbhistory.courses.mysql_users\""}},
               {.rule = r::kSchemaHistoryTopicShared,
                .subject = "courses/payments-cdc",
                .path = kHistoryPath,
                .message_has = {"e.g. \"dbhistory.courses.mysql_payments\""}},
               {.rule = r::kSchemaHistoryTopicShared,
                .subject = "courses/refunds-cdc",
                .path = kHistoryPath,
                .message_has = {"e.g. \"dbhistory.courses.mysql_refunds\""}},
           }},
  };
  return all;
}

std::string read_fixture(const std::string& relative) {
  return testing_support::read_fixture_file("rules/" + relative);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string key_of(std::string_view rule_id, std::string_view subject, std::string_view path, Action action) {
  return std::string(rule_id) + " " + std::string(subject) + " " + std::string(path) + " " +
         std::string(to_string(action));
}

// The config key a field path names: "spec.config.topic.prefix" -> "topic.prefix".
std::string_view field_key(std::string_view path) {
  for (const std::string_view head : {"spec.config.", "spec."}) {
    if (path.starts_with(head)) return path.substr(head.size());
  }
  return path;
}

class RuleScenario : public ::testing::TestWithParam<Scenario> {};

TEST_P(RuleScenario, ReportsExactlyTheExpectedViolations) {
  const Scenario& sc = GetParam();
  const std::string file(sc.manifests);
  const std::string text = read_fixture("manifests/" + file);
  const std::vector<std::string> lines = lines_of(text);

  ManifestSet manifests;
  parse_manifests(text, file, "default", manifests);
  for (const auto& e : manifests.errors)
    ADD_FAILURE() << e.location.file << ":" << e.location.line << ": " << e.message;
  ASSERT_FALSE(manifests.connectors.empty() && manifests.connect_clusters.empty())
      << "no objects in " << file;

  const std::string registry_file = "registries/" + std::string(sc.registry);
  const Registry registry = parse_registry(read_fixture(registry_file), registry_file);
  const auto now = parse_timestamp(sc.now);
  ASSERT_TRUE(now) << sc.now;

  const CheckReport report = check_manifests(manifests, registry, *now);
  for (const auto& e : report.input_errors) ADD_FAILURE() << "input error: " << e.message;

  // The exact set: every expected violation and nothing else.
  std::vector<std::string> want;
  for (const auto& e : sc.expected) want.push_back(key_of(e.rule, e.subject, e.path, e.action));
  std::vector<std::string> got;
  for (const auto& v : report.violations) got.push_back(key_of(v.rule, v.subject, v.path, v.action));
  std::sort(want.begin(), want.end());
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, want);

  for (const auto& e : sc.expected) {
    const auto v = std::find_if(report.violations.begin(), report.violations.end(), [&](const Violation& x) {
      return key_of(x.rule, x.subject, x.path, x.action) == key_of(e.rule, e.subject, e.path, e.action);
    });
    if (v == report.violations.end()) continue;  // already reported by the set comparison
    SCOPED_TRACE(std::string(e.rule) + " on " + std::string(e.subject) + ": " + v->message);
    for (const auto part : e.message_has) {
      EXPECT_NE(v->message.find(part), std::string::npos) << "message lacks: " << part;
    }
    if (!e.other.empty()) {
      EXPECT_EQ(v->other, e.other);
    }
    EXPECT_EQ(v->location.file, file);
    ASSERT_GE(v->location.line, 1);
    ASSERT_LE(static_cast<std::size_t>(v->location.line), lines.size());
    const std::string& line = lines[static_cast<std::size_t>(v->location.line - 1)];
    if (e.at_object) {
      EXPECT_NE(line.find("apiVersion:"), std::string::npos) << "expected the object's line, got: " << line;
    } else {
      EXPECT_NE(line.find(std::string(field_key(e.path)) + ":"), std::string::npos)
          << "expected the line of " << e.path << ", got: " << line;
    }
  }

  // What every violation owes its reader, whatever the rule.
  for (const auto& v : report.violations) {
    SCOPED_TRACE(v.rule + " on " + v.subject + ": " + v.message);
    EXPECT_EQ(v.subject_kind, v.rule.starts_with("connect-") ? "KafkaConnect" : "KafkaConnector");
    EXPECT_FALSE(v.fix.empty());
    EXPECT_TRUE(v.message.ends_with(v.fix)) << "the message should end with the fix";
    if (!v.other.empty() && v.other != v.subject) {
      EXPECT_NE(v.message.find(v.other), std::string::npos) << "the message should name " << v.other;
    }
  }

  const auto denied = static_cast<std::size_t>(std::count_if(
      sc.expected.begin(), sc.expected.end(), [](const Expected& e) { return e.action == Action::Deny; }));
  EXPECT_EQ(report.summary.errors, denied);
  EXPECT_EQ(report.summary.warnings, sc.expected.size() - denied);
  EXPECT_EQ(report.summary.exempted, sc.exempted);
  EXPECT_EQ(report.has_errors(), denied > 0);
}

std::string scenario_name(const ::testing::TestParamInfo<Scenario>& info) {
  std::string name(info.param.name);
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(Rules, RuleScenario, ::testing::ValuesIn(scenarios()), scenario_name);

// Every rule id is exercised by at least one scenario that expects it to fire.
TEST(RuleCoverage, EveryRuleFiresInSomeScenario) {
  for (const std::string_view id : rule::all()) {
    const bool fired = std::any_of(scenarios().begin(), scenarios().end(), [&](const Scenario& s) {
      return std::any_of(s.expected.begin(), s.expected.end(),
                         [&](const Expected& e) { return e.rule == id; });
    });
    EXPECT_TRUE(fired) << "no scenario makes " << id << " fire";
  }
}

// ...and scenario names stay unique (gtest needs that, and so do readers).
TEST(RuleCoverage, ScenarioNamesAreUnique) {
  std::vector<std::string_view> names;
  for (const auto& s : scenarios()) names.push_back(s.name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());
}

}  // namespace
}  // namespace cdcguard
