// Runs the built cdc-guard binary as a subprocess (no shell) and checks exit
// codes, stdout/stderr and the JSON report: what a CI pipeline sees.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <random>
#include <regex>
#include <thread>

#include "cli/cli_runner.hpp"

namespace {

using namespace cdcguard::cli_testing;

// The last line of text output: "checked N connectors and M KafkaConnects in F files: ...".
const std::regex kSummaryLine(
    R"(^checked \d+ connectors? and \d+ KafkaConnects? in \d+ files?: \d+ errors?, \d+ warnings?.*$)");
const std::regex kViolationLine(
    R"(^[^:]+:\d+: (error|warning): \[[a-z0-9-]+\] [a-z0-9.-]+/[a-z0-9.-]+ spec\.[A-Za-z0-9.]+: .+$)");

// ---------------------------------------------------------------------------
// --version, --help

TEST(CliVersion, PrintsNameAndSemverAndExitsZero) {
  const RunResult r = run_cdcguard({"--version"});
  ASSERT_TRUE(ExitedWith(r, 0));
  EXPECT_TRUE(std::regex_match(r.out, std::regex(R"(cdc-guard \d+\.\d+\.\d+\n)"))) << r.out;
  EXPECT_EQ(r.err, "");
}

struct HelpCase {
  std::string name;
  std::vector<std::string> args;
  std::vector<std::string> mentions;
};

class CliHelp : public testing::TestWithParam<HelpCase> {};

TEST_P(CliHelp, PrintsUsageOnStdoutAndExitsZero) {
  const HelpCase& c = GetParam();
  const RunResult r = run_cdcguard(c.args);
  ASSERT_TRUE(ExitedWith(r, 0));
  EXPECT_TRUE(contains(r.out, "Usage")) << r.out;
  for (const auto& m : c.mentions) EXPECT_TRUE(contains(r.out, m)) << "missing \"" << m << "\" in\n" << r.out;
  EXPECT_EQ(r.err, "");
}

INSTANTIATE_TEST_SUITE_P(
    Cli, CliHelp,
    testing::Values(HelpCase{"top", {"--help"}, {"check", "registry render", "registry next", "--version"}},
                    HelpCase{"top_short", {"-h"}, {"check", "registry"}},
                    HelpCase{"check",
                             {"check", "--help"},
                             {"--registry", "--namespace", "--now", "--output",
                              "text|json|sarif|junit|github", "PATH", "Exit codes"}},
                    HelpCase{"check_short", {"check", "-h"}, {"--registry", "--output"}},
                    HelpCase{"registry", {"registry", "--help"}, {"render", "next"}},
                    HelpCase{"registry_render",
                             {"registry", "render", "--help"},
                             {"--registry", "--format", "markdown|yaml"}},
                    HelpCase{"registry_next",
                             {"registry", "next", "--help"},
                             {"--registry", "--namespace", "--connector", "--now", "Exit codes"}}),
    case_name<HelpCase>);

// ---------------------------------------------------------------------------
// Usage errors: exit 2, a message on stderr, nothing on stdout

struct UsageCase {
  std::string name;
  std::vector<std::string> args;
  std::string message;  // on stderr
};

class CliUsageError : public testing::TestWithParam<UsageCase> {};

TEST_P(CliUsageError, ExitsTwoWithMessageOnStderr) {
  const UsageCase& c = GetParam();
  const RunResult r = run_cdcguard(c.args);
  ASSERT_TRUE(ExitedWith(r, 2));
  EXPECT_TRUE(contains(r.err, c.message)) << "missing \"" << c.message << "\" in stderr:\n" << r.err;
  EXPECT_EQ(r.out, "");
}

const std::string kClean = fixture_arg("clean.yaml");
const std::string kRegistry = fixture_arg("registry.yaml");

INSTANTIATE_TEST_SUITE_P(
    Cli, CliUsageError,
    testing::Values(
        UsageCase{"no_arguments", {}, "Usage"},
        UsageCase{"unknown_command", {"frobnicate"}, "unknown command \"frobnicate\""},
        UsageCase{"unknown_top_option", {"--verbose"}, "unknown command \"--verbose\""},
        UsageCase{"check_unknown_option", {"check", "--bogus", kClean}, "unknown option --bogus"},
        UsageCase{
            "check_unknown_option_with_value", {"check", "--format=json", kClean}, "unknown option --format"},
        UsageCase{"check_missing_path", {"check"}, "give at least one PATH"},
        UsageCase{
            "check_missing_path_after_flags", {"check", "--registry", kRegistry}, "give at least one PATH"},
        UsageCase{"check_flag_without_value", {"check", kClean, "--registry"}, "--registry needs a value"},
        UsageCase{"check_bad_output",
                  {"check", "--output", "xml", kClean},
                  "--output must be one of text|json|sarif|junit|github"},
        UsageCase{"check_bad_output_equals",
                  {"check", "--output=yaml", kClean},
                  "--output must be one of text|json|sarif|junit|github"},
        UsageCase{"check_bad_now", {"check", "--now", "yesterday", kClean}, "--now must be an RFC 3339 time"},
        UsageCase{"check_now_without_offset",
                  {"check", "--now", "2026-05-01T12:00:00", kClean},
                  "--now must be an RFC 3339 time"},
        UsageCase{"check_now_impossible_date", {"check", "--now", "2026-02-30", kClean}, "--now must be"},
        UsageCase{
            "check_empty_namespace", {"check", "--namespace=", kClean}, "--namespace must not be empty"},
        UsageCase{"registry_without_subcommand", {"registry"}, "render"},
        UsageCase{"registry_unknown_subcommand", {"registry", "bogus"}, "unknown subcommand \"bogus\""},
        UsageCase{"render_without_registry", {"registry", "render"}, "--registry FILE is required"},
        UsageCase{"render_bad_format",
                  {"registry", "render", "--registry", kRegistry, "--format", "html"},
                  "--format must be markdown or yaml"},
        UsageCase{"render_unknown_option",
                  {"registry", "render", "--registry", kRegistry, "--namespace", "x"},
                  "unknown option --namespace"},
        UsageCase{"render_stray_argument",
                  {"registry", "render", "--registry", kRegistry, "extra"},
                  "unexpected argument extra"},
        UsageCase{
            "next_without_registry", {"registry", "next", "--namespace", "ecommerce"}, "--registry FILE"},
        UsageCase{"next_without_namespace", {"registry", "next", "--registry", kRegistry}, "--namespace NS"},
        UsageCase{"next_bad_now",
                  {"registry", "next", "--registry", kRegistry, "--namespace", "ecommerce", "--now", "never"},
                  "--now must be"}),
    case_name<UsageCase>);

// ---------------------------------------------------------------------------
// check: exit codes

struct CheckCase {
  std::string name;
  std::vector<std::string> args;  // after "check"
  int exit_code;
  std::vector<std::string> rules;  // rule ids reported, in order of the JSON report
};

class CliCheckExitCode : public testing::TestWithParam<CheckCase> {};

TEST_P(CliCheckExitCode, MatchesTheWorstViolation) {
  const CheckCase& c = GetParam();
  std::vector<std::string> args{"check", "--output", "json"};
  args.insert(args.end(), c.args.begin(), c.args.end());
  const RunResult r = run_cdcguard(args);
  ASSERT_TRUE(ExitedWith(r, c.exit_code));
  const auto report = parse_json(r.out);
  ASSERT_TRUE(report) << r.out;
  EXPECT_EQ(rules_of(*report), c.rules);
}

INSTANTIATE_TEST_SUITE_P(
    Cli, CliCheckExitCode,
    testing::Values(CheckCase{"clean_tree", {"--registry", kRegistry, fixture_arg("clean.yaml")}, 0, {}},
                    CheckCase{"clean_without_registry", {fixture_arg("clean.yaml")}, 0, {}},
                    CheckCase{
                        "json_manifest", {"--registry", kRegistry, fixture_arg("connector.json")}, 0, {}},
                    CheckCase{"deny_duplicate",
                              {"--registry", kRegistry, fixture_arg("duplicate.yaml")},
                              1,
                              {"server-id-duplicate"}},
                    CheckCase{"warn_only",
                              {"--registry", kRegistry, fixture_arg("warn-only.yaml")},
                              0,
                              {"topic-prefix-overlap", "topic-prefix-overlap"}},
                    CheckCase{"audit_only",
                              {"--registry", kRegistry, fixture_arg("audit-only.yaml")},
                              0,
                              {"schema-history-topic-collides"}},
                    // Without the registry's enforcement, the same overlap is denied.
                    CheckCase{"warn_rule_denied_by_default",
                              {fixture_arg("warn-only.yaml")},
                              1,
                              {"topic-prefix-overlap", "topic-prefix-overlap"}}),
    case_name<CheckCase>);

TEST(CliCheck, MalformedYamlExitsTwoWithFileAndLine) {
  const RunResult r = run_cdcguard({"check", "malformed.yaml"}, in_dir(fixture("")));
  ASSERT_TRUE(ExitedWith(r, 2));
  // The flow sequence opened on line 9 is found unterminated on line 10.
  EXPECT_TRUE(contains(r.err, "malformed.yaml:10: error: malformed YAML")) << r.err;
}

TEST(CliCheck, ParseErrorWinsOverViolationsButViolationsAreStillReported) {
  const RunResult r = run_cdcguard(
      {"check", "--registry", "registry.yaml", "duplicate.yaml", "malformed.yaml"}, in_dir(fixture("")));
  ASSERT_TRUE(ExitedWith(r, 2));
  EXPECT_TRUE(contains(r.err, "malformed.yaml:10:")) << r.err;
  EXPECT_TRUE(contains(r.out, "duplicate.yaml:10: error: [server-id-duplicate]")) << r.out;
}

TEST(CliCheck, MalformedYamlInJsonOutputIsListedUnderErrors) {
  const RunResult r = run_cdcguard({"check", "--output", "json", "malformed.yaml"}, in_dir(fixture("")));
  ASSERT_TRUE(ExitedWith(r, 2));
  const auto report = parse_json(r.out);
  ASSERT_TRUE(report) << r.out;
  ASSERT_TRUE(report->contains("errors")) << r.out;
  ASSERT_EQ(report->at("errors").size(), 1u);
  EXPECT_EQ(report->at("errors")[0].at("file"), "malformed.yaml");
  EXPECT_EQ(report->at("errors")[0].at("line"), 10);
  EXPECT_TRUE(contains(report->at("errors")[0].at("message").get<std::string>(), "malformed YAML"));
}

// libyaml reports reader errors (control characters, invalid UTF-8) by byte
// offset only; the line must still be the bad byte's.
TEST(CliCheck, ControlCharacterIsReportedOnItsLine) {
  TempDir tmp;
  tmp.write("ctl.yaml", "apiVersion: kafka.strimzi.io/v1\nkind: KafkaConnector\nmetadata:\n  name: a\x01b\n");
  const RunResult r = run_cdcguard({"check", "ctl.yaml"}, in_dir(tmp.path()));
  ASSERT_TRUE(ExitedWith(r, 2));
  EXPECT_TRUE(contains(r.err, "ctl.yaml:4: error: malformed YAML: control characters are not allowed"))
      << r.err;
}

TEST(CliCheck, MissingPathExitsTwoNamingIt) {
  TempDir tmp;
  const std::string missing = (tmp.path() / "nope.yaml").string();
  const RunResult r = run_cdcguard({"check", kClean, missing});
  ASSERT_TRUE(ExitedWith(r, 2));
  EXPECT_TRUE(contains(r.err, missing + ": error: no such file or directory")) << r.err;
}

TEST(CliCheck, MissingDirectoryExitsTwo) {
  TempDir tmp;
  const std::string missing = (tmp.path() / "gone").string() + "/";
  const RunResult r = run_cdcguard({"check", missing});
  ASSERT_TRUE(ExitedWith(r, 2));
  EXPECT_TRUE(contains(r.err, "gone")) << r.err;
}

// ---------------------------------------------------------------------------
// check: invalid registry

struct RegistryErrorCase {
  std::string name;
  std::string registry;  // fixture name, or a path that does not exist
  std::string message;   // on stderr, after "<registry>:"
};

class CliCheckInvalidRegistry : public testing::TestWithParam<RegistryErrorCase> {};

TEST_P(CliCheckInvalidRegistry, ExitsTwoWithRegistryFileAndLine) {
  const RegistryErrorCase& c = GetParam();
  const RunResult r = run_cdcguard({"check", "--registry", c.registry, "clean.yaml"}, in_dir(fixture("")));
  ASSERT_TRUE(ExitedWith(r, 2));
  EXPECT_TRUE(contains(r.err, c.registry + ":" + c.message)) << r.err;
  EXPECT_TRUE(contains(r.err, "nothing was checked")) << r.err;
  EXPECT_EQ(r.out, "");
}

INSTANTIATE_TEST_SUITE_P(
    Cli, CliCheckInvalidRegistry,
    testing::Values(RegistryErrorCase{"bad_server_id", "registry-invalid.yaml",
                                      "5: entry ecommerce/bad-cdc: serverId must be an integer"},
                    // The ConfigMap's block scalar maps back onto the file's own line numbers.
                    RegistryErrorCase{"configmap_bad_status", "registry-configmap-invalid.yaml",
                                      "16: entry ecommerce/orders-cdc: unknown status \"Running\""},
                    RegistryErrorCase{"missing_file", "no-such-registry.yaml", " no such file or directory"},
                    RegistryErrorCase{"manifest_is_not_a_registry", "malformed.yaml", "10: malformed YAML"}),
    case_name<RegistryErrorCase>);

TEST(CliCheck, InvalidRegistryInJsonModeStillPrintsAJsonDocument) {
  const RunResult r =
      run_cdcguard({"check", "--output", "json", "--registry", "registry-invalid.yaml", "clean.yaml"},
                   in_dir(fixture("")));
  ASSERT_TRUE(ExitedWith(r, 2));
  const auto report = parse_json(r.out);
  ASSERT_TRUE(report) << r.out;
  EXPECT_TRUE(report->at("violations").empty());
  ASSERT_EQ(report->at("errors").size(), 1u) << r.out;
  EXPECT_EQ(report->at("errors")[0].at("file"), "registry-invalid.yaml");
  EXPECT_EQ(report->at("errors")[0].at("line"), 5);
  EXPECT_TRUE(
      contains(report->at("errors")[0].at("message").get<std::string>(), "serverId must be an integer"));
}

// ---------------------------------------------------------------------------
// check: output formats

TEST(CliCheck, TextOutputLooksLikeACompiler) {
  const RunResult r = run_cdcguard({"check", "--registry", "registry.yaml", "--now", "2026-03-20",
                                    "duplicate.yaml", "embargoed.yaml", "warn-only.yaml"},
                                   in_dir(fixture("")));
  ASSERT_TRUE(ExitedWith(r, 1));
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 5u) << r.out;
  for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
    EXPECT_TRUE(std::regex_match(lines[i], kViolationLine)) << lines[i];
  }
  EXPECT_TRUE(
      lines[0].starts_with("duplicate.yaml:10: error: [server-id-duplicate] ecommerce/refunds-cdc "
                           "spec.config.database.server.id: "))
      << lines[0];
  EXPECT_TRUE(contains(lines[0], "ecommerce/orders-cdc")) << lines[0];
  EXPECT_TRUE(
      lines[1].starts_with("embargoed.yaml:10: error: [server-id-embargoed] warehouse/inventory-cdc "
                           "spec.config.database.server.id: "))
      << lines[1];
  EXPECT_TRUE(lines[2].starts_with(
      "warn-only.yaml:11: warning: [topic-prefix-overlap] ecommerce/orders-cdc spec.config.topic.prefix: "))
      << lines[2];
  EXPECT_TRUE(lines[3].starts_with(
      "warn-only.yaml:23: warning: [topic-prefix-overlap] ecommerce/returns-cdc spec.config.topic.prefix: "))
      << lines[3];
  EXPECT_TRUE(std::regex_match(lines[4], kSummaryLine)) << lines[4];
  EXPECT_EQ(lines[4], "checked 4 connectors and 0 KafkaConnects in 3 files: 2 errors, 2 warnings");
  EXPECT_EQ(r.err, "");
}

