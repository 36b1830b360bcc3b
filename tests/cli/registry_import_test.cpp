// `cdc-guard registry import --from-files`, run in process: the registry of
// a GitOps repository built from its manifests. (From a live cluster, with
// --registry-configmap: tests/e2e/day2_e2e.cpp.)
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cdcguard/model/registry_parser.hpp"
#include "cli/commands.hpp"
#include "support/temp_dir.hpp"

namespace cdcguard::cli {
namespace {

namespace fs = std::filesystem;
using testing_support::TempDir;

struct Ran {
  int exit_code;
  std::string out;
  std::string err;
};

Ran run_cli(const std::vector<std::string>& args) {
  std::istringstream in;
  std::ostringstream out;
  std::ostringstream err;
  const int code = run(args, Streams{in, out, err});
  return {code, out.str(), err.str()};
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

std::string connector(const std::string& ns, const std::string& name, const std::string& id,
                      const std::string& history) {
  return "apiVersion: kafka.strimzi.io/v1\nkind: KafkaConnector\nmetadata:\n  name: " + name +
         "\n  namespace: " + ns +
         "\n  labels: {strimzi.io/cluster: cdc}\nspec:\n  class: io.debezium.connector.mysql.MySqlConnector\n"
         "  config:\n    database.server.id: \"" +
         id + "\"\n    topic.prefix: " + name + "\n    schema.history.internal.kafka.topic: " + history +
         "\n";
}

class RegistryImportFromFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_.path() / "repo");
    write(dir_.path() / "repo" / "shop.yaml",
          connector("shop", "orders-cdc", "184001", "schema-history.orders") + "---\n" +
              connector("shop", "users-cdc", "184002", "schema-history.users") + "---\n" +
              connector("shop", "twin-a", "184003", "schema-history.twin-a") + "---\n" +
              connector("shop", "twin-b", "184003", "schema-history.twin-b") + "---\n" +
              connector("shop", "copy-a", "184004", "schema-history.copied") + "---\n" +
              connector("shop", "copy-b", "184005", "schema-history.copied"));
    write(registry(),
          "rules:\n  range: {from: 184000, to: 184999}\nteams:\n"
          "  - {name: team-shop, namespaces: [shop], range: {from: 184000, to: 184099}}\n"
          "entries:\n"
          "  - {connector: shop/users-cdc, serverId: 184002, status: Active, owner: team-shop, date: "
          "2026-01-01}\n");
  }
  fs::path registry() const { return dir_.path() / "registry.yaml"; }
  std::vector<std::string> import_args(bool apply) const {
    std::vector<std::string> args{
        "registry", "import", "--registry",           registry().string(), "--cluster-name",
        "gitops",   "--now",  "2026-11-25T10:00:00Z", "--from-files",      (dir_.path() / "repo").string()};
    if (apply) args.push_back("--apply");
    return args;
  }
  TempDir dir_{"cdcguard-import"};
};

TEST_F(RegistryImportFromFiles, WithoutApplyItPrintsTheChangeAndWritesNothing) {
  const std::string before = slurp(registry());
  const auto r = run_cli(import_args(false));
  EXPECT_EQ(r.exit_code, 1) << "some connectors were not imported\n" << r.out << r.err;
  EXPECT_EQ(slurp(registry()), before);
  EXPECT_NE(
      r.out.find("| shop/orders-cdc | 184001 | team-shop | orders-cdc | schema-history.orders | gitops |"),
      std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("| shop/users-cdc | 184002"), std::string::npos) << "already registered\n" << r.out;
  for (const char* listed :
       {"| shop/twin-a | 184003 | shared-in-cluster |", "| shop/twin-b | 184003 | shared-in-cluster |",
        "| shop/copy-a | 184004 | shared-history-topic |", "| shop/copy-b | 184005 | shared-history-topic |"})
    EXPECT_NE(r.out.find(listed), std::string::npos) << listed << "\n" << r.out;
  EXPECT_NE(r.out.find("```diff\n--- "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("+  - {connector: shop/orders-cdc, serverId: 184001"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("run again with --apply"), std::string::npos) << r.out;
}

TEST_F(RegistryImportFromFiles, ApplyWritesTheEntriesAndASecondApplyChangesNothing) {
  const auto first = run_cli(import_args(true));
  EXPECT_EQ(first.exit_code, 1) << first.out << first.err;
  const std::string written = slurp(registry());
  const Registry r = parse_registry(written, "registry.yaml");
  ASSERT_EQ(r.entries.size(), 2u) << written;
  const auto entry = [&](const std::string& key) {
    for (const auto& e : r.entries)
      if (e.connector == key) return e;
    ADD_FAILURE() << "no entry of " << key << "\n" << written;
    return RegistryEntry{};
  };
  EXPECT_EQ(entry("shop/users-cdc").cluster, "") << "an existing entry is left as it was";
  const RegistryEntry orders = entry("shop/orders-cdc");
  EXPECT_EQ(orders.server_id, 184001u);
  EXPECT_EQ(orders.status, EntryStatus::Active);
  EXPECT_EQ(orders.owner, "team-shop");
  EXPECT_EQ(orders.cluster, "gitops");
  EXPECT_EQ(orders.schema_history_topic, "schema-history.orders");

  const auto second = run_cli(import_args(true));
  EXPECT_EQ(second.exit_code, 1) << second.out << second.err;
  EXPECT_NE(second.out.find("Nothing to import"), std::string::npos) << second.out;
  EXPECT_EQ(slurp(registry()), written) << "the second run changes nothing";
}

TEST_F(RegistryImportFromFiles, AMissingRegistryFileIsCreatedWithTheDefaults) {
  fs::remove(registry());
  const auto r = run_cli(import_args(true));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const Registry made = parse_registry(slurp(registry()), "registry.yaml");
  EXPECT_EQ(made.entries.size(), 2u) << "orders-cdc and users-cdc";
  EXPECT_EQ(made.rules.range.from, 184000u);
}

TEST_F(RegistryImportFromFiles, UnreadableInputsImportNothing) {
  write(dir_.path() / "repo" / "broken.yaml", "kind: [unclosed\n");
  const std::string before = slurp(registry());
  const auto r = run_cli(import_args(true));
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("broken.yaml"), std::string::npos) << r.err;
  EXPECT_EQ(slurp(registry()), before);
}

// A registry kept as a ConfigMap manifest: the plan is printed, --apply
// refuses rather than turn the manifest into bare YAML.
TEST_F(RegistryImportFromFiles, AConfigMapManifestIsPlannedButNotRewritten) {
  const std::string manifest =
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: registry, namespace: cdc-guard}\ndata:\n"
      "  registry.yaml: |\n    rules:\n      range: {from: 184000, to: 184999}\n";
  write(registry(), manifest);
  auto args = import_args(false);
  const auto plan = run_cli(args);
  EXPECT_EQ(plan.exit_code, 1) << plan.out << plan.err;
  EXPECT_NE(plan.out.find("+  - {connector: shop/orders-cdc, serverId: 184001"), std::string::npos)
      << plan.out;
  args.push_back("--apply");
  const auto refused = run_cli(args);
  EXPECT_EQ(refused.exit_code, 2) << refused.out << refused.err;
  EXPECT_NE(refused.err.find("is a ConfigMap manifest"), std::string::npos) << refused.err;
  EXPECT_EQ(slurp(registry()), manifest);
}

TEST(RegistryImportUsage, NeedsOneTarget) {
  const auto r = run_cli({"registry", "import", "--from-files", "x.yaml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("give one of --registry-configmap NS/NAME and --registry FILE"), std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace cdcguard::cli
