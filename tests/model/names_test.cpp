// Kubernetes names and registry keys: what the API server accepts for a
// namespace (DNS-1123 label) and a custom resource name (DNS-1123 subdomain).
#include <gtest/gtest.h>

#include <string>

#include "cdcguard/model/names.hpp"
#include "cdcguard/model/registry_parser.hpp"
#include "support/fixtures.hpp"

namespace cdcguard {
namespace {

using testing_support::ScenarioName;

struct NameCase {
  const char* name;
  std::string text;
  bool label;            // a valid namespace
  bool subdomain;        // a valid object name
  const char* why = "";  // part of the problem for a subdomain ("" when valid)
};

void PrintTo(const NameCase& c, std::ostream* os) {
  *os << c.name;
}

class KubernetesNames : public ::testing::TestWithParam<NameCase> {};

TEST_P(KubernetesNames, AreJudgedAsTheApiServerJudgesThem) {
  const NameCase& c = GetParam();
  EXPECT_EQ(dns1123_label_problem(c.text).empty(), c.label) << dns1123_label_problem(c.text);
  const std::string problem = dns1123_subdomain_problem(c.text);
  EXPECT_EQ(problem.empty(), c.subdomain) << problem;
  EXPECT_NE(problem.find(c.why), std::string::npos) << problem;
}

INSTANTIATE_TEST_SUITE_P(
    Names, KubernetesNames,
    ::testing::Values(NameCase{"simple", "orders-cdc", true, true}, NameCase{"one-letter", "a", true, true},
                      NameCase{"one-digit", "7", true, true}, NameCase{"digits-first", "123-abc", true, true},
                      NameCase{"dotted", "orders.v2", false, true},
                      NameCase{"many-parts", "a.b-c.d", false, true},
                      NameCase{"empty", "", false, false, "it is empty"},
                      NameCase{"slash", "a/b", false, false, "lowercase letters, digits, '-' and '.'"},
                      NameCase{"uppercase", "Orders-cdc", false, false, "lowercase"},
                      NameCase{"underscore", "orders_cdc", false, false, "lowercase"},
                      NameCase{"space", "orders cdc", false, false, "lowercase"},
                      NameCase{"leading-dash", "-orders", false, false, "start and end"},
                      NameCase{"trailing-dash", "orders-", false, false, "start and end"},
                      NameCase{"leading-dot", ".orders", false, false, "start and end"},
                      NameCase{"trailing-dot", "orders.", false, false, "start and end"},
                      NameCase{"double-dot", "a..b", false, false, "start and end"},
                      NameCase{"dash-before-dot", "a-.b", false, false, "start and end"},
                      NameCase{"dash-after-dot", "a.-b", false, false, "start and end"},
                      NameCase{"non-ascii", "caf\xc3\xa9", false, false, "lowercase"},
                      NameCase{"newline", "a\nb", false, false, "lowercase"},
                      NameCase{"label-at-63", std::string(63, 'a'), true, true},
                      NameCase{"label-at-64", std::string(64, 'a'), false, true},
                      NameCase{"subdomain-at-253", std::string(125, 'a') + "." + std::string(127, 'b'), false,
                               true},
                      NameCase{"subdomain-part-over-63", std::string(200, 'a'), false, true},
                      NameCase{"subdomain-at-254", std::string(254, 'a'), false, false,
                               "it has 254 characters, at most 253"}),
    ScenarioName{});

TEST(KubernetesNames, ALabelLongerThan63IsNamedWithItsLength) {
  EXPECT_EQ(dns1123_label_problem(std::string(64, 'a')), "it has 64 characters, at most 63 are allowed");
}

struct KeyCase {
  const char* name;
  std::string key;
  const char* problem;  // "" when the key is valid, else a part of the message
};

void PrintTo(const KeyCase& c, std::ostream* os) {
  *os << c.name;
}

class ConnectorKeys : public ::testing::TestWithParam<KeyCase> {};

// The same function judges a key built from a request (namespace, name) and
// one read from the registry ("namespace/name").
TEST_P(ConnectorKeys, AreValidOnlyAsADns1123NamespaceAndName) {
  const KeyCase& c = GetParam();
  const std::string problem = connector_key_problem(c.key);
  if (std::string(c.problem).empty()) {
    EXPECT_EQ(problem, "");
  } else {
    EXPECT_NE(problem.find(c.problem), std::string::npos) << problem;
  }
  const std::size_t slash = c.key.find('/');
  if (slash != std::string::npos) {
    EXPECT_EQ(connector_key_problem(c.key.substr(0, slash), c.key.substr(slash + 1)).empty(),
              problem.empty());
  }
}

INSTANTIATE_TEST_SUITE_P(
    Keys, ConnectorKeys,
    ::testing::Values(KeyCase{"valid", "ecommerce/orders-cdc", ""},
                      KeyCase{"dotted-name", "ecommerce/orders.v2", ""},
                      KeyCase{"no-slash", "orders-cdc", "connector \"orders-cdc\" is not \"namespace/name\""},
                      KeyCase{"empty", "", "connector \"\" is not \"namespace/name\""},
                      KeyCase{
                          "slash-in-name", "ecommerce/a/b",
                          "connector \"ecommerce/a/b\": name \"a/b\" is not a valid Kubernetes object name "
                          "(DNS-1123 subdomain)"},
                      KeyCase{"empty-namespace", "/nsm3",
                              "connector \"/nsm3\": namespace \"\" is not a valid Kubernetes namespace name "
                              "(DNS-1123 label): it is empty"},
                      KeyCase{"empty-name", "ecommerce/", "name \"\" is not"},
                      KeyCase{"dotted-namespace", "shop.eu/orders", "namespace \"shop.eu\" is not"},
                      KeyCase{"uppercase-namespace", "Ecommerce/orders", "namespace \"Ecommerce\" is not"},
                      KeyCase{"uppercase-name", "ecommerce/Orders", "name \"Orders\" is not"},
                      KeyCase{"control-bytes-are-escaped", "ecommerce/a\nb\x7f", "name \"a\\x0ab\\x7f\""}),
    ScenarioName{});

TEST(ConnectorKeys, ALongKeyIsCutInTheMessage) {
  const std::string problem = connector_key_problem("ecommerce/" + std::string(300, 'x'));
  EXPECT_NE(problem.find("it has 300 characters, at most 253"), std::string::npos) << problem;
  EXPECT_LT(problem.size(), 400u) << "the name is shown whole";
}

// The registry reader refuses what the key check refuses, with file:line.
TEST(ConnectorKeys, TheRegistryParserRefusesTheSameKeys) {
  for (const char* key : {"ecommerce/a/b", "/nsm3", "ecommerce/Orders", "orders"}) {
    SCOPED_TRACE(key);
    try {
      parse_registry(
          std::string("entries:\n  - {connector: \"") + key + "\", serverId: 184001, status: Active}\n",
          "r.yaml");
      FAIL() << "parsed";
    } catch (const RegistryError& e) {
      ASSERT_EQ(e.problems().size(), 1u);
      EXPECT_EQ(e.problems()[0], "r.yaml:2: entry " + connector_key_problem(key));
    }
  }
}

}  // namespace
}  // namespace cdcguard