TEST(CliCheck, TextOutputMarksAuditViolations) {
  const RunResult r =
      run_cdcguard({"check", "--registry", "registry.yaml", "audit-only.yaml"}, in_dir(fixture("")));
  ASSERT_TRUE(ExitedWith(r, 0));
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_TRUE(
      lines[0].starts_with("audit-only.yaml:13: warning: [schema-history-topic-collides] warehouse/parts-cdc "
                           "spec.config.schema.history.internal.kafka.topic: "))
      << lines[0];
  EXPECT_TRUE(lines[0].ends_with(" (audit)")) << lines[0];
}

// A pull request holding one file is judged against every registered
// connector whose entry records its topics (issue 11), and never against the
// entry of the connector it changes.
TEST(CliCheck, JudgesTopicsAgainstTheRegistryEntriesOfConnectorsNotInTheFiles) {
  TempDir tmp;
  tmp.write("registry.yaml", R"(rules:
  range: {from: 184000, to: 184999}
entries:
  - {connector: ecommerce/orders-cdc, serverId: 184001, status: Active, date: 2026-01-15, topicPrefix: shop, schemaHistoryTopic: schema-history.shop}
)");
  const std::string connector = R"(apiVersion: kafka.strimzi.io/v1
kind: KafkaConnector
metadata:
  name: NAME
  namespace: ecommerce
spec:
  class: io.debezium.connector.mysql.MySqlConnector
  config:
    database.server.id: ID
    topic.prefix: PREFIX
    schema.history.internal.kafka.topic: schema-history.shop
)";
  const auto manifest = [&](std::string name, std::string id, std::string prefix) {
    std::string text = connector;
    text.replace(text.find("NAME"), 4, name);
    text.replace(text.find("ID"), 2, id);
    text.replace(text.find("PREFIX"), 6, prefix);
    return text;
  };
  tmp.write("refunds.yaml", manifest("refunds-cdc", "184002", "refunds"));
  tmp.write("orders.yaml", manifest("orders-cdc", "184001", "shop"));

  const RunResult taken =
      run_cdcguard({"check", "--registry", "registry.yaml", "refunds.yaml"}, in_dir(tmp.path()));
  ASSERT_TRUE(ExitedWith(taken, 1));
  const auto lines = lines_of(taken.out);
  ASSERT_EQ(lines.size(), 2u) << taken.out;
  EXPECT_EQ(
      lines[0],
      "refunds.yaml:11: error: [schema-history-topic-shared] ecommerce/refunds-cdc "
      "spec.config.schema.history.internal.kafka.topic: schema history topic \"schema-history.shop\" is "
      "also used by registry entry ecommerce/orders-cdc (server id 184001): a shared history topic mixes "
      "DDL of two databases and breaks recovery; give this connector its own history topic, e.g. "
      "\"schema-history.refunds\", or, if ecommerce/orders-cdc no longer exists, mark its "
      "registry entry Decommissioned");

  const RunResult own =
      run_cdcguard({"check", "--registry", "registry.yaml", "orders.yaml"}, in_dir(tmp.path()));
  EXPECT_TRUE(ExitedWith(own, 0));
  EXPECT_EQ(lines_of(own.out).size(), 1u) << own.out;
}

