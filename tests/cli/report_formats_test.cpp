// The report formats on reports built here: a check's (objects from files)
// and an audit's (objects from a cluster: no file, no line), each with the
// escaping its consumers need. tests/consumers/ validates the same formats
// against the consumers' own schemas.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cdcguard/model/rule_ids.hpp"
#include "cdcguard/rules_markdown.hpp"
#include "cli/report_formats.hpp"
#include "cli/rule_docs.hpp"

namespace cdcguard::cli {
namespace {

using nlohmann::json;

Violation violation(std::string rule, Action action, std::string kind, std::string subject, std::string path,
                    SourceLocation where, std::string other = {}) {
  Violation v;
  v.rule = std::move(rule);
  v.action = action;
  v.subject_kind = std::move(kind);
  v.subject = std::move(subject);
  v.path = std::move(path);
  v.fix = "next free id for team-a: 184004";
  v.message = "server.id 184001 is held by " + (other.empty() ? std::string("nobody") : other) + "; " + v.fix;
  v.other = std::move(other);
  v.location = std::move(where);
  return v;
}

CheckReport count(CheckReport r) {
  for (const auto& v : r.violations) ++(v.action == Action::Deny ? r.summary.errors : r.summary.warnings);
  for (const auto& o : r.checked)
    ++(o.kind == "KafkaConnect" ? r.summary.connect_clusters : r.summary.connectors);
  return r;
}

// What `check` reports: objects from files (one with a space in its name).
CheckReport files_report() {
  CheckReport r;
  r.checked = {{"KafkaConnector", "ecommerce/orders-cdc", {"connectors/a b.yaml", 2}},
               {"KafkaConnector", "ecommerce/refunds-cdc", {"connectors/a b.yaml", 12}},
               {"KafkaConnector", "ecommerce/clean-cdc", {"connectors/clean.yaml", 1}},
               {"KafkaConnect", "kafka/connect-a", {"connect.yaml", 1}}};
  r.violations = {
      violation("topic-prefix-overlap", Action::Warn, "KafkaConnector", "ecommerce/orders-cdc",
                "spec.config.topic.prefix", {"connectors/a b.yaml", 9}, "ecommerce/refunds-cdc"),
      violation("server-id-duplicate", Action::Deny, "KafkaConnector", "ecommerce/refunds-cdc",
                "spec.config.database.server.id", {"connectors/a b.yaml", 18}, "ecommerce/orders-cdc"),
      violation("schema-history-topic-collides", Action::Audit, "KafkaConnector", "ecommerce/refunds-cdc",
                "spec.config.schema.history.internal.kafka.topic", {"connectors/a b.yaml", 20}),
      violation("connect-group-id-duplicate", Action::Deny, "KafkaConnect", "kafka/connect-a",
                "spec.config.group.id", {"connect.yaml", 7}, "kafka/connect-b"),
  };
  return count(std::move(r));
}

// What the audit of a live cluster reports: the same findings, no files.
CheckReport audit_report() {
  CheckReport r = files_report();
  for (auto& o : r.checked) o.location = {};
  for (auto& v : r.violations) v.location = {};
  return r;
}

const ReportContext kAudit{"audit", "9.8.7", ReportSource::Cluster};

std::string sarif_of(const CheckReport& r, const std::vector<InputError>& errors = {},
                     const ReportContext& ctx = {}) {
  std::ostringstream out;
  write_sarif(r, errors, ctx, out);
  return out.str();
}

std::string junit_of(const CheckReport& r, const std::vector<InputError>& errors = {},
                     const ReportContext& ctx = {}) {
  std::ostringstream out;
  write_junit(r, errors, ctx, out);
  return out.str();
}

std::string github_of(const CheckReport& r, const std::vector<InputError>& errors = {},
                      const ReportContext& ctx = {}, std::size_t files = 2) {
  std::ostringstream out;
  write_github(r, errors, files, ctx, out);
  return out.str();
}

std::size_t occurrences(const std::string& text, std::string_view needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// ---------------------------------------------------------------------------
// Choosing a format

struct FormatName {
  std::string name;
  std::optional<OutputFormat> format;
};

TEST(OutputFormat, ParsesEveryNameAndNothingElse) {
  const std::vector<FormatName> cases{{"text", OutputFormat::Text},
                                      {"json", OutputFormat::Json},
                                      {"sarif", OutputFormat::Sarif},
                                      {"junit", OutputFormat::Junit},
                                      {"github", OutputFormat::Github},
                                      {"SARIF", std::nullopt},
                                      {"xml", std::nullopt},
                                      {"", std::nullopt}};
  for (const auto& c : cases) EXPECT_EQ(parse_output_format(c.name), c.format) << c.name;
  // The names in the help and the usage error are the ones parsed.
  std::istringstream names{std::string(kOutputFormatNames)};
  std::size_t listed = 0;
  for (std::string name; std::getline(names, name, '|'); ++listed) {
    EXPECT_TRUE(parse_output_format(name)) << name;
  }
  EXPECT_EQ(listed, 5u);
}

// ---------------------------------------------------------------------------
// Rule help from docs/rules.md

TEST(RuleDocs, EveryRuleHasASectionInDocsRulesMd) {
  for (const auto id : rule::all()) {
    const RuleDoc* doc = find_rule_doc(id);
    ASSERT_NE(doc, nullptr) << "docs/rules.md has no \"### `" << id << "`\" section";
    EXPECT_EQ(doc->anchor, id);
    EXPECT_FALSE(doc->description.empty()) << id << ": the section starts without a paragraph";
    EXPECT_TRUE(doc->summary.ends_with(".")) << id << ": " << doc->summary;
    EXPECT_LE(doc->summary.size(), doc->description.size()) << id;
    EXPECT_FALSE(contains(doc->summary, "`")) << id << ": " << doc->summary;
    EXPECT_TRUE(contains(doc->markdown, "```")) << id << ": the section has no example";
    EXPECT_FALSE(contains(doc->text, "```")) << id;
    EXPECT_TRUE(contains(doc->text, "[" + std::string(id) + "]")) << id << ": the example names the rule";
  }
}

TEST(RuleDocs, EverySectionIsARule) {
  for (const auto& doc : parse_rule_docs(kRulesMarkdown)) {
    EXPECT_TRUE(rule::is_known(doc.id)) << "docs/rules.md documents an unknown rule " << doc.id;
  }
  EXPECT_EQ(parse_rule_docs(kRulesMarkdown).size(), rule::all().size());
}

TEST(RuleDocs, SectionsEndAtTheNextHeadingButNotInsideAFence) {
  const auto docs = parse_rule_docs(
      "# Title\n\n### `a-rule`\nFirst sentence, e.g. this. Second `one`.\nStill **first** paragraph.\n\n"
      "```\n# not a heading\n```\nSee [the docs](x.md).\n## Next\n### `b-rule`\n```\ncode first\n```\n"
      "### Not `a` rule\ntext\n");
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0].id, "a-rule");
  EXPECT_EQ(docs[0].summary, "First sentence, e.g. this.");
  EXPECT_EQ(docs[0].description, "First sentence, e.g. this. Second one. Still first paragraph.");
  EXPECT_EQ(
      docs[0].markdown,
      "First sentence, e.g. this. Second `one`.\nStill **first** paragraph.\n\n```\n# not a heading\n```\n"
      "See [the docs](x.md).");
  EXPECT_EQ(
      docs[0].text,
      "First sentence, e.g. this. Second one.\nStill first paragraph.\n\n# not a heading\nSee the docs.");
  EXPECT_EQ(docs[1].id, "b-rule");
  EXPECT_EQ(docs[1].description, "");  // a fence first: no paragraph (the docs test above fails on that)
  EXPECT_EQ(docs[1].markdown, "```\ncode first\n```");
}

TEST(RuleDocs, UnknownRuleHasNone) {
  EXPECT_EQ(find_rule_doc("no-such-rule"), nullptr);
}

// ---------------------------------------------------------------------------
// Building blocks

TEST(ReportNames, ObjectsAreNamedAsKubectlDoes) {
  EXPECT_EQ(object_name("KafkaConnector", "ecommerce/orders-cdc"), "kafkaconnector/ecommerce/orders-cdc");
  EXPECT_EQ(object_name("KafkaConnect", "kafka/connect-a"), "kafkaconnect/kafka/connect-a");
  EXPECT_EQ(object_name("", "ns/x"), "ns/x");
}

TEST(ReportSummary, CountsFilesOrNamesTheCluster) {
  CheckSummary s{1, 1, 1, 0, 0};
  EXPECT_EQ(summary_line(s, 1, ReportSource::Files),
            "checked 1 connector and 1 KafkaConnect in 1 file: 1 error, 0 warnings");
  s = {5, 0, 4, 2, 3};
  EXPECT_EQ(summary_line(s, 4, ReportSource::Files),
            "checked 5 connectors and 0 KafkaConnects in 4 files: 4 errors, 2 warnings, 3 exempted");
  EXPECT_EQ(summary_line(s, 0, ReportSource::Cluster),
            "checked 5 connectors and 0 KafkaConnects in the cluster: 4 errors, 2 warnings, 3 exempted");
}

struct EscapeCase {
  std::string name;
  std::string input;
  std::string text;       // xml_text
  std::string attribute;  // xml_attribute
};

TEST(XmlEscape, KeepsWhatXmlCanHoldAndDropsWhatItCannot) {
  const std::vector<EscapeCase> cases{
      {"plain", "ecommerce/orders-cdc", "ecommerce/orders-cdc", "ecommerce/orders-cdc"},
      {"specials", "a&b<c>d\"e'f]]>", "a&amp;b&lt;c&gt;d\"e'f]]&gt;",
       "a&amp;b&lt;c&gt;d&quot;e&apos;f]]&gt;"},
      {"whitespace", "a\tb\nc\rd", "a\tb\nc&#13;d", "a&#9;b&#10;c&#13;d"},
      {"c0 controls",
       std::string("a\x00"
                   "b\x01\x1b[2J\x07\x0b\x0c\x1f"
                   "c",
                   13),
       "ab[2Jc", "ab[2Jc"},
      {"del and c1 are xml characters", "a\x7f\xc2\x85z", "a\x7f\xc2\x85z", "a\x7f\xc2\x85z"},
      {"utf-8 kept", "sch\xc3\xa9ma \xe2\x80\xae \xf0\x9f\x94\x92",
       "sch\xc3\xa9ma \xe2\x80\xae \xf0\x9f\x94\x92", "sch\xc3\xa9ma \xe2\x80\xae \xf0\x9f\x94\x92"},
      {"noncharacters dropped",
       "a\xef\xbf\xbe\xef\xbf\xbf"
       "b",
       "ab", "ab"},
      {"invalid utf-8 replaced", "a\xff\xc3(b\xed\xa0\x80",
       "a\xef\xbf\xbd\xef\xbf\xbd(b\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
       "a\xef\xbf\xbd\xef\xbf\xbd(b\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(xml_text(c.input), c.text) << c.name;
    EXPECT_EQ(xml_attribute(c.input), c.attribute) << c.name;
  }
}

TEST(WorkflowCommandEscape, DataAndPropertiesAsTheRunnerUnescapesThem) {
  EXPECT_EQ(workflow_data("100% done\r\nnext"), "100%25 done%0D%0Anext");
  EXPECT_EQ(workflow_data("a: b, c::d"), "a: b, c::d");
  EXPECT_EQ(workflow_property("a: b, c::d"), "a%3A b%2C c%3A%3Ad");
  EXPECT_EQ(workflow_property("dir/100%,x:y\n.yaml"), "dir/100%25%2Cx%3Ay%0A.yaml");
  // Other controls would reach the log as typed: shown, not obeyed.
  EXPECT_EQ(workflow_data("\x1b[2J\x07\x7f"
                          "end"),
            "%1B[2J%07%7Fend");
  EXPECT_EQ(workflow_data("sch\xc3\xa9ma"), "sch\xc3\xa9ma");
}

struct UriCase {
  std::string path;
  std::string uri;
  bool relative;
};

TEST(SarifUri, RelativePathsStayRelativeAndArePercentEncoded) {
  const std::vector<UriCase> cases{
      {"examples/connectors/new-connectors.yaml", "examples/connectors/new-connectors.yaml", true},
      {"connectors/a b.yaml", "connectors/a%20b.yaml", true},
      {"./connectors/x.yaml", "connectors/x.yaml", true},
      {".//./x.yaml", "x.yaml", true},
      {"../up/x.yaml", "../up/x.yaml", true},
      {"a:b.yaml", "a%3Ab.yaml", true},  // not a scheme
      {"100%#?[].yaml", "100%25%23%3F%5B%5D.yaml", true},
      {"caf\xc3\xa9.yaml", "caf%C3%A9.yaml", true},
      {"new\nline.yaml", "new%0Aline.yaml", true},
      {"/src/repo/a b.yaml", "file:///src/repo/a%20b.yaml", false},
  };
  for (const auto& c : cases) {
    const ArtifactUri a = artifact_uri(c.path);
    EXPECT_EQ(a.uri, c.uri) << c.path;
    EXPECT_EQ(a.relative, c.relative) << c.path;
  }
}

TEST(FindingFingerprint, SameFindingSameFingerprintWhereverItSits) {
  const Violation v = files_report().violations[1];
  Violation moved = v;
  moved.location = {"elsewhere.yaml", 400};
  moved.message = "server.id 184001 is held by someone else; next free id for team-a: 184009";
  moved.fix = "next free id for team-a: 184009";
  moved.action = Action::Warn;
  EXPECT_EQ(finding_fingerprint(v), finding_fingerprint(moved));
  // The same in every build and on every machine (code scanning keeps them across runs).
  EXPECT_EQ(finding_fingerprint(v), "4e550b63f1cf01fc");  // FNV-1a 64 of the fields, each NUL-ended

  std::set<std::string> distinct{finding_fingerprint(v)};
  Violation other_rule = v;
  other_rule.rule = "server-id-embargoed";
  Violation other_subject = v;
  other_subject.subject = "ecommerce/orders-cdc";
  Violation other_path = v;
  other_path.path = "spec.config.topic.prefix";
  Violation other_kind = v;
  other_kind.subject_kind = "KafkaConnect";
  Violation shifted = v;  // fields are not simply concatenated
  shifted.subject = "ecommerce/refunds-cdcspec.config.database.server.id";
  shifted.path = "";
  for (const auto* w : {&other_rule, &other_subject, &other_path, &other_kind, &shifted}) {
    EXPECT_TRUE(distinct.insert(finding_fingerprint(*w)).second) << w->rule << " " << w->subject;
  }
  EXPECT_TRUE(std::regex_match(finding_fingerprint(v), std::regex("[0-9a-f]{16}")));
}

// ---------------------------------------------------------------------------
// Text: the audit's objects have no file

TEST(TextReport, AViolationWithoutAFileIsPlacedAtItsObject) {
  std::ostringstream out;
  std::ostringstream err;
  write_text(audit_report(), {}, 0, kAudit, out, err);
  const std::string expected =
      "kafkaconnector/ecommerce/orders-cdc: warning: [topic-prefix-overlap] ecommerce/orders-cdc "
      "spec.config.topic.prefix: server.id 184001 is held by ecommerce/refunds-cdc; next free id for team-a: "
      "184004\n"
      "kafkaconnector/ecommerce/refunds-cdc: error: [server-id-duplicate] ecommerce/refunds-cdc "
      "spec.config.database.server.id: server.id 184001 is held by ecommerce/orders-cdc; next free id for "
      "team-a: 184004\n"
      "kafkaconnector/ecommerce/refunds-cdc: warning: [schema-history-topic-collides] ecommerce/refunds-cdc "
      "spec.config.schema.history.internal.kafka.topic: server.id 184001 is held by nobody; next free id for "
      "team-a: 184004 (audit)\n"
      "kafkaconnect/kafka/connect-a: error: [connect-group-id-duplicate] kafka/connect-a "
      "spec.config.group.id: "
      "server.id 184001 is held by kafka/connect-b; next free id for team-a: 184004\n"
      "checked 3 connectors and 1 KafkaConnect in the cluster: 2 errors, 2 warnings\n";
  EXPECT_EQ(out.str(), expected);
  EXPECT_EQ(err.str(), "");
}

TEST(TextReport, InputErrorsGoToStderrWithTheirPlace) {
  std::ostringstream out;
  std::ostringstream err;
  write_text(CheckReport{},
             {{"a.yaml", 3, "malformed YAML"}, {"b.yaml", 0, "unreadable"}, {"", 0, "no file"}}, 2, {}, out,
             err);
  EXPECT_EQ(err.str(), "a.yaml:3: error: malformed YAML\nb.yaml: error: unreadable\nerror: no file\n");
  EXPECT_EQ(out.str(), "checked 0 connectors and 0 KafkaConnects in 2 files: 0 errors, 0 warnings\n");
}

TEST(JsonReport, AViolationWithoutAFileHasAnEmptyFileAndLineZero) {
  std::ostringstream out;
  write_json(audit_report(), {}, 0, out);
  const json doc = json::parse(out.str());
  ASSERT_EQ(doc.at("violations").size(), 4u);
  EXPECT_EQ(doc["violations"][1]["file"], "");
  EXPECT_EQ(doc["violations"][1]["line"], 0);
  EXPECT_EQ(doc["violations"][1]["connector"], "ecommerce/refunds-cdc");
  EXPECT_EQ(doc["violations"][3]["kind"], "KafkaConnect");
}

// ---------------------------------------------------------------------------
// SARIF

TEST(SarifReport, DescribesTheToolAndEveryRuleFromTheDocs) {
  const json log = json::parse(sarif_of(files_report(), {}, {"check", "1.2.3", ReportSource::Files}));
  EXPECT_EQ(log["$schema"], "https://json.schemastore.org/sarif-2.1.0.json");
  EXPECT_EQ(log["version"], "2.1.0");
  ASSERT_EQ(log["runs"].size(), 1u);
  const json& driver = log["runs"][0]["tool"]["driver"];
  EXPECT_EQ(driver["name"], "cdc-guard");
  EXPECT_EQ(driver["version"], "1.2.3");
  EXPECT_EQ(driver["informationUri"], "https://github.com/cdc-guard/cdc-guard");
  const auto ids = rule::all();
  ASSERT_EQ(driver["rules"].size(), ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const json& rule = driver["rules"][i];
    const RuleDoc* doc = find_rule_doc(ids[i]);
    ASSERT_NE(doc, nullptr) << ids[i];
    EXPECT_EQ(rule["id"], ids[i]);
    EXPECT_EQ(rule["shortDescription"]["text"], doc->summary);
    EXPECT_EQ(rule["fullDescription"]["text"], doc->description);
    EXPECT_EQ(rule["help"]["markdown"], doc->markdown);
    EXPECT_EQ(rule["help"]["text"], doc->text);
    EXPECT_EQ(rule["helpUri"],
              "https://github.com/cdc-guard/cdc-guard/blob/main/docs/rules.md#" + std::string(ids[i]));
    EXPECT_EQ(rule["defaultConfiguration"]["level"], "error");
  }
}

TEST(SarifReport, ResultsPointAtTheirFileLineAndObject) {
  const json log = json::parse(sarif_of(files_report()));
  const json& run = log["runs"][0];
  EXPECT_EQ(run["invocations"][0]["executionSuccessful"], true);
  EXPECT_FALSE(run["invocations"][0].contains("toolExecutionNotifications"));
  const json& results = run["results"];
  ASSERT_EQ(results.size(), 4u);
  const json& rules = run["tool"]["driver"]["rules"];
  for (const auto& r : results) {
    ASSERT_TRUE(r.contains("ruleIndex")) << r.dump();
    EXPECT_EQ(rules.at(r["ruleIndex"].get<std::size_t>())["id"], r["ruleId"]);
  }
  EXPECT_EQ(results[0]["level"], "warning");
  EXPECT_EQ(results[1]["level"], "error");
  EXPECT_EQ(results[2]["level"], "warning");
  EXPECT_EQ(results[2]["properties"]["action"], "audit");
  EXPECT_TRUE(results[2]["message"]["text"].get<std::string>().ends_with(" (audit)"));

  const json& dup = results[1];
  EXPECT_EQ(dup["ruleId"], "server-id-duplicate");
  EXPECT_EQ(dup["message"]["text"],
            "ecommerce/refunds-cdc spec.config.database.server.id: server.id 184001 is held by "
            "ecommerce/orders-cdc; next free id for team-a: 184004");
  const json& where = dup["locations"][0];
  EXPECT_EQ(where["physicalLocation"]["artifactLocation"]["uri"], "connectors/a%20b.yaml");
  EXPECT_EQ(where["physicalLocation"]["artifactLocation"]["uriBaseId"], "%SRCROOT%");
  EXPECT_EQ(where["physicalLocation"]["region"]["startLine"], 18);
  EXPECT_EQ(where["logicalLocations"][0]["fullyQualifiedName"], "kafkaconnector/ecommerce/refunds-cdc");
  EXPECT_EQ(where["logicalLocations"][0]["kind"], "resource");
  // The other party, found among the objects checked: its file and line.
  const json& other = dup["relatedLocations"][0];
  EXPECT_EQ(other["physicalLocation"]["artifactLocation"]["uri"], "connectors/a%20b.yaml");
  EXPECT_EQ(other["physicalLocation"]["region"]["startLine"], 2);
  EXPECT_EQ(other["logicalLocations"][0]["fullyQualifiedName"], "kafkaconnector/ecommerce/orders-cdc");
  EXPECT_EQ(dup["partialFingerprints"]["cdcGuardFinding/v1"],
            finding_fingerprint(files_report().violations[1]));
  // An other party not checked (kafka/connect-b): named only.
  const json& unseen = results[3]["relatedLocations"][0];
  EXPECT_FALSE(unseen.contains("physicalLocation")) << unseen.dump();
  EXPECT_EQ(unseen["logicalLocations"][0]["fullyQualifiedName"], "kafkaconnect/kafka/connect-b");
  // No other party: no related location.
  EXPECT_FALSE(results[2].contains("relatedLocations"));
}

TEST(SarifReport, AnAuditResultNamesTheObjectInsteadOfAFile) {
  const json log = json::parse(sarif_of(audit_report(), {}, kAudit));
  const json& results = log["runs"][0]["results"];
  ASSERT_EQ(results.size(), 4u);
  for (const auto& r : results) {
    ASSERT_EQ(r["locations"].size(), 1u);
    EXPECT_FALSE(r["locations"][0].contains("physicalLocation")) << r.dump();
    EXPECT_EQ(r["locations"][0]["logicalLocations"].size(), 1u);
  }
  EXPECT_EQ(results[1]["locations"][0]["logicalLocations"][0],
            (json{{"name", "kafkaconnector/ecommerce/refunds-cdc"},
                  {"fullyQualifiedName", "kafkaconnector/ecommerce/refunds-cdc"},
                  {"kind", "resource"}}));
  EXPECT_EQ(results[3]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
            "kafkaconnect/kafka/connect-a");
  EXPECT_EQ(log["runs"][0]["tool"]["driver"]["version"], "9.8.7");
  // The same findings as from files: the same fingerprints.
  const json from_files = json::parse(sarif_of(files_report()));
  for (std::size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i]["partialFingerprints"], from_files["runs"][0]["results"][i]["partialFingerprints"]);
  }
}

