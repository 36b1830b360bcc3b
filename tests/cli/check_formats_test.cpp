// `check --output sarif|junit|github` through the built binary: the exit codes
// are those of text and JSON, and each format reports what JSON reports.
// tests/consumers/ validates the same output against the consumers' schemas.
#include <regex>

#include "cdcguard/version.hpp"
#include "cli/cli_runner.hpp"

namespace {

using namespace cdcguard::cli_testing;

struct FormatCase {
  std::string name;
  std::vector<std::string> args;  // after "check --output FORMAT", run in tests/fixtures/cli
  int exit_code;
};

class CliCheckFormats : public testing::TestWithParam<std::tuple<std::string, FormatCase>> {};

// Every format exits as text and JSON do, and prints something on stdout.
TEST_P(CliCheckFormats, ExitLikeJson) {
  const auto& [format, c] = GetParam();
  std::vector<std::string> args{"check", "--output", format};
  args.insert(args.end(), c.args.begin(), c.args.end());
  const RunResult r = run_cdcguard(args, in_dir(fixture("")));
  ASSERT_TRUE(ExitedWith(r, c.exit_code));
  EXPECT_FALSE(r.out.empty());
  args[2] = "json";
  EXPECT_TRUE(ExitedWith(run_cdcguard(args, in_dir(fixture(""))), c.exit_code));
}

INSTANTIATE_TEST_SUITE_P(
    Cli, CliCheckFormats,
    testing::Combine(
        testing::Values("sarif", "junit", "github"),
        testing::Values(
            FormatCase{"clean", {"--registry", "registry.yaml", "clean.yaml"}, 0},
            FormatCase{"warnings_only", {"--registry", "registry.yaml", "warn-only.yaml"}, 0},
            FormatCase{"deny", {"--registry", "registry.yaml", "duplicate.yaml"}, 1},
            FormatCase{"malformed", {"--registry", "registry.yaml", "malformed.yaml", "duplicate.yaml"}, 2},
            FormatCase{"invalid_registry", {"--registry", "registry-invalid.yaml", "clean.yaml"}, 2})),
    [](const auto& param_info) {
      return std::get<0>(param_info.param) + "_" + std::get<1>(param_info.param).name;
    });

TEST(CliCheckSarif, HasTheJsonReportsFindingsWithRelativeUris) {
  const std::vector<std::string> inputs{"--registry",     "registry.yaml",  "--now",         "2026-03-20",
                                        "duplicate.yaml", "embargoed.yaml", "warn-only.yaml"};
  std::vector<std::string> args{"check", "--output", "sarif"};
  args.insert(args.end(), inputs.begin(), inputs.end());
  const RunResult r = run_cdcguard(args, in_dir(fixture("")));
  ASSERT_TRUE(ExitedWith(r, 1));
  args[2] = "json";
  const auto twin = parse_json(run_cdcguard(args, in_dir(fixture(""))).out);
  const auto log = parse_json(r.out);
  ASSERT_TRUE(log && twin) << r.out;
  const json& run = log->at("runs").at(0);
  EXPECT_EQ(run["tool"]["driver"]["version"], cdcguard::kVersion);
  const json& results = run["results"];
  ASSERT_EQ(results.size(), twin->at("violations").size());
  for (std::size_t i = 0; i < results.size(); ++i) {
    const json& v = twin->at("violations")[i];
    const json& physical = results[i]["locations"][0]["physicalLocation"];
    EXPECT_EQ(results[i]["ruleId"], v["rule"]);
    EXPECT_EQ(physical["artifactLocation"]["uri"], v["file"]);
    EXPECT_EQ(physical["artifactLocation"]["uriBaseId"], "%SRCROOT%");
    EXPECT_EQ(physical["region"]["startLine"], v["line"]);
  }
  EXPECT_EQ(run["invocations"][0]["executionSuccessful"], true);
}

TEST(CliCheckSarif, AnInvalidRegistryIsAFailedInvocation) {
  const RunResult r =
      run_cdcguard({"check", "--output", "sarif", "--registry", "registry-invalid.yaml", "clean.yaml"},
                   in_dir(fixture("")));
  ASSERT_TRUE(ExitedWith(r, 2));
  EXPECT_TRUE(contains(r.err, "nothing was checked")) << r.err;
  const auto log = parse_json(r.out);
  ASSERT_TRUE(log) << r.out;
  const json& invocation = log->at("runs")[0]["invocations"][0];
  EXPECT_EQ(invocation["executionSuccessful"], false);
  ASSERT_EQ(invocation["toolExecutionNotifications"].size(), 1u);
  const json& where = invocation["toolExecutionNotifications"][0]["locations"][0]["physicalLocation"];
  EXPECT_EQ(where["artifactLocation"]["uri"], "registry-invalid.yaml");
  EXPECT_EQ(where["region"]["startLine"], 5);
}

TEST(CliCheckJunit, ListsEveryObjectCheckedAndFailsTheDeniedOnes) {
  const RunResult r = run_cdcguard({"check", "--output", "junit", "--registry", "registry.yaml",
                                    "duplicate.yaml", "warn-only.yaml", "malformed.yaml"},
                                   in_dir(fixture("")));
  ASSERT_TRUE(ExitedWith(r, 2));
  EXPECT_TRUE(contains(r.out, "<testsuite name=\"cdc-guard check\" tests=\"4\" failures=\"1\" errors=\"1\""))
      << r.out;
  EXPECT_TRUE(
      contains(r.out,
               "<testcase classname=\"duplicate.yaml\" name=\"kafkaconnector/ecommerce/refunds-cdc\">\n"
               "      <failure message=\"server.id 184001 is held by ecommerce/orders-cdc"))
      << r.out;
  EXPECT_TRUE(
      contains(r.out,
               "<testcase classname=\"warn-only.yaml\" name=\"kafkaconnector/ecommerce/orders-cdc\">\n"
               "      <system-out>warn-only.yaml:11: warning: [topic-prefix-overlap]"))
      << r.out;
  EXPECT_TRUE(contains(r.out,
                       "<testcase classname=\"malformed.yaml\" name=\"malformed.yaml:10\">\n"
                       "      <error message=\"malformed YAML"))
      << r.out;
  EXPECT_EQ(r.err, "");
}

TEST(CliCheckGithub, AnnotatesFileAndLineThenSummarises) {
  const RunResult r = run_cdcguard(
      {"check", "--output", "github", "--registry", "registry.yaml", "duplicate.yaml", "audit-only.yaml"},
      in_dir(fixture("")));
  ASSERT_TRUE(ExitedWith(r, 1));
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_TRUE(
      lines[0].starts_with("::warning file=audit-only.yaml,line=13,title=schema-history-topic-collides::"
                           "kafkaconnector/warehouse/parts-cdc spec.config.schema.history.internal."
                           "kafka.topic: "))
      << lines[0];
  EXPECT_TRUE(lines[0].ends_with(" (audit)")) << lines[0];
  EXPECT_TRUE(
      lines[1].starts_with("::error file=duplicate.yaml,line=10,title=server-id-duplicate::"
                           "kafkaconnector/ecommerce/refunds-cdc spec.config.database.server.id: "))
      << lines[1];
  EXPECT_EQ(lines[2], "checked 2 connectors and 0 KafkaConnects in 2 files: 1 error, 1 warning");
}

TEST(CliCheckGithub, StdinIsNamedInTheMessageNotAsAFile) {
  const RunResult r =
      run_cdcguard({"check", "--output", "github", "--registry", fixture_arg("registry.yaml"), "-"},
                   with_stdin(read_text(fixture("duplicate.yaml")) + "\n---\nkey: [unclosed\n"));
  ASSERT_TRUE(ExitedWith(r, 2));
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_TRUE(
      std::regex_match(lines[0], std::regex(R"(::error title=input error::<stdin>:\d+: malformed YAML.*)")))
      << lines[0];
  EXPECT_TRUE(lines[1].starts_with(
      "::error title=server-id-duplicate::<stdin>:10: kafkaconnector/ecommerce/refunds-cdc "))
      << lines[1];
}

}  // namespace