// Where `text` holds a byte a terminal would act on rather than print: a C0
// control other than the newline ending a line, DEL, or a C1 control, line
// separator or bidi override in UTF-8. npos when there is none.
std::size_t first_control(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c < 0x20 && c != '\n') || c == 0x7f) return i;
    const std::string_view rest = text.substr(i);
    if (c == 0xc2 && rest.size() > 1 && static_cast<unsigned char>(rest[1]) <= 0x9f) return i;
    if (rest.starts_with("\xe2\x80\xa8") || rest.starts_with("\xe2\x80\xa9") ||
        rest.starts_with("\xe2\x80\xae"))
      return i;
  }
  return std::string_view::npos;
}

testing::AssertionResult Printable(const std::string& text) {
  const std::size_t at = first_control(text);
  if (at == std::string_view::npos) return testing::AssertionSuccess();
  return testing::AssertionFailure() << "control byte 0x" << std::hex
                                     << int(static_cast<unsigned char>(text[at])) << " at offset " << std::dec
                                     << at << " in:\n"
                                     << text;
}

// A hostile manifest must not send escape sequences to the terminal, nor forge
// or split finding lines: text output shows every control character escaped.
TEST(CliCheck, TextOutputEscapesControlCharactersFromInputs) {
  const RunResult r =
      run_cdcguard({"check", "--registry", "registry.yaml", "hostile-names.yaml"}, in_dir(fixture("")));
  ASSERT_TRUE(ExitedWith(r, 1));
  EXPECT_TRUE(Printable(r.out));
  EXPECT_TRUE(Printable(r.err));
  const auto lines = lines_of(r.out);
  // 5 findings (the prefix holds characters Debezium refuses: topic-prefix-invalid, twice) and the summary
  ASSERT_EQ(lines.size(), 6u) << r.out;
  for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
    EXPECT_TRUE(lines[i].starts_with("hostile-names.yaml:")) << lines[i];
  }
  EXPECT_EQ(lines[5], "checked 2 connectors and 0 KafkaConnects in 1 file: 5 errors, 0 warnings");
  EXPECT_TRUE(
      lines[0].starts_with("hostile-names.yaml:12: error: [server-id-duplicate] "
                           "ecommerce/evil\\x1b[2J\\x1b]0;owned\\x07-cdc spec.config.database.server.id: "))
      << lines[0];
  const std::string prefix =
      "\"shop\\nfake.yaml:1: error: [forged]\\x00\\x7f\\u0085\\u2028\\\\x1b\\u202eend\"";
  EXPECT_TRUE(contains(lines[1], "topic prefix " + prefix + " is also used by ecommerce\\r/twin-cdc"))
      << lines[1];
  EXPECT_TRUE(lines[2].starts_with("hostile-names.yaml:13: error: [topic-prefix-invalid] ")) << lines[2];
  EXPECT_TRUE(
      lines[3].starts_with("hostile-names.yaml:25: error: [topic-prefix-duplicate] ecommerce\\r/twin-cdc "))
      << lines[3];
}