TEST(SarifReport, InputErrorsAreToolExecutionNotifications) {
  const json log = json::parse(
      sarif_of(CheckReport{},
               {{"bad file.yaml", 3, "malformed YAML"}, {"<stdin>", 2, "malformed"}, {"", 0, "registry"}}));
  const json& invocation = log["runs"][0]["invocations"][0];
  EXPECT_EQ(invocation["executionSuccessful"], false);
  const json& n = invocation["toolExecutionNotifications"];
  ASSERT_EQ(n.size(), 3u);
  EXPECT_EQ(n[0]["level"], "error");
  EXPECT_EQ(n[0]["message"]["text"], "malformed YAML");
  EXPECT_EQ(n[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "bad%20file.yaml");
  EXPECT_EQ(n[0]["locations"][0]["physicalLocation"]["region"]["startLine"], 3);
  EXPECT_FALSE(n[1].contains("locations"));
  EXPECT_EQ(n[1]["message"]["text"], "<stdin>:2: malformed");
  EXPECT_EQ(n[2]["message"]["text"], "registry");
  EXPECT_EQ(log["runs"][0]["results"].size(), 0u);
}

TEST(SarifReport, IsAsciiAndKeepsHostileValuesExact) {
  CheckReport r;
  r.violations = {violation("server-id-duplicate", Action::Deny, "KafkaConnector",
                            "ns/evil\x1b[2J\xe2\x80\xae", "spec.config.database.server.id", {"x.yaml", 1})};
  const std::string text = sarif_of(count(r));
  for (const char c : text) EXPECT_TRUE(c == '\n' || (c >= 0x20 && c < 0x7f)) << int(c);
  const json log = json::parse(text);
  EXPECT_TRUE(log["runs"][0]["results"][0]["message"]["text"].get<std::string>().starts_with(
      "ns/evil\x1b[2J\xe2\x80\xae "));
}

// ---------------------------------------------------------------------------
// JUnit

TEST(JunitReport, OneTestCasePerObjectAFailurePerDenyViolation) {
  const std::string xml = junit_of(files_report());
  EXPECT_TRUE(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")) << xml;
  EXPECT_TRUE(contains(xml, "<testsuite name=\"cdc-guard check\" tests=\"4\" failures=\"2\" errors=\"0\""))
      << xml;
  EXPECT_EQ(occurrences(xml, "<testcase "), 4u) << xml;
  EXPECT_EQ(occurrences(xml, "<failure "), 2u) << xml;
  EXPECT_TRUE(contains(xml,
                       "    <testcase classname=\"connectors/clean.yaml\" "
                       "name=\"kafkaconnector/ecommerce/clean-cdc\"/>\n"))
      << xml;
  EXPECT_TRUE(contains(
      xml,
      "    <testcase classname=\"connectors/a b.yaml\" name=\"kafkaconnector/ecommerce/refunds-cdc\">\n"
      "      <failure message=\"server.id 184001 is held by ecommerce/orders-cdc; next free id for team-a: "
      "184004\" type=\"server-id-duplicate\">connectors/a b.yaml:18: spec.config.database.server.id: "
      "server.id 184001 is held by ecommerce/orders-cdc; next free id for team-a: 184004\n"
      "fix: next free id for team-a: 184004</failure>\n"
      "      <system-out>connectors/a b.yaml:20: warning: [schema-history-topic-collides] "
      "spec.config.schema.history.internal.kafka.topic: server.id 184001 is held by nobody; next free id for "
      "team-a: 184004 (audit)\n</system-out>\n"
      "    </testcase>\n"))
      << xml;
  // A warning alone does not fail the object.
  EXPECT_TRUE(contains(
      xml,
      "    <testcase classname=\"connectors/a b.yaml\" name=\"kafkaconnector/ecommerce/orders-cdc\">\n"
      "      <system-out>connectors/a b.yaml:9: warning: [topic-prefix-overlap]"))
      << xml;
  EXPECT_TRUE(xml.ends_with("  </testsuite>\n</testsuites>\n")) << xml;
}

TEST(JunitReport, AuditObjectsAreGroupedByNamespaceAndNamedAsKubectlDoes) {
  const std::string xml = junit_of(audit_report(), {}, kAudit);
  EXPECT_TRUE(contains(xml, "<testsuite name=\"cdc-guard audit\" tests=\"4\" failures=\"2\" errors=\"0\""))
      << xml;
  EXPECT_TRUE(contains(xml, "<testcase classname=\"kafka\" name=\"kafkaconnect/kafka/connect-a\">")) << xml;
  EXPECT_TRUE(
      contains(xml, "<testcase classname=\"ecommerce\" name=\"kafkaconnector/ecommerce/clean-cdc\"/>"))
      << xml;
  EXPECT_TRUE(contains(xml,
                       "type=\"server-id-duplicate\">kafkaconnector/ecommerce/refunds-cdc: "
                       "spec.config.database.server.id: server.id"))
      << xml;
  EXPECT_TRUE(
      contains(xml, "<system-out>kafkaconnector/ecommerce/orders-cdc: warning: [topic-prefix-overlap]"))
      << xml;
}

TEST(JunitReport, AnObjectOnlyAViolationNamesStillGetsItsTestCase) {
  CheckReport r = audit_report();
  r.checked.clear();
  const std::string xml = junit_of(r, {}, kAudit);
  EXPECT_TRUE(contains(xml, "tests=\"3\" failures=\"2\" errors=\"0\"")) << xml;
  EXPECT_EQ(occurrences(xml, "<testcase "), 3u) << xml;
}

TEST(JunitReport, InputErrorsAreTestCasesInError) {
  const std::string xml =
      junit_of(files_report(), {{"bad.yaml", 3, "malformed YAML: <&>"}, {"", 0, "registry"}});
  EXPECT_TRUE(contains(xml, "tests=\"6\" failures=\"2\" errors=\"2\"")) << xml;
  EXPECT_TRUE(
      contains(xml,
               "    <testcase classname=\"bad.yaml\" name=\"bad.yaml:3\">\n"
               "      <error message=\"malformed YAML: &lt;&amp;&gt;\" type=\"input-error\">bad.yaml:3: "
               "malformed YAML: &lt;&amp;&gt;</error>\n"
               "    </testcase>\n"))
      << xml;
  EXPECT_TRUE(contains(xml, "<testcase classname=\"input\" name=\"input\">")) << xml;
}

TEST(JunitReport, EscapesNamesAndMessagesFromTheInputs) {
  CheckReport r;
  r.checked = {{"KafkaConnector", "ns/a\"<b>&'\x1b\n", {"dir/\"q\"&.yaml", 1}}};
  r.violations = {violation("server-id-duplicate", Action::Deny, "KafkaConnector", "ns/a\"<b>&'\x1b\n",
                            "spec.config.database.server.id", {"dir/\"q\"&.yaml", 1}, "ns/\x01z")};
  const std::string xml = junit_of(count(r));
  EXPECT_TRUE(contains(xml,
                       "classname=\"dir/&quot;q&quot;&amp;.yaml\" "
                       "name=\"kafkaconnector/ns/a&quot;&lt;b&gt;&amp;&apos;&#10;\""))
      << xml;
  EXPECT_TRUE(contains(xml, "message=\"server.id 184001 is held by ns/z;")) << xml;
  for (const char c : xml) EXPECT_TRUE(c == '\n' || c >= 0x20) << "control " << int(c) << " in\n" << xml;
}

// ---------------------------------------------------------------------------
// GitHub Actions workflow commands

TEST(GithubReport, OneCommandPerFindingThenTheSummary) {
  const std::string expected =
      "::warning file=connectors/a "
      "b.yaml,line=9,title=topic-prefix-overlap::kafkaconnector/ecommerce/orders-cdc "
      "spec.config.topic.prefix: server.id 184001 is held by ecommerce/refunds-cdc; next free id for team-a: "
      "184004\n"
      "::error file=connectors/a "
      "b.yaml,line=18,title=server-id-duplicate::kafkaconnector/ecommerce/refunds-cdc "
      "spec.config.database.server.id: server.id 184001 is held by ecommerce/orders-cdc; next free id for "
      "team-a: 184004\n"
      "::warning file=connectors/a "
      "b.yaml,line=20,title=schema-history-topic-collides::kafkaconnector/ecommerce/"
      "refunds-cdc spec.config.schema.history.internal.kafka.topic: server.id 184001 is held by nobody; next "
      "free id for team-a: 184004 (audit)\n"
      "::error file=connect.yaml,line=7,title=connect-group-id-duplicate::kafkaconnect/kafka/connect-a "
      "spec.config.group.id: server.id 184001 is held by kafka/connect-b; next free id for team-a: 184004\n"
      "checked 3 connectors and 1 KafkaConnect in 2 files: 2 errors, 2 warnings\n";
  EXPECT_EQ(github_of(files_report()), expected);
}

TEST(GithubReport, WithoutAFileTheObjectIsInTheMessageAndNoFileIsNamed) {
  const std::string out = github_of(audit_report(), {}, kAudit);
  EXPECT_TRUE(
      out.starts_with("::warning title=topic-prefix-overlap::kafkaconnector/ecommerce/orders-cdc "
                      "spec.config.topic.prefix: "))
      << out;
  EXPECT_TRUE(contains(out, "\n::error title=connect-group-id-duplicate::kafkaconnect/kafka/connect-a "))
      << out;
  EXPECT_FALSE(contains(out, "file=")) << out;
  EXPECT_TRUE(
      out.ends_with("\nchecked 3 connectors and 1 KafkaConnect in the cluster: 2 errors, 2 warnings\n"))
      << out;
}

TEST(GithubReport, InputErrorsAreErrorsAndStdinIsNotAFile) {
  const std::string out = github_of(
      CheckReport{},
      {{"bad.yaml", 3, "malformed YAML"}, {"<stdin>", 2, "malformed"}, {"gone.yaml", 0, "unreadable"}});
  EXPECT_EQ(out,
            "::error file=bad.yaml,line=3,title=input error::malformed YAML\n"
            "::error title=input error::<stdin>:2: malformed\n"
            "::error file=gone.yaml,title=input error::unreadable\n"
            "checked 0 connectors and 0 KafkaConnects in 2 files: 0 errors, 0 warnings\n");
}

TEST(GithubReport, AHostileValueCannotEndTheCommandOrStartAnother) {
  CheckReport r;
  r.violations = {violation("server-id-duplicate", Action::Deny, "KafkaConnector", "ns/x\n::stop-commands::t",
                            "spec.config.database.server.id", {"a,b:c%.yaml", 4}, "ns/y\r\n::error::forged")};
  const std::string out = github_of(count(r));
  const auto first_line = out.substr(0, out.find('\n'));
  EXPECT_TRUE(first_line.starts_with(
      "::error "
      "file=a%2Cb%3Ac%25.yaml,line=4,title=server-id-duplicate::kafkaconnector/ns/x%0A::stop-commands::t "))
      << out;
  EXPECT_TRUE(contains(first_line, "held by ns/y%0D%0A::error::forged;")) << out;
  EXPECT_EQ(occurrences(out, "\n"), 2u) << out;  // the finding and the summary
}

// ---------------------------------------------------------------------------
// One entry point

TEST(WriteReport, PicksTheFormat) {
  const CheckReport r = files_report();
  for (const auto format : {OutputFormat::Text, OutputFormat::Json, OutputFormat::Sarif, OutputFormat::Junit,
                            OutputFormat::Github}) {
    std::ostringstream out;
    std::ostringstream err;
    write_report(format, r, {}, 2, {}, out, err);
    std::ostringstream direct;
    std::ostringstream direct_err;
    switch (format) {
      case OutputFormat::Text:
        write_text(r, {}, 2, {}, direct, direct_err);
        break;
      case OutputFormat::Json:
        write_json(r, {}, 2, direct);
        break;
      case OutputFormat::Sarif:
        write_sarif(r, {}, {}, direct);
        break;
      case OutputFormat::Junit:
        write_junit(r, {}, {}, direct);
        break;
      case OutputFormat::Github:
        write_github(r, {}, 2, {}, direct);
        break;
    }
    EXPECT_EQ(out.str(), direct.str());
    EXPECT_FALSE(out.str().empty());
  }
}

}  // namespace
}  // namespace cdcguard::cli
