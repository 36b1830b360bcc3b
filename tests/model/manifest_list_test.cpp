// parse_manifests reads the items of a top-level List one at a time (a
// `kubectl get -o yaml` of a big cluster is tens of MB); what it finds must be
// what reading the whole tree found: the same objects, lines and errors, and
// nothing from a document that turns out not to be a List or not to parse.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cdcguard/model/manifest.hpp"

namespace cdcguard {
namespace {

ManifestSet parse(const std::string& text) {
  ManifestSet set;
  parse_manifests(text, "list.yaml", "default", set);
  return set;
}

std::vector<std::string> connectors_of(const ManifestSet& set) {
  std::vector<std::string> out;
  for (const auto& c : set.connectors)
    out.push_back(c.key() + "@" + std::to_string(c.location.line) + " id@" +
                  std::to_string(c.server_id_line));
  return out;
}

std::vector<std::string> connects_of(const ManifestSet& set) {
  std::vector<std::string> out;
  for (const auto& c : set.connect_clusters) out.push_back(c.key() + "@" + std::to_string(c.location.line));
  return out;
}

std::vector<std::string> errors_of(const ManifestSet& set) {
  std::vector<std::string> out;
  for (const auto& e : set.errors) out.push_back(std::to_string(e.location.line) + ": " + e.message);
  return out;
}

// As kubectl prints it: keys sorted, so `items` comes before `kind`.
const std::string kKubectlList = R"(apiVersion: v1
items:
- apiVersion: kafka.strimzi.io/v1
  kind: KafkaConnector
  metadata:
    name: orders-cdc
    namespace: shop
    managedFields:
    - {manager: kubectl, fieldsV1: {"f:spec": {"f:config": {}}}}
  spec:
    config:
      database.server.id: 184001
  status: {conditions: [{type: Ready, status: "True"}]}
- apiVersion: v1
  kind: Secret
  metadata: {name: db, namespace: shop}
- apiVersion: kafka.strimzi.io/v1
  kind: KafkaConnector
  metadata: {namespace: shop}
- apiVersion: kafka.strimzi.io/v1beta2
  kind: KafkaConnect
  metadata: {name: connect, namespace: shop}
  spec: {bootstrapServers: "kafka:9092"}
- apiVersion: v1
  kind: List
  items:
  - apiVersion: kafka.strimzi.io/v1beta2
    kind: KafkaConnector
    metadata: {name: nested-cdc}
    spec: {config: {database.server.id: "184002"}}
kind: List
metadata:
  resourceVersion: ""
)";

TEST(ManifestList, ReadsEveryItemOfAListInKubectlOrder) {
  const ManifestSet set = parse(kKubectlList);
  EXPECT_EQ(connectors_of(set),
            (std::vector<std::string>{"shop/orders-cdc@3 id@12", "default/nested-cdc@27 id@30"}));
  EXPECT_EQ(connects_of(set), (std::vector<std::string>{"shop/connect@20"}));
  EXPECT_EQ(errors_of(set), (std::vector<std::string>{"17: KafkaConnector has no metadata.name"}));
}

TEST(ManifestList, ReadsTheItemsOfEachListDocumentOfAStream) {
  const ManifestSet set = parse(kKubectlList + "---\n" + kKubectlList);
  EXPECT_EQ(connectors_of(set).size(), 4u);
  const int second =
      static_cast<int>(std::count(kKubectlList.begin(), kKubectlList.end(), '\n')) + 2;  // after ---
  EXPECT_EQ(set.connectors[2].location.line, second + 2);
  EXPECT_EQ(errors_of(set).size(), 2u);
}

struct NotAListCase {
  std::string name;
  std::string text;
  std::vector<std::string> connectors;
};

class ManifestNotAList : public testing::TestWithParam<NotAListCase> {};

// Items are read before `kind` is known; when it is not a List they count for nothing.
TEST_P(ManifestNotAList, ItsItemsAreNotRead) {
  const ManifestSet set = parse(GetParam().text);
  EXPECT_EQ(connectors_of(set), GetParam().connectors);
  EXPECT_TRUE(set.errors.empty()) << errors_of(set)[0];
}

const std::string kItem = R"(- apiVersion: kafka.strimzi.io/v1
  kind: KafkaConnector
  metadata: {name: hidden-cdc, namespace: shop}
)";

INSTANTIATE_TEST_SUITE_P(
    ManifestList, ManifestNotAList,
    testing::Values(NotAListCase{"config_map", "apiVersion: v1\nitems:\n" + kItem + "kind: ConfigMap\n", {}},
                    NotAListCase{"no_kind", "items:\n" + kItem, {}},
                    NotAListCase{"connector_with_an_items_key",
                                 "apiVersion: kafka.strimzi.io/v1\nitems:\n" + kItem +
                                     "kind: KafkaConnector\nmetadata: {name: outer-cdc, namespace: shop}\n",
                                 {"shop/outer-cdc@1 id@0"}}),
    [](const testing::TestParamInfo<NotAListCase>& param_info) { return param_info.param.name; });

// A syntax error loses the rest of the file, the List whose items were already
// read included; documents before it are kept.
TEST(ManifestList, SyntaxErrorInAListDropsItsItemsAlreadyRead) {
  const std::string text =
      "apiVersion: kafka.strimzi.io/v1\nkind: KafkaConnector\n"
      "metadata: {name: first-cdc, namespace: shop}\n"
      "---\n"
      "kind: List\nitems:\n" +
      kItem + kItem + "- [unclosed\n";
  const ManifestSet set = parse(text);
  EXPECT_EQ(connectors_of(set), (std::vector<std::string>{"shop/first-cdc@1 id@0"}));
  ASSERT_EQ(set.errors.size(), 1u);
  EXPECT_EQ(set.errors[0].location.line, 14);
  EXPECT_TRUE(set.errors[0].message.starts_with("malformed YAML")) << set.errors[0].message;
}

TEST(ManifestList, ItemsThatAreNotAListAreAnError) {
  const ManifestSet set = parse("kind: List\nitems: {a: 1}\n");
  EXPECT_EQ(errors_of(set), (std::vector<std::string>{"1: List: items must be a list"}));
}

}  // namespace
}  // namespace cdcguard