// JSON has its own escaping: the values stay exactly what the manifest holds.
TEST(CliCheck, JsonOutputKeepsTheExactValues) {
  const RunResult r =
      run_cdcguard({"check", "--registry", "registry.yaml", "--output", "json", "hostile-names.yaml"},
                   in_dir(fixture("")));
  ASSERT_TRUE(ExitedWith(r, 1));
  EXPECT_TRUE(Printable(r.out));
  const auto report = parse_json(r.out);
  ASSERT_TRUE(report) << r.out;
  EXPECT_NE(find_violation(*report, "server-id-duplicate", "ecommerce/evil\x1b[2J\x1b]0;owned\a-cdc"),
            nullptr)
      << r.out;
  EXPECT_NE(find_violation(*report, "topic-prefix-duplicate", "ecommerce\r/twin-cdc"), nullptr) << r.out;
}

// File names are input too: a name with an escape sequence or a newline.
TEST(CliCheck, TextOutputEscapesFileNames) {
  TempDir tmp;
  tmp.write("in\x1b[8m.yaml", "key: [unclosed\n");
  tmp.copy_fixture("clean.yaml", "a.yaml");
  tmp.copy_fixture("clean.yaml", "b\nfake.yaml:1: error: .yaml");
  const RunResult r = run_cdcguard({"check", "."}, in_dir(tmp.path()));
  ASSERT_TRUE(ExitedWith(r, 2));
  EXPECT_TRUE(Printable(r.out));
  EXPECT_TRUE(Printable(r.err));
  EXPECT_TRUE(contains(r.err, "./in\\x1b[8m.yaml:2: error: malformed YAML")) << r.err;
  EXPECT_TRUE(contains(r.err,
                       "./b\\nfake.yaml:1: error: .yaml:2: error: KafkaConnector ecommerce/orders-cdc is "
                       "defined twice (first at ./a.yaml:2)"))
      << r.err;
  // One line per error: the two connectors and the KafkaConnect defined twice, the malformed file.
  EXPECT_EQ(lines_of(r.err).size(), 4u) << r.err;
}

TEST(CliCheck, JsonReportHasEveryFieldWithTheRightValues) {
  const std::string duplicate = fixture_arg("duplicate.yaml");
  const std::string audit = fixture_arg("audit-only.yaml");
  const RunResult r = run_cdcguard({"check", "--registry", kRegistry, "--output", "json", duplicate, audit});
  ASSERT_TRUE(ExitedWith(r, 1));
  EXPECT_EQ(r.err, "");
  const auto report = parse_json(r.out);
  ASSERT_TRUE(report) << r.out;
  ASSERT_TRUE(report->at("violations").is_array());
  ASSERT_EQ(report->at("violations").size(), 2u) << report->dump(2);
  for (const auto& v : report->at("violations")) {
    for (const char* key : {"rule", "severity", "connector", "path", "message", "file", "line"}) {
      EXPECT_TRUE(v.contains(key)) << key << " missing in " << v.dump();
    }
    EXPECT_TRUE(v.at("severity") == "error" || v.at("severity") == "warning") << v.dump();
    EXPECT_TRUE(v.at("line").is_number_integer()) << v.dump();
  }

  const json* dup = find_violation(*report, "server-id-duplicate", "ecommerce/refunds-cdc");
  ASSERT_NE(dup, nullptr) << report->dump(2);
  EXPECT_EQ(dup->at("severity"), "error");
  EXPECT_EQ(dup->at("path"), "spec.config.database.server.id");
  EXPECT_EQ(dup->at("file"), duplicate);
  EXPECT_EQ(dup->at("line"), 10);
  const std::string message = dup->at("message");
  EXPECT_TRUE(contains(message, "184001")) << message;
  EXPECT_TRUE(contains(message, "ecommerce/orders-cdc")) << message;
  EXPECT_TRUE(contains(message, "next free id for team-a: 184000")) << message;

  const json* collides = find_violation(*report, "schema-history-topic-collides", "warehouse/parts-cdc");
  ASSERT_NE(collides, nullptr) << report->dump(2);
  EXPECT_EQ(collides->at("severity"), "warning");
  EXPECT_EQ(collides->at("path"), "spec.config.schema.history.internal.kafka.topic");
  EXPECT_EQ(collides->at("file"), audit);
  EXPECT_EQ(collides->at("line"), 13);

  const json& summary = report->at("summary");
  EXPECT_EQ(summary.at("connectors"), 2);
  EXPECT_EQ(summary.at("errors"), 1);
  EXPECT_EQ(summary.at("warnings"), 1);
  EXPECT_EQ(summary.at("files"), 2);
  EXPECT_EQ(summary.at("connectClusters"), 0);
  EXPECT_FALSE(report->contains("errors")) << "no input errors expected";
}

TEST(CliCheck, JsonSummaryCountsConnectClusters) {
  const RunResult r = run_cdcguard({"check", "--output", "json", kClean});
  ASSERT_TRUE(ExitedWith(r, 0));
  const auto report = parse_json(r.out);
  ASSERT_TRUE(report) << r.out;
  EXPECT_EQ(report->at("violations").size(), 0u);
  EXPECT_EQ(report->at("summary").at("connectors"), 2);
  EXPECT_EQ(report->at("summary").at("connectClusters"), 1);
  EXPECT_EQ(report->at("summary").at("errors"), 0);
}

// ---------------------------------------------------------------------------
// check: inputs

TEST(CliCheck, ReadsStdinAsDash) {
  const RunResult r = run_cdcguard({"check", "--registry", kRegistry, "--output", "json", "-"},
                                   with_stdin(read_text(fixture("duplicate.yaml"))));
  ASSERT_TRUE(ExitedWith(r, 1));
  const auto report = parse_json(r.out);
  ASSERT_TRUE(report) << r.out;
  const json* dup = find_violation(*report, "server-id-duplicate", "ecommerce/refunds-cdc");
  ASSERT_NE(dup, nullptr) << r.out;
  EXPECT_EQ(dup->at("file"), "<stdin>");
  EXPECT_EQ(dup->at("line"), 10);
}

TEST(CliCheck, ChecksStdinAgainstFiles) {
  // clean.yaml's orders-cdc holds 184001; the same id on stdin is a duplicate of it.
  const RunResult r = run_cdcguard({"check", kClean, "-"}, with_stdin(read_text(fixture("duplicate.yaml"))));
  ASSERT_TRUE(ExitedWith(r, 1));
  EXPECT_TRUE(contains(
      r.out,
      "<stdin>:10: error: [server-id-duplicate] ecommerce/refunds-cdc spec.config.database.server.id: "))
      << r.out;
  EXPECT_TRUE(contains(r.out, "in 2 files")) << r.out;
}

