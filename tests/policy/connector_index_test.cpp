// ConnectorIndex: the lookups every connector rule makes, kept right through
// upserts (which may change every indexed fact) and removals.

#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "cdcguard/policy/connector_index.hpp"

namespace cdcguard {
namespace {

constexpr std::string_view kPostgres = "io.debezium.connector.postgresql.PostgresConnector";
constexpr std::string_view kJdbc = "io.confluent.connect.jdbc.JdbcSourceConnector";

struct Spec {
  std::string_view key = {};
  std::string_view server_id = {};
  std::string_view prefix = {};
  std::string_view delimiter = ".";
  std::string_view history = {};
  std::string_view connector_class = kMySqlConnectorClass;
};

ConnectorFacts facts(const Spec& s) {
  ConnectorFacts f;
  const auto slash = s.key.find('/');
  f.namespace_name = std::string(s.key.substr(0, slash));
  f.name = std::string(s.key.substr(slash + 1));
  f.connector_class = std::string(s.connector_class);
  f.server_id = parse_server_id(s.server_id, !s.server_id.empty());
  if (!s.prefix.empty()) {
    f.topic_prefix.value = std::string(s.prefix);
    f.topic_prefix.key = "topic.prefix";
  }
  f.topic_delimiter = std::string(s.delimiter);
  if (!s.history.empty()) {
    f.history_topic.value = std::string(s.history);
    f.history_topic.key = "schema.history.internal.kafka.topic";
  }
  return f;
}

std::vector<std::string> keys(const ConnectorIndex::List& list) {
  std::vector<std::string> out;
  for (const ConnectorFacts* f : list) out.push_back(f->key());
  std::sort(out.begin(), out.end());
  return out;
}

using Keys = std::vector<std::string>;

TEST(ConnectorIndex, IndexesByServerIdPrefixAndHistoryTopic) {
  ConnectorIndex index;
  index.upsert(facts({.key = "a/one", .server_id = "184001", .prefix = "shop", .history = "h.shop"}));
  index.upsert(facts({.key = "b/two", .server_id = "184001", .prefix = "shop", .history = "h.shop"}));
  EXPECT_EQ(index.size(), 2U);
  EXPECT_EQ(keys(index.with_server_id(184001)), (Keys{"a/one", "b/two"}));
  EXPECT_EQ(keys(index.with_prefix("shop")), (Keys{"a/one", "b/two"}));
  EXPECT_EQ(keys(index.with_history_topic("h.shop")), (Keys{"a/one", "b/two"}));
  EXPECT_TRUE(index.with_server_id(184002).empty());
  EXPECT_TRUE(index.with_prefix("sho").empty());
  EXPECT_TRUE(index.with_history_topic("h").empty());
  ASSERT_NE(index.find("a/one"), nullptr);
  EXPECT_EQ(index.find("a/one")->name, "one");
  EXPECT_EQ(index.find("a/three"), nullptr);
}

// topic-name-collision's lookups: '.' and '_' are one character; buckets
// sorted by the exact name; kept right through upserts and removals.
TEST(ConnectorIndex, FoldedLookupsTreatDotAndUnderscoreAsOneCharacter) {
  ConnectorIndex index;
  index.upsert(facts({.key = "a/dot", .prefix = "shop.orders", .history = "h.shop_orders"}));
  index.upsert(facts({.key = "a/under", .prefix = "shop_orders", .history = "h.shop.orders"}));
  index.upsert(facts({.key = "a/dot2", .prefix = "shop.orders", .history = "h.other"}));
  index.upsert(facts({.key = "a/shop", .prefix = "shop", .delimiter = "_"}));
  const auto& folded = index.folded();
  const auto& bucket = folded.with_prefix("shop_orders");
  ASSERT_EQ(bucket.size(), 3U);
  EXPECT_EQ(bucket[0]->topic_prefix.value, "shop.orders");  // sorted by the exact name
  EXPECT_EQ(bucket[1]->topic_prefix.value, "shop.orders");
  EXPECT_EQ(bucket[2]->topic_prefix.value, "shop_orders");
  EXPECT_EQ(keys(folded.with_history_topic("h_shop_orders")), (Keys{"a/dot", "a/under"}));
  EXPECT_EQ(keys(folded.namespaces_containing("shop_orders")), (Keys{"a/shop"}));
  EXPECT_EQ(keys(folded.prefixes_extending("shop_")), (Keys{"a/dot", "a/dot2", "a/under"}));
  EXPECT_EQ(keys(folded.history_topics_extending("h_shop_")), (Keys{"a/dot", "a/under"}));
  EXPECT_TRUE(folded.with_prefix("shop.orders").empty()) << "lookups take folded names";

  index.upsert(facts({.key = "a/under", .prefix = "warehouse", .history = "h.warehouse"}));
  index.remove("a/shop");
  EXPECT_EQ(keys(folded.with_prefix("shop_orders")), (Keys{"a/dot", "a/dot2"}));
  EXPECT_EQ(keys(folded.with_history_topic("h_shop_orders")), (Keys{"a/dot"}));
  EXPECT_TRUE(folded.namespaces_containing("shop_orders").empty());
  EXPECT_EQ(keys(folded.with_prefix("warehouse")), (Keys{"a/under"}));
}

TEST(ConnectorIndex, ServerIdsOnlyForBinlogReadersWithAValidId) {
  ConnectorIndex index;
  index.upsert(facts({.key = "a/mysql", .server_id = "184001", .prefix = "p1"}));
  index.upsert(facts(
      {.key = "a/maria", .server_id = "184001", .prefix = "p2", .connector_class = kMariaDbConnectorClass}));
  index.upsert(facts({.key = "a/pg", .server_id = "184001", .prefix = "p3", .connector_class = kPostgres}));
  index.upsert(facts({.key = "a/jdbc", .server_id = "184001", .prefix = "p4", .connector_class = kJdbc}));
  index.upsert(facts({.key = "a/zero", .server_id = "0", .prefix = "p5"}));
  index.upsert(facts({.key = "a/placeholder", .server_id = "${secrets:a/ids:x}", .prefix = "p6"}));
  EXPECT_EQ(keys(index.with_server_id(184001)), (Keys{"a/maria", "a/mysql"}));
  EXPECT_TRUE(index.with_server_id(0).empty());
  // Topic rules cover every Debezium class, and no other.
  EXPECT_EQ(keys(index.with_prefix("p3")), (Keys{"a/pg"}));
  EXPECT_TRUE(index.with_prefix("p4").empty());
  EXPECT_EQ(index.size(), 6U);
}

TEST(ConnectorIndex, UpsertReplacingAConnectorUpdatesEveryIndex) {
  ConnectorIndex index;
  index.upsert(facts({.key = "a/one", .server_id = "184001", .prefix = "shop", .history = "h.shop"}));
  index.upsert(facts({.key = "b/other", .server_id = "184009", .prefix = "other", .history = "h.other"}));
  const ConnectorFacts& replaced = index.upsert(facts(
      {.key = "a/one", .server_id = "184002", .prefix = "store", .delimiter = "__", .history = "h.store"}));

  EXPECT_EQ(replaced.server_id.id, 184002U);
  EXPECT_EQ(index.size(), 2U);
  EXPECT_EQ(index.find("a/one"), &replaced);
  EXPECT_TRUE(index.with_server_id(184001).empty());
  EXPECT_TRUE(index.with_prefix("shop").empty());
  EXPECT_TRUE(index.with_history_topic("h.shop").empty());
  EXPECT_TRUE(index.namespaces_containing("shop.db.table").empty());
  EXPECT_TRUE(index.prefixes_extending("sh", "o").empty());
  EXPECT_EQ(keys(index.with_server_id(184002)), (Keys{"a/one"}));
  EXPECT_EQ(keys(index.with_prefix("store")), (Keys{"a/one"}));
  EXPECT_EQ(keys(index.with_history_topic("h.store")), (Keys{"a/one"}));
  // The new delimiter counts, the old one no longer does for this connector.
  EXPECT_EQ(keys(index.namespaces_containing("store__db__table")), (Keys{"a/one"}));
  EXPECT_TRUE(index.namespaces_containing("store.db.table").empty());
  // The other connector is untouched.
  EXPECT_EQ(keys(index.with_server_id(184009)), (Keys{"b/other"}));
  EXPECT_EQ(keys(index.namespaces_containing("other.db.table")), (Keys{"b/other"}));
}

TEST(ConnectorIndex, UpsertToANonDebeziumClassLeavesTheTopicIndexes) {
  ConnectorIndex index;
  index.upsert(facts({.key = "a/one", .server_id = "184001", .prefix = "shop", .history = "h.shop"}));
  index.upsert(facts({.key = "a/one",
                      .server_id = "184001",
                      .prefix = "shop",
                      .history = "h.shop",
                      .connector_class = kJdbc}));
  EXPECT_EQ(index.size(), 1U);
  EXPECT_TRUE(index.with_server_id(184001).empty());
  EXPECT_TRUE(index.with_prefix("shop").empty());
  EXPECT_TRUE(index.with_history_topic("h.shop").empty());
  EXPECT_TRUE(index.namespaces_containing("shop.db.table").empty());
}

TEST(ConnectorIndex, RemoveDropsAConnectorFromEveryIndex) {
  ConnectorIndex index;
  index.upsert(
      facts({.key = "a/one", .server_id = "184001", .prefix = "shop", .delimiter = "__", .history = "h"}));
  index.upsert(facts({.key = "a/two", .server_id = "184001", .prefix = "shop", .history = "h"}));
  EXPECT_TRUE(index.remove("a/one"));
  EXPECT_FALSE(index.remove("a/one"));
  EXPECT_FALSE(index.remove("a/never"));
  EXPECT_EQ(index.size(), 1U);
  EXPECT_EQ(index.find("a/one"), nullptr);
  EXPECT_EQ(keys(index.with_server_id(184001)), (Keys{"a/two"}));
  EXPECT_EQ(keys(index.with_prefix("shop")), (Keys{"a/two"}));
  EXPECT_EQ(keys(index.with_history_topic("h")), (Keys{"a/two"}));
  EXPECT_TRUE(index.namespaces_containing("shop__db__table").empty());
  EXPECT_EQ(keys(index.namespaces_containing("shop.db.table")), (Keys{"a/two"}));

  EXPECT_TRUE(index.remove("a/two"));
  EXPECT_EQ(index.size(), 0U);
  EXPECT_TRUE(index.with_server_id(184001).empty());
  EXPECT_TRUE(index.with_prefix("shop").empty());
  EXPECT_TRUE(index.namespaces_containing("shop.db.table").empty());
  int visited = 0;
  index.for_each([&](const ConnectorFacts&) { ++visited; });
  EXPECT_EQ(visited, 0);
}

TEST(ConnectorIndex, HandedOutPointersSurviveGrowth) {
  ConnectorIndex index;
  const ConnectorFacts* first =
      &index.upsert(facts({.key = "a/first", .server_id = "184000", .prefix = "first"}));
  for (int i = 1; i < 2000; ++i) {
    const std::string key = "ns" + std::to_string(i % 7) + "/c" + std::to_string(i);
    const std::string id = std::to_string(184000 + i);
    index.upsert(facts({.key = key, .server_id = id, .prefix = key}));
  }
  EXPECT_EQ(index.find("a/first"), first);
  ASSERT_EQ(index.with_server_id(184000).size(), 1U);
  EXPECT_EQ(index.with_server_id(184000).front(), first);
  EXPECT_EQ(index.with_prefix("first").front(), first);
  int visited = 0;
  index.for_each([&](const ConnectorFacts&) { ++visited; });
  EXPECT_EQ(visited, 2000);
}

// --- namespaces_containing / prefixes_extending ---------------------------------

struct NamespaceCase {
  std::string_view name = {};
  std::vector<Spec> connectors = {};
  std::string_view topic = {};  // for namespaces_containing
  Keys containing = {};
  std::string_view prefix = {};  // for prefixes_extending(prefix, delimiter)
  std::string_view delimiter = ".";
  Keys extending = {};
};

void PrintTo(const NamespaceCase& c, std::ostream* os) {
  *os << c.name;
}

const std::vector<Spec>& shop_family() {
  static const std::vector<Spec> specs = {
      {.key = "a/shop", .prefix = "shop"},
      {.key = "a/shop-orders", .prefix = "shop.orders"},
      {.key = "a/shop-orders-items", .prefix = "shop.orders.items"},
      {.key = "a/shopping", .prefix = "shopping"},
      {.key = "a/shop-dot", .prefix = "shop."},
      {.key = "a/sho", .prefix = "sho"},
  };
  return specs;
}

const std::vector<NamespaceCase>& namespace_cases() {
  static const std::vector<NamespaceCase> all = {
      {.name = "data-topic-of-the-short-prefix",
       .connectors = shop_family(),
       .topic = "shop.db.table",
       .containing = {"a/shop"},  // not "shop.": its namespace is "shop.." + more
       .prefix = "shop",
       .extending = {"a/shop-orders", "a/shop-orders-items"}},
      {.name = "every-enclosing-namespace",
       .connectors = shop_family(),
       .topic = "shop.orders.items.x",
       .containing = {"a/shop", "a/shop-orders", "a/shop-orders-items"},
       .prefix = "shop.orders",
       .extending = {"a/shop-orders-items"}},
      {.name = "the-prefix-itself-is-not-inside-its-namespace",
       .connectors = shop_family(),
       .topic = "shop",
       .containing = {},
       .prefix = "shop.orders.items",
       .extending = {}},
      {.name = "prefix-plus-delimiter-alone-is-not-inside",
       .connectors = {{.key = "a/shop", .prefix = "shop"}},
       .topic = "shop.",
       .containing = {},
       .prefix = "sho",
       .extending = {}},
      {.name = "a-mere-string-prefix-is-not-a-namespace",
       .connectors = {{.key = "a/shop", .prefix = "shop"}, {.key = "a/shopping", .prefix = "shopping"}},
       .topic = "shopping.db.table",
       .containing = {"a/shopping"},
       .prefix = "shop",
       .extending = {}},
      {.name = "multi-char-delimiter",
       .connectors = {{.key = "a/shop", .prefix = "shop", .delimiter = "__"},
                      {.key = "a/shop-orders", .prefix = "shop__orders", .delimiter = "__"},
                      {.key = "a/shop-single", .prefix = "shop_orders", .delimiter = "__"}},
       .topic = "shop__orders__items",
       .containing = {"a/shop", "a/shop-orders"},
       .prefix = "shop",
       .delimiter = "__",
       .extending = {"a/shop-orders"}},
      {.name = "multi-char-delimiter-needs-all-of-it",
       .connectors = {{.key = "a/shop", .prefix = "shop", .delimiter = "__"}},
       .topic = "shop_orders",
       .containing = {},
       .prefix = "shop",
       .delimiter = "_",
       .extending = {}},
      {.name = "multi-char-delimiter-alone-is-not-inside",
       .connectors = {{.key = "a/shop", .prefix = "shop", .delimiter = "__"},
                      {.key = "a/shop-delim", .prefix = "shop__", .delimiter = "__"}},
       .topic = "shop__",
       .containing = {},
       .prefix = "shop",
       .delimiter = "__",
       .extending = {}},
      {.name = "each-namespace-uses-its-own-delimiter",
       .connectors = {{.key = "a/dot", .prefix = "shop"},
                      {.key = "a/underscore", .prefix = "shop", .delimiter = "_"},
                      {.key = "a/arrow", .prefix = "shop", .delimiter = "->"}},
       .topic = "shop_orders",
       .containing = {"a/underscore"},
       .prefix = "shop",
       .delimiter = "->",
       .extending = {}},
      {.name = "arrow-delimiter",
       .connectors = {{.key = "a/arrow", .prefix = "shop", .delimiter = "->"},
                      {.key = "a/arrow-orders", .prefix = "shop->orders", .delimiter = "->"},
                      {.key = "a/dash", .prefix = "shop-orders", .delimiter = "->"}},
       .topic = "shop->orders->items",
       .containing = {"a/arrow", "a/arrow-orders"},
       .prefix = "shop",
       .delimiter = "->",
       .extending = {"a/arrow-orders"}},
      {.name = "non-debezium-prefixes-do-not-count",
       .connectors = {{.key = "a/jdbc", .prefix = "shop", .connector_class = kJdbc},
                      {.key = "a/jdbc-orders", .prefix = "shop.orders", .connector_class = kJdbc}},
       .topic = "shop.orders",
       .containing = {},
       .prefix = "shop",
       .extending = {}},
  };
  return all;
}

class ConnectorIndexNamespaces : public ::testing::TestWithParam<NamespaceCase> {};

TEST_P(ConnectorIndexNamespaces, FindsOverlappingPrefixes) {
  const NamespaceCase& c = GetParam();
  ConnectorIndex index;
  for (const auto& s : c.connectors) index.upsert(facts(s));
  EXPECT_EQ(keys(index.namespaces_containing(c.topic)), c.containing)
      << "namespaces_containing(" << c.topic << ")";
  EXPECT_EQ(keys(index.prefixes_extending(c.prefix, c.delimiter)), c.extending)
      << "prefixes_extending(" << c.prefix << ", " << c.delimiter << ")";
}

std::string namespace_case_name(const ::testing::TestParamInfo<NamespaceCase>& info) {
  std::string name(info.param.name);
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(ConnectorIndex, ConnectorIndexNamespaces, ::testing::ValuesIn(namespace_cases()),
                         namespace_case_name);

}  // namespace
}  // namespace cdcguard
