// `cdc-guard registry init` and an empty registry given to `check`, run in
// process: creating a registry is a deliberate act, and an empty file is a
// broken registry, never the defaults.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

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

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

// The process umask for the life of a test.
class Umask {
 public:
  explicit Umask(mode_t mask) : old_(::umask(mask)) {}
  ~Umask() { ::umask(old_); }
  Umask(const Umask&) = delete;
  Umask& operator=(const Umask&) = delete;

 private:
  mode_t old_;
};

TEST(CliRegistryInit, WritesTheDefaultRegistryAsCanonicalYamlUnderAHeader) {
  TempDir dir;
  const fs::path file = dir.path() / "registry.yaml";
  const Umask umask(022);
  const Ran r = run_cli({"registry", "init", "--registry", file.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(file.string()), std::string::npos) << r.out;
  const std::string text = slurp(file);
  EXPECT_TRUE(text.starts_with("# ")) << text;
  EXPECT_NE(text.find("range: {from: 184000, to: 184999}"), std::string::npos) << text;
  EXPECT_NE(text.find("embargoDays: 30"), std::string::npos) << text;
  EXPECT_EQ(parse_registry(text, "registry.yaml"), default_registry());
  EXPECT_EQ(mode_of(file), 0644u);
  // What init wrote is what the rest of cdc-guard reads.
  const Ran render = run_cli({"registry", "render", "--registry", file.string(), "--format", "yaml"});
  EXPECT_EQ(render.exit_code, 0) << render.err;
}

TEST(CliRegistryInit, ANewFileHonoursTheUmask) {
  TempDir dir;
  const fs::path file = dir.path() / "registry.yaml";
  const Umask umask(027);
  ASSERT_EQ(run_cli({"registry", "init", "--registry", file.string()}).exit_code, 0);
  EXPECT_EQ(mode_of(file), 0640u);
}

TEST(CliRegistryInit, RefusesToOverwriteARegistryUnlessForced) {
  TempDir dir;
  const fs::path file = dir.path() / "registry.yaml";
  const std::string kept =
      "rules:\n  range: {from: 1, to: 9}\nentries:\n  - {connector: a/b, serverId: 3, status: Active}\n";
  std::ofstream(file) << kept;
  ASSERT_EQ(::chmod(file.c_str(), 0640), 0);
  const Ran refused = run_cli({"registry", "init", "--registry", file.string()});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find("already holds something"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("--force"), std::string::npos) << refused.err;
  EXPECT_EQ(slurp(file), kept);

  const Ran forced = run_cli({"registry", "init", "--registry", file.string(), "--force"});
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_EQ(parse_registry(slurp(file), "registry.yaml"), default_registry());
  EXPECT_EQ(mode_of(file), 0640u) << "a replaced file keeps its mode";
}

TEST(CliRegistryInit, AnEmptyFileIsReplacedWithoutForce) {
  TempDir dir;
  const fs::path file = dir.path() / "registry.yaml";
  std::ofstream(file) << "\n";
  EXPECT_EQ(run_cli({"registry", "init", "--registry", file.string()}).exit_code, 0);
  EXPECT_EQ(parse_registry(slurp(file), "registry.yaml"), default_registry());
}

TEST(CliRegistryInit, UsageErrorsExitTwo) {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"registry", "init"},
                                               {"registry", "init", "--registry"},
                                               {"registry", "init", "--registry", "x.yaml", "extra"},
                                               {"registry", "init", "--bogus"}}) {
    const Ran r = run_cli(args);
    EXPECT_EQ(r.exit_code, 2) << testing::PrintToString(args);
    EXPECT_NE(r.err.find("Usage: cdc-guard registry init"), std::string::npos) << r.err;
  }
  const Ran unwritable = run_cli({"registry", "init", "--registry", "/nonexistent-dir/registry.yaml"});
  EXPECT_EQ(unwritable.exit_code, 2);
  EXPECT_NE(unwritable.err.find("/nonexistent-dir/registry.yaml"), std::string::npos) << unwritable.err;
}

TEST(CliRegistryInit, IsListedInTheHelp) {
  const Ran help = run_cli({"registry", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("init"), std::string::npos) << help.out;
  const Ran init_help = run_cli({"registry", "init", "--help"});
  EXPECT_EQ(init_help.exit_code, 0);
  EXPECT_NE(init_help.out.find("--force"), std::string::npos) << init_help.out;
}

// check --registry on an emptied file: exit 2 with file:line, nothing checked
// against defaults that would hide every registered id.
TEST(CliCheckEmptyRegistry, ExitsTwoWithAClearMessage) {
  TempDir dir;
  const fs::path registry = dir.path() / "registry.yaml";
  const fs::path manifest = dir.path() / "connector.yaml";
  std::ofstream(manifest) << R"(apiVersion: kafka.strimzi.io/v1
kind: KafkaConnector
metadata: {name: orders-cdc, namespace: ecommerce}
spec:
  class: io.debezium.connector.mysql.MySqlConnector
  config: {database.server.id: "184001", topic.prefix: shop, schema.history.internal.kafka.topic: sh.shop}
)";
  for (const std::string text : {"", "  \n", "# nothing here\n"}) {
    SCOPED_TRACE(testing::PrintToString(text));
    std::ofstream(registry, std::ios::trunc) << text;
    const Ran r = run_cli({"check", "--registry", registry.string(), manifest.string()});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find(registry.string() + ":1: the registry is empty"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("cdc-guard registry init"), std::string::npos) << r.err;
  }
  // Without --registry the defaults apply, as before.
  EXPECT_EQ(run_cli({"check", manifest.string()}).exit_code, 0);
}

}  // namespace
}  // namespace cdcguard::cli