TEST(CliCheck, EmptyStdinIsClean) {
  const RunResult r = run_cdcguard({"check", "-"}, with_stdin(""));
  ASSERT_TRUE(ExitedWith(r, 0));
  EXPECT_TRUE(contains(r.out, "checked 0 connectors")) << r.out;
}

TEST(CliCheck, MalformedStdinNamesStdin) {
  const RunResult r = run_cdcguard({"check", "-"}, with_stdin(read_text(fixture("malformed.yaml"))));
  ASSERT_TRUE(ExitedWith(r, 2));
  EXPECT_TRUE(contains(r.err, "<stdin>:10: error: malformed YAML")) << r.err;
}

// `cdc-guard check <(kustomize build overlays/prod)`: the path is a pipe with
// no size, read to its end.
TEST(CliCheck, ReadsANamedPipeLikeProcessSubstitution) {
  TempDir tmp;
  const fs::path fifo = tmp.path() / "rendered.yaml";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
  const std::string text = read_text(fixture("duplicate.yaml"));
  std::atomic<bool> done{false};
  // Opening a FIFO for writing fails with ENXIO until somebody reads it.
  std::thread writer([&] {
    while (!done) {
      const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      if (fd < 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        continue;
      }
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
      for (std::size_t off = 0; off < text.size();) {
        const ssize_t n = ::write(fd, text.data() + off, text.size() - off);
        if (n <= 0) break;
        off += static_cast<std::size_t>(n);
      }
      ::close(fd);
      return;
    }
  });
  const RunResult r = run_cdcguard({"check", "--registry", kRegistry, fifo.string()});
  done = true;
  writer.join();
  ASSERT_TRUE(ExitedWith(r, 1));
  EXPECT_TRUE(contains(
      r.out, fifo.string() +
                 ":10: error: [server-id-duplicate] ecommerce/refunds-cdc spec.config.database.server.id: "))
      << r.out;
}

TEST(CliCheck, DirectoryRecursionPicksManifestExtensionsAndSkipsHiddenDirs) {
  TempDir tmp;
  const fs::path root = tmp.path() / "gitops";
  tmp.copy_fixture("clean.yaml", "gitops/clean.yaml");                       // 2 connectors, 1 KafkaConnect
  tmp.copy_fixture("squatter.yaml", "gitops/apps/squatter.yml");             // 1 connector
  tmp.copy_fixture("connector.json", "gitops/apps/deep/er/connector.json");  // 1 connector
  // Each of these would fail the check if it were read.
  const std::string bad = read_text(fixture("duplicate.yaml"));
  tmp.write("gitops/.git/objects/dup.yaml", bad);
  tmp.write("gitops/.hidden/dup.yml", bad);
  tmp.write("gitops/apps/dup.yaml.bak", bad);
  tmp.write("gitops/apps/dup.txt", bad);
  tmp.write("gitops/README.md", bad);
  tmp.write("gitops/kustomization", bad);
  tmp.write("gitops/garbage.yml.orig", "\x01\x02 not yaml [");

  const RunResult r = run_cdcguard({"check", "--registry", kRegistry, "--output", "json", root.string()});
  ASSERT_TRUE(ExitedWith(r, 0));
  const auto report = parse_json(r.out);
  ASSERT_TRUE(report) << r.out;
  EXPECT_EQ(report->at("violations").size(), 0u) << r.out;
  EXPECT_EQ(report->at("summary").at("files"), 3);
  EXPECT_EQ(report->at("summary").at("connectors"), 4);
  EXPECT_EQ(report->at("summary").at("connectClusters"), 1);
}

TEST(CliCheck, DirectoryRecursionFindsViolationsInNestedFiles) {
  TempDir tmp;
  tmp.copy_fixture("clean.yaml", "tree/a/clean.yaml");
  const fs::path nested = tmp.copy_fixture("duplicate.yaml", "tree/b/c/d/dup.yml");
  const RunResult r = run_cdcguard({"check", "--output", "json", (tmp.path() / "tree").string()});
  ASSERT_TRUE(ExitedWith(r, 1));
  const auto report = parse_json(r.out);
  ASSERT_TRUE(report) << r.out;
  const json* dup = find_violation(*report, "server-id-duplicate", "ecommerce/refunds-cdc");
  ASSERT_NE(dup, nullptr) << r.out;
  EXPECT_EQ(dup->at("file"), nested.string());
}

// ---------------------------------------------------------------------------
// check: --namespace, --registry (ConfigMap), --now

struct NamespaceCase {
  std::string name;
  std::vector<std::string> flags;
  int exit_code;
  std::string connector;  // as reported when a rule fires
};

class CliCheckNamespace : public testing::TestWithParam<NamespaceCase> {};

