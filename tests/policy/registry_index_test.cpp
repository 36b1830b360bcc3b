// RegistryIndex's topic lookups: the registry entries the topic rules compare
// a connector with, found by probes rather than a scan of every entry.

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cdcguard/model/registry_parser.hpp"
#include "cdcguard/policy/registry_index.hpp"

namespace cdcguard {
namespace {

// The connectors of some entries, sorted.
std::vector<std::string> connectors(const RegistryIndex::Entries& entries) {
  std::vector<std::string> out;
  for (const RegistryEntry* e : entries) out.push_back(e->connector);
  std::sort(out.begin(), out.end());
  return out;
}

using Keys = std::vector<std::string>;

const Registry& registry() {
  static const Registry r = parse_registry(R"(entries:
  - {connector: a/shop, serverId: 184001, status: Active, topicPrefix: shop, schemaHistoryTopic: history.shop}
  - {connector: a/shop-orders, serverId: 184002, status: Reserved, topicPrefix: shop.orders, schemaHistoryTopic: shop.history}
  - {connector: a/underscore, serverId: 184003, status: Pending, claimUid: u, expiresAt: 2026-01-01T00:00:00Z, topicPrefix: shop_eu, topicDelimiter: _}
  - {connector: a/custom, serverId: 184004, status: Active, topicPrefix: warehouse, topicDelimiter: _, schemaHistoryTopic: shop}
  - {connector: a/gone, serverId: 184005, status: Decommissioned, decommissionedAt: 2025-01-01, topicPrefix: shop, schemaHistoryTopic: shop.gone}
  - {connector: a/bare, serverId: 184006, status: Active}
)",
                                           "registry.yaml");
  return r;
}

TEST(RegistryIndexTopics, ExactPrefixAndHistoryTopic) {
  const RegistryIndex index(registry());
  // The Decommissioned entry holds nothing and is not indexed.
  EXPECT_EQ(connectors(index.entries_with_prefix("shop")), Keys{"a/shop"});
  EXPECT_EQ(connectors(index.entries_with_prefix("shop.orders")), Keys{"a/shop-orders"});
  EXPECT_EQ(connectors(index.entries_with_prefix("sho")), Keys{});
  EXPECT_EQ(connectors(index.entries_with_history_topic("history.shop")), Keys{"a/shop"});
  EXPECT_EQ(connectors(index.entries_with_history_topic("shop.gone")), Keys{});
  EXPECT_EQ(connectors(index.entries_with_history_topic("")), Keys{});
}

TEST(RegistryIndexTopics, NamespacesContainingATopicUseEachEntrysDelimiter) {
  const RegistryIndex index(registry());
  EXPECT_EQ(connectors(index.namespaces_containing("shop.orders")), Keys{"a/shop"});
  EXPECT_EQ(connectors(index.namespaces_containing("shop.orders.items")), (Keys{"a/shop", "a/shop-orders"}));
  EXPECT_EQ(connectors(index.namespaces_containing("warehouse_stock")), Keys{"a/custom"});
  // warehouse's delimiter is "_", so "warehouse.stock" is not in its namespace.
  EXPECT_EQ(connectors(index.namespaces_containing("warehouse.stock")), Keys{});
  EXPECT_EQ(connectors(index.namespaces_containing("shop_eu_x")), Keys{"a/underscore"});
  // Prefix plus delimiter alone is no topic of the namespace; the prefix itself is matched exactly elsewhere.
  EXPECT_EQ(connectors(index.namespaces_containing("shop.")), Keys{});
  EXPECT_EQ(connectors(index.namespaces_containing("shop")), Keys{});
}

TEST(RegistryIndexTopics, PrefixesAndHistoryTopicsExtendingANamespace) {
  const RegistryIndex index(registry());
  EXPECT_EQ(connectors(index.prefixes_extending("shop", ".")), Keys{"a/shop-orders"});
  EXPECT_EQ(connectors(index.prefixes_extending("shop", "_")), Keys{"a/underscore"});
  EXPECT_EQ(connectors(index.prefixes_extending("shop.orders", ".")), Keys{});
  EXPECT_EQ(connectors(index.history_topics_extending("shop", ".")), Keys{"a/shop-orders"});
  EXPECT_EQ(connectors(index.history_topics_extending("history", ".")), Keys{"a/shop"});
  EXPECT_EQ(connectors(index.history_topics_extending("history", "_")), Keys{});
}

}  // namespace
}  // namespace cdcguard