TEST_P(CliCheckNamespace, AppliesToObjectsWithoutOne) {
  const NamespaceCase& c = GetParam();
  std::vector<std::string> args{"check", "--registry", kRegistry, "--output", "json"};
  args.insert(args.end(), c.flags.begin(), c.flags.end());
  args.push_back(fixture_arg("no-namespace.yaml"));
  const RunResult r = run_cdcguard(args);
  ASSERT_TRUE(ExitedWith(r, c.exit_code));
  const auto report = parse_json(r.out);
  ASSERT_TRUE(report) << r.out;
  if (c.connector.empty()) {
    EXPECT_EQ(report->at("violations").size(), 0u) << r.out;
  } else {
    const json* v = find_violation(*report, "server-id-outside-team-range", c.connector);
    ASSERT_NE(v, nullptr) << r.out;
    EXPECT_TRUE(contains(v->at("message").get<std::string>(), "team-a")) << v->dump();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cli, CliCheckNamespace,
    testing::Values(
        // "default" belongs to no team: the global range holds 184120.
        NamespaceCase{"default_namespace_has_no_team", {}, 0, ""},
        NamespaceCase{"team_b_namespace_holds_the_id", {"--namespace", "warehouse"}, 0, ""},
        NamespaceCase{"team_a_namespace_does_not", {"--namespace", "ecommerce"}, 1, "ecommerce/roaming-cdc"},
        NamespaceCase{"equals_form", {"--namespace=ecommerce"}, 1, "ecommerce/roaming-cdc"}),
    case_name<NamespaceCase>);

TEST(CliCheck, NamespaceDoesNotOverrideAnExplicitOne) {
  // duplicate.yaml says namespace: ecommerce; --namespace only fills a missing one.
  const RunResult r = run_cdcguard({"check", "--registry", kRegistry, "--namespace", "warehouse", "--output",
                                    "json", fixture_arg("duplicate.yaml")});
  ASSERT_TRUE(ExitedWith(r, 1));
  const auto report = parse_json(r.out);
  ASSERT_TRUE(report) << r.out;
  EXPECT_NE(find_violation(*report, "server-id-duplicate", "ecommerce/refunds-cdc"), nullptr) << r.out;
}

TEST(CliCheck, RegistryMayBeAConfigMapManifest) {
  // squatter.yaml takes 184005: free in registry.yaml, orders-cdc's in the ConfigMap.
  const std::string squatter = fixture_arg("squatter.yaml");
  const RunResult plain = run_cdcguard({"check", "--registry", kRegistry, squatter});
  ASSERT_TRUE(ExitedWith(plain, 0));

  const RunResult r = run_cdcguard(
      {"check", "--registry", fixture_arg("registry-configmap.yaml"), "--output", "json", squatter});
  ASSERT_TRUE(ExitedWith(r, 1));
  const auto report = parse_json(r.out);
  ASSERT_TRUE(report) << r.out;
  const json* dup = find_violation(*report, "server-id-duplicate", "ecommerce/squatter-cdc");
  ASSERT_NE(dup, nullptr) << r.out;
  EXPECT_TRUE(contains(dup->at("message").get<std::string>(), "ecommerce/orders-cdc")) << dup->dump();
}

struct NowCase {
  std::string name;
  std::string now;
  int exit_code;
};

class CliCheckNow : public testing::TestWithParam<NowCase> {};

TEST_P(CliCheckNow, DecidesTheEmbargo) {
  // warehouse/stock-cdc released 184101 on 2026-03-10; embargoDays: 30.
  const NowCase& c = GetParam();
  const RunResult r = run_cdcguard(
      {"check", "--registry", kRegistry, "--now", c.now, "--output", "json", fixture_arg("embargoed.yaml")});
  ASSERT_TRUE(ExitedWith(r, c.exit_code));
  const auto report = parse_json(r.out);
  ASSERT_TRUE(report) << r.out;
  const json* v = find_violation(*report, "server-id-embargoed", "warehouse/inventory-cdc");
  if (c.exit_code == 0) {
    EXPECT_EQ(v, nullptr) << r.out;
  } else {
    ASSERT_NE(v, nullptr) << r.out;
    EXPECT_TRUE(contains(v->at("message").get<std::string>(), "warehouse/stock-cdc")) << v->dump();
    EXPECT_TRUE(contains(v->at("message").get<std::string>(), "184100")) << v->dump();  // the fix
  }
}

INSTANTIATE_TEST_SUITE_P(Cli, CliCheckNow,
                         testing::Values(NowCase{"day_of_release", "2026-03-10T12:00:00Z", 1},
                                         NowCase{"ten_days_later", "2026-03-20", 1},
                                         NowCase{"with_offset", "2026-03-20T01:00:00+02:00", 1},
                                         NowCase{"two_months_later", "2026-05-10T00:00:00Z", 0}),
                         case_name<NowCase>);

// ---------------------------------------------------------------------------
// registry render

TEST(CliRegistryRender, MarkdownHasHeaderRulesAndOneRowPerEntry) {
  const RunResult r = run_cdcguard({"registry", "render", "--registry", kRegistry, "--format", "markdown"});
  ASSERT_TRUE(ExitedWith(r, 0));
  EXPECT_EQ(r.err, "");
  const auto lines = lines_of(r.out);
  const auto header = std::find(lines.begin(), lines.end(),
                                "| Connector Name | Server ID | Database | Status | Owner | Date |");
  ASSERT_NE(header, lines.end()) << r.out;
  ASSERT_GE(lines.end() - header, 5) << r.out;
  EXPECT_EQ(*(header + 1), "|---|---|---|---|---|---|");
  EXPECT_EQ(*(header + 2), "| ecommerce/orders-cdc | 184001 | ecommerce | Active | team-a | 2026-01-15 |");
  EXPECT_EQ(*(header + 3), "| ecommerce/payments-cdc | 184002 | payments | Reserved | team-a | 2026-02-01 |");
  EXPECT_TRUE((header + 4)->starts_with("| warehouse/stock-cdc | 184101 | warehouse | Decommissioned"))
      << *(header + 4);
  // The allocation rules above the table.
  const std::string above = r.out.substr(0, r.out.find("| Connector Name"));
  EXPECT_TRUE(contains(above, "184000-184999")) << above;
  EXPECT_TRUE(contains(above, "184000-184099")) << above;
  EXPECT_TRUE(contains(above, "30 days")) << above;
  EXPECT_TRUE(contains(above, "184999")) << above;
}

TEST(CliRegistryRender, MarkdownIsTheDefaultFormat) {
  const RunResult r = run_cdcguard({"registry", "render", "--registry", kRegistry});
  ASSERT_TRUE(ExitedWith(r, 0));
  EXPECT_TRUE(contains(r.out, "| Connector Name | Server ID | Database | Status | Owner | Date |")) << r.out;
}

TEST(CliRegistryRender, ReadsAConfigMapRegistry) {
  const RunResult r =
      run_cdcguard({"registry", "render", "--registry", fixture_arg("registry-configmap.yaml")});
  ASSERT_TRUE(ExitedWith(r, 0));
  EXPECT_TRUE(contains(r.out, "| ecommerce/orders-cdc | 184005 | ecommerce | Active | team-a | 2026-01-15 |"))
      << r.out;
}

TEST(CliRegistryRender, InvalidRegistryExitsTwoWithFileAndLine) {
  const RunResult r =
      run_cdcguard({"registry", "render", "--registry", "registry-invalid.yaml"}, in_dir(fixture("")));
  ASSERT_TRUE(ExitedWith(r, 2));
  EXPECT_TRUE(contains(r.err, "registry-invalid.yaml:5: ")) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(CliRegistryRender, YamlRoundTripsThroughCheck) {
  TempDir tmp;
  const RunResult rendered =
      run_cdcguard({"registry", "render", "--registry", kRegistry, "--format", "yaml"});
  ASSERT_TRUE(ExitedWith(rendered, 0));
  const fs::path copy = tmp.write("registry.yaml", rendered.out);

  // Rendering the rendered registry changes nothing.
  const RunResult again =
      run_cdcguard({"registry", "render", "--registry", copy.string(), "--format", "yaml"});
  ASSERT_TRUE(ExitedWith(again, 0));
  EXPECT_EQ(again.out, rendered.out);

  // check gives the same verdicts with the original and the rendered registry.
  for (const char* input :
       {"duplicate.yaml", "warn-only.yaml", "audit-only.yaml", "embargoed.yaml", "clean.yaml"}) {
    SCOPED_TRACE(input);
    const auto check = [&](const std::string& registry) {
      return run_cdcguard({"check", "--registry", registry, "--now", "2026-03-20", "--output", "json", input},
                          in_dir(fixture("")));
    };
    const RunResult original = check(kRegistry);
    const RunResult round_trip = check(copy.string());
    ASSERT_TRUE(original.exited);
    EXPECT_TRUE(ExitedWith(round_trip, original.exit_code));
    EXPECT_EQ(round_trip.out, original.out);
  }

  // The same next id, too.
  const RunResult next = run_cdcguard(
      {"registry", "next", "--registry", copy.string(), "--namespace", "warehouse", "--now", "2026-03-20"});
  ASSERT_TRUE(ExitedWith(next, 0));
  EXPECT_EQ(next.out, "184100\n");
}

TEST(CliRegistryRender, MarkdownEscapesControlCharacters) {
  TempDir tmp;
  tmp.write("registry.yaml", R"(rules:
  range: {from: 184000, to: 184999}
teams:
  - name: "team\e[31m-a"
    namespaces: [ecommerce]
reserved:
  - {serverId: 184999, reason: "primary\r\e]0;x\a"}
entries:
  - {connector: ecommerce/orders-cdc, serverId: 184001, database: "db\e[2J\Nx", status: Active, owner: "team\0a", date: 2026-01-15}
)");
  const RunResult r = run_cdcguard({"registry", "render", "--registry", "registry.yaml"}, in_dir(tmp.path()));
  ASSERT_TRUE(ExitedWith(r, 0));
  EXPECT_TRUE(Printable(r.out));
  EXPECT_TRUE(contains(r.out, "- Team **team\\x1b[31m-a**")) << r.out;
  EXPECT_TRUE(contains(r.out, "184999 (primary\\r\\x1b]0;x\\x07)")) << r.out;
  EXPECT_TRUE(contains(
      r.out, "| ecommerce/orders-cdc | 184001 | db\\x1b[2J\\u0085x | Active | team\\x00a | 2026-01-15 |"))
      << r.out;
}

TEST(CliRegistryNext, RegistryProblemsAreEscapedLikeCheck) {
  TempDir tmp;
  // The file's own name carries the escape sequence: every problem line starts with it.
  const std::string name = "reg\x1b[31m.yaml";
  tmp.write(name, "rules:\n  range: {from: 184000, to: nope}\n");
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"registry", "next", "--registry", name, "--namespace", "ecommerce"},
        std::vector<std::string>{"registry", "render", "--registry", name}}) {
    const RunResult r = run_cdcguard(args, in_dir(tmp.path()));
    ASSERT_TRUE(ExitedWith(r, 2)) << args[1];
    EXPECT_TRUE(Printable(r.err)) << r.err;
    EXPECT_TRUE(contains(r.err, "reg\\x1b[31m.yaml:")) << r.err;
  }
}

TEST(CliRegistryRender, YamlOfAConfigMapIsABareRegistry) {
  TempDir tmp;
  const RunResult rendered = run_cdcguard(
      {"registry", "render", "--registry", fixture_arg("registry-configmap.yaml"), "--format", "yaml"});
  ASSERT_TRUE(ExitedWith(rendered, 0));
  EXPECT_FALSE(contains(rendered.out, "ConfigMap")) << rendered.out;
  const fs::path copy = tmp.write("registry.yaml", rendered.out);
  const RunResult r = run_cdcguard({"check", "--registry", copy.string(), fixture_arg("squatter.yaml")});
  ASSERT_TRUE(ExitedWith(r, 1));
  EXPECT_TRUE(contains(r.out, "ecommerce/orders-cdc")) << r.out;
}

// ---------------------------------------------------------------------------
// registry next

struct NextCase {
  std::string name;
  std::vector<std::string> args;  // after "registry next"
  int exit_code;
  std::string out;
  std::string err;  // a part of stderr; empty: stderr is empty
  std::optional<std::string> stdin_fixture = std::nullopt;
};

class CliRegistryNext : public testing::TestWithParam<NextCase> {};

TEST_P(CliRegistryNext, PrintsTheLowestFreeId) {
  const NextCase& c = GetParam();
  std::vector<std::string> args{"registry", "next"};
  args.insert(args.end(), c.args.begin(), c.args.end());
  RunOptions options = in_dir(fixture(""));
  if (c.stdin_fixture) options.stdin_text = read_text(fixture(*c.stdin_fixture));
  const RunResult r = run_cdcguard(args, options);
  ASSERT_TRUE(ExitedWith(r, c.exit_code));
  EXPECT_EQ(r.out, c.out);
  if (c.err.empty()) {
    EXPECT_EQ(r.err, "");
  } else {
    EXPECT_TRUE(contains(r.err, c.err)) << r.err;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cli, CliRegistryNext,
    testing::Values(
        // team-a: 184000-184099; the registry holds 184001 (Active) and 184002 (Reserved).
        NextCase{"team_a", {"--registry", "registry.yaml", "--namespace", "ecommerce"}, 0, "184000\n", ""},
        // next-taken.yaml uses 184000 and 184003.
        NextCase{"skips_ids_of_manifests",
                 {"--registry", "registry.yaml", "--namespace", "ecommerce", "next-taken.yaml"},
                 0,
                 "184004\n",
                 ""},
        NextCase{"skips_ids_of_manifests_on_stdin",
                 {"--registry", "registry.yaml", "--namespace", "ecommerce", "-"},
                 0,
                 "184004\n",
                 "",
                 "next-taken.yaml"},
        NextCase{"connector_keeps_its_own_id",
                 {"--registry", "registry.yaml", "--namespace", "ecommerce", "--connector", "orders-cdc"},
                 0,
                 "184001\n",
                 ""},
        // team-b: 184100-184199; 184101 is embargoed until 2026-04-09, 184100 is free.
        NextCase{"team_b",
                 {"--registry", "registry.yaml", "--namespace", "warehouse", "--now", "2026-03-20"},
                 0,
                 "184100\n",
                 ""},
        NextCase{"configmap_registry",
                 {"--registry", "registry-configmap.yaml", "--namespace", "ecommerce"},
                 0,
                 "184000\n",
                 ""},
        NextCase{"exhausted_range",
                 {"--registry", "registry-exhausted.yaml", "--namespace", "ecommerce"},
                 1,
                 "",
                 "no free server id left in team team-a's range 184000-184001"},
        NextCase{"invalid_registry",
                 {"--registry", "registry-invalid.yaml", "--namespace", "ecommerce"},
                 2,
                 "",
                 "registry-invalid.yaml:5: "},
        NextCase{"malformed_manifest",
                 {"--registry", "registry.yaml", "--namespace", "ecommerce", "malformed.yaml"},
                 2,
                 "",
                 "malformed.yaml:10"},
        NextCase{"missing_manifest",
                 {"--registry", "registry.yaml", "--namespace", "ecommerce", "nope.yaml"},
                 2,
                 "",
                 "nope.yaml"}),
    case_name<NextCase>);

// ---------------------------------------------------------------------------
// The README demo

TEST(CliReadmeDemo, ReportsTheCopiedIdAndTheEmbargo) {
  const RunResult r = run_cdcguard(
      {"check", "--registry", "examples/registry.yaml", "--now", "2026-11-25T00:00:00Z", "examples/"},
      in_dir(CDCGUARD_SOURCE_DIR));
  ASSERT_TRUE(ExitedWith(r, 1));
  const auto lines = lines_of(r.out);
  const auto line_with = [&](std::string_view needle) -> std::string {
    for (const auto& l : lines) {
      if (contains(l, needle)) return l;
    }
    return {};
  };
  const std::string duplicate =
      line_with("[server-id-duplicate] ecommerce/refunds-cdc spec.config.database.server.id: ");
  ASSERT_FALSE(duplicate.empty()) << r.out;
  EXPECT_TRUE(std::regex_match(duplicate, kViolationLine)) << duplicate;
  EXPECT_TRUE(duplicate.starts_with("examples/connectors/")) << duplicate;
  EXPECT_TRUE(contains(duplicate, ": error: ")) << duplicate;
  EXPECT_TRUE(contains(duplicate, "ecommerce/orders-cdc")) << duplicate;
  EXPECT_TRUE(contains(duplicate, "next free id for team-a: ")) << duplicate;

  const std::string embargo =
      line_with("[server-id-embargoed] warehouse/inventory-cdc spec.config.database.server.id: ");
  ASSERT_FALSE(embargo.empty()) << r.out;
  EXPECT_TRUE(contains(embargo, ": error: ")) << embargo;
  EXPECT_TRUE(std::regex_match(lines.back(), kSummaryLine)) << lines.back();
}

TEST(CliReadmeDemo, JsonAgreesWithText) {
  const RunResult r = run_cdcguard({"check", "--registry", "examples/registry.yaml", "--now",
                                    "2026-11-25T00:00:00Z", "--output", "json", "examples/"},
                                   in_dir(CDCGUARD_SOURCE_DIR));
  ASSERT_TRUE(ExitedWith(r, 1));
  const auto report = parse_json(r.out);
  ASSERT_TRUE(report) << r.out;
  const json* dup = find_violation(*report, "server-id-duplicate", "ecommerce/refunds-cdc");
  ASSERT_NE(dup, nullptr) << r.out;
  EXPECT_EQ(dup->at("severity"), "error");
  EXPECT_EQ(dup->value("other", ""), "ecommerce/orders-cdc");
  const json* embargo = find_violation(*report, "server-id-embargoed", "warehouse/inventory-cdc");
  ASSERT_NE(embargo, nullptr) << r.out;
  EXPECT_EQ(embargo->at("severity"), "error");
  EXPECT_GE(report->at("summary").at("errors").get<int>(), 2);
}

// ---------------------------------------------------------------------------
// Robustness: hostile input ends in a clear message, never in a crash

std::string pseudo_random_bytes(std::size_t n, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> byte(0, 255);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(byte(gen));
  return s;
}

struct HostileCase {
  std::string name;
  std::string file;  // written into the temp dir
  std::string (*content)();
  int exit_code;
  std::string message;  // on stderr after "<file>:" (exit 2); exit 0: nothing on stderr
};

class CliRobustness : public testing::TestWithParam<HostileCase> {};

TEST_P(CliRobustness, ExitsNormallyWithAClearMessage) {
  const HostileCase& c = GetParam();
  TempDir tmp;
  tmp.write(c.file, c.content());
  for (const char* output : {"text", "json"}) {
    SCOPED_TRACE(output);
    const RunResult r = run_cdcguard({"check", "--output", output, c.file}, in_dir(tmp.path()));
    ASSERT_FALSE(r.timed_out);
    ASSERT_TRUE(r.exited) << "killed by signal " << r.term_signal << "\n" << r.err.substr(0, 2000);
    EXPECT_TRUE(ExitedWith(r, c.exit_code));
    if (c.exit_code == 0) {
      EXPECT_EQ(r.err, "");
    } else if (std::string(output) == "text") {
      EXPECT_TRUE(contains(r.err, c.file + ":" + c.message)) << r.err.substr(0, 2000);
    } else {
      const auto report = parse_json(r.out);
      ASSERT_TRUE(report) << r.out.substr(0, 2000);
      ASSERT_TRUE(report->contains("errors")) << r.out.substr(0, 2000);
      EXPECT_EQ(report->at("errors")[0].at("file"), c.file);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cli, CliRobustness,
    testing::Values(
        HostileCase{"empty_file", "empty.yaml", [] { return std::string(); }, 0, ""},
        HostileCase{"only_comments", "comments.yaml", [] { return std::string("# nothing\n---\n# here\n"); },
                    0, ""},
        HostileCase{"binary_garbage", "x.yaml",
                    [] {
                      return std::string(
                                 "\x7f"
                                 "ELF\x02\x01\x01",
                                 7) +
                             std::string(9, '\0') + pseudo_random_bytes(4096, 7);
                    },
                    2, "1: error: malformed YAML"},
        HostileCase{"ten_megabytes_of_junk", "junk.yaml", [] { return pseudo_random_bytes(10u << 20, 42); },
                    2, "1: error: malformed YAML"},
        HostileCase{"ten_megabytes_of_bad_structure", "bad.yaml",
                    [] {
                      std::string s;
                      while (s.size() < (10u << 20)) s += "key: value: [{oops\n";
                      return s;
                    },
                    2, "1: error: malformed YAML"},
        HostileCase{"deep_nesting", "deep.json", [] { return std::string(1u << 20, '['); }, 2,
                    "1: error: malformed YAML: YAML nested too deeply"},
        HostileCase{"truncated_json", "cut.json",
                    [] {
                      const std::string json_text = read_text(fixture("connector.json"));
                      return json_text.substr(0, json_text.size() / 2);
                    },
                    2, "6: error: malformed YAML"},
        HostileCase{"invalid_utf8", "latin1.yaml",
                    [] { return std::string("caf\xe9: latin-1\napiVersion: kafka.strimzi.io/v1\n"); }, 2,
                    "1: error: malformed YAML"}),
    case_name<HostileCase>);

// Run once only: the parser materialises ~5 million nodes before its guard
// trips (seconds and ~650 MB in a Debug build).
TEST(CliRobustness, AliasBombIsStoppedWithAClearMessage) {
  const RunResult r = run_cdcguard({"check", "alias-bomb.yaml"}, in_dir(fixture("")));
  ASSERT_TRUE(ExitedWith(r, 2));
  EXPECT_TRUE(contains(r.err, "alias-bomb.yaml:")) << r.err;
  EXPECT_TRUE(contains(r.err, "alias")) << r.err;
}

TEST(CliRobustness, FileOverTheSizeLimitIsRefusedUnread) {
  TempDir tmp;
  const fs::path huge = tmp.write("huge.yaml", "");
  fs::resize_file(huge, (64u << 20) + 1);  // sparse: nothing is written
  const RunResult r = run_cdcguard({"check", "huge.yaml"}, in_dir(tmp.path()));
  ASSERT_TRUE(ExitedWith(r, 2));
  EXPECT_TRUE(contains(r.err, "huge.yaml: error: ")) << r.err;
  EXPECT_TRUE(contains(r.err, "over the limit")) << r.err;
}

// Paths nobody can read, root included (CI runs as root, so no permission bits).
TEST(CliRobustness, UnreadablePathsAreErrors) {
  TempDir tmp;
  tmp.copy_fixture("clean.yaml", "clean.yaml");
  const RunResult through_file = run_cdcguard({"check", "clean.yaml/inner.yaml"}, in_dir(tmp.path()));
  ASSERT_TRUE(ExitedWith(through_file, 2));
  EXPECT_TRUE(contains(through_file.err, "clean.yaml/inner.yaml")) << through_file.err;

  const RunResult dir_registry = run_cdcguard({"check", "--registry", ".", "clean.yaml"}, in_dir(tmp.path()));
  ASSERT_TRUE(ExitedWith(dir_registry, 2));
  EXPECT_TRUE(contains(dir_registry.err, ".: is a directory")) << dir_registry.err;
}

TEST(CliRobustness, RegistryOfGarbageIsAnErrorNotACrash) {
  TempDir tmp;
  tmp.write("registry.yaml", pseudo_random_bytes(1u << 16, 3));
  const RunResult r = run_cdcguard({"check", "--registry", "registry.yaml", kClean}, in_dir(tmp.path()));
  ASSERT_TRUE(ExitedWith(r, 2));
  EXPECT_TRUE(contains(r.err, "registry.yaml:1: malformed YAML")) << r.err;
}

}  // namespace
