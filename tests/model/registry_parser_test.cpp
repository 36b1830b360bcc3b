#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cdcguard/model/registry.hpp"
#include "cdcguard/model/registry_parser.hpp"
#include "cdcguard/model/rule_ids.hpp"
#include "cdcguard/model/time.hpp"

#include "support/fixtures.hpp"

namespace cdcguard {
namespace {

std::string read_registry_fixture(const std::string& relative) {
  return testing_support::read_fixture_file("registry/" + relative);
}

TimePoint at(std::string_view rfc3339) {
  const auto t = parse_timestamp(rfc3339);
  if (!t) throw std::runtime_error("bad timestamp in test: " + std::string(rfc3339));
  return *t;
}

Date day(std::string_view text) {
  const auto d = parse_date(text);
  if (!d) throw std::runtime_error("bad date in test: " + std::string(text));
  return *d;
}

// The problems parse_registry reports for `text`, or {} when it parses.
std::vector<std::string> problems_of(std::string_view text, const std::string& file, int line_offset = 0) {
  try {
    parse_registry(text, file, line_offset);
  } catch (const RegistryError& e) {
    return e.problems();
  }
  return {};
}

std::string joined(const std::vector<std::string>& problems) {
  std::string s;
  for (const auto& p : problems) s += "\n  " + p;
  return s;
}

template <class Case>
requires requires(const Case& c) {
  c.name;
}
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name;
}

using testing_support::ScenarioName;

TEST(RegistryParser, DesignExampleParsesToItsValues) {
  const Registry r = parse_registry(read_registry_fixture("design-example.yaml"), "registry.yaml");
  EXPECT_EQ(r.rules.range, (IdRange{184000, 184999}));
  EXPECT_EQ(r.rules.embargo_days, 30);
  EXPECT_FALSE(r.rules.require_registration);
  EXPECT_FALSE(r.rules.allow_placeholders);
  EXPECT_TRUE(r.rules.auto_assign);
  EXPECT_EQ(r.rules.schema_history_topic_template, "schema-history.{prefix}");
  ASSERT_EQ(r.rules.enforcement.size(), 1u);
  EXPECT_EQ(r.rules.enforcement.at("topic-prefix-overlap"), Action::Warn);

  ASSERT_EQ(r.exceptions.size(), 1u);
  EXPECT_EQ(r.exceptions[0].connector, "legacy/old-cdc");
  EXPECT_EQ(r.exceptions[0].rules, std::vector<std::string>{"topic-prefix-overlap"});
  EXPECT_EQ(r.exceptions[0].reason, "migrating");
  EXPECT_EQ(r.exceptions[0].until, day("2026-06-30"));
  EXPECT_EQ(r.exceptions[0].line, 10);

  ASSERT_EQ(r.teams.size(), 2u);
  EXPECT_EQ(r.teams[0].name, "team-a");
  EXPECT_EQ(r.teams[0].namespaces, std::vector<std::string>{"ecommerce"});
  EXPECT_EQ(r.teams[0].range, (IdRange{184000, 184099}));
  EXPECT_EQ(r.teams[0].line, 12);
  EXPECT_EQ(r.teams[1].name, "team-b");
  EXPECT_EQ(r.teams[1].namespaces, std::vector<std::string>{"warehouse"});
  EXPECT_EQ(r.teams[1].range, (IdRange{184100, 184199}));

  ASSERT_EQ(r.reserved.size(), 1u);
  EXPECT_EQ(r.reserved[0].server_id, 184999u);
  EXPECT_EQ(r.reserved[0].reason, "MySQL primary server_id");

  ASSERT_EQ(r.entries.size(), 2u);
  const RegistryEntry& orders = r.entries[0];
  EXPECT_EQ(orders.connector, "ecommerce/orders-cdc");
  EXPECT_EQ(orders.server_id, 184001u);
  EXPECT_EQ(orders.database, "ecommerce");
  EXPECT_EQ(orders.status, EntryStatus::Active);
  EXPECT_EQ(orders.owner, "team-a");
  EXPECT_EQ(orders.date, day("2026-01-15"));
  EXPECT_FALSE(orders.decommissioned_at);
  EXPECT_EQ(orders.line, 21);
  const RegistryEntry& stock = r.entries[1];
  EXPECT_EQ(stock.connector, "warehouse/stock-cdc");
  EXPECT_EQ(stock.server_id, 184101u);
  EXPECT_EQ(stock.status, EntryStatus::Decommissioned);
  EXPECT_EQ(stock.date, day("2025-11-02"));
  EXPECT_EQ(stock.decommissioned_at, at("2026-03-10T00:00:00Z"));
  EXPECT_EQ(stock.line, 22);

  EXPECT_EQ(r.team_for_namespace("warehouse"), &r.teams[1]);
  EXPECT_EQ(r.team_for_namespace("nobody"), nullptr);
}

// `: > registry.yaml` or an emptied ConfigMap key is a broken registry: read
// as the defaults, the next write would drop every entry, team and reservation.
TEST(RegistryParser, AnEmptyTextIsAnErrorNotTheDefaultRegistry) {
  struct Case {
    const char* name;
    std::string text;
    int line;
  };
  for (const Case& c : {Case{"empty", "", 1}, Case{"whitespace", "  \n\n   \n", 1},
                        Case{"comments only", "# the registry\n# (nothing yet)\n", 1},
                        Case{"a bare document start", "---\n", 1}, Case{"null", "~\n", 1}}) {
    SCOPED_TRACE(c.name);
    const auto problems = problems_of(c.text, "registry.yaml");
    ASSERT_EQ(problems.size(), 1u) << joined(problems);
    EXPECT_EQ(problems[0], "registry.yaml:" + std::to_string(c.line) + ": " + std::string(kEmptyRegistry));
    EXPECT_NE(problems[0].find("cdc-guard registry init"), std::string::npos);
  }
  // Inside a ConfigMap the line is the key's.
  const auto in_configmap = problems_of("", "cm.yaml", 7);
  ASSERT_EQ(in_configmap.size(), 1u);
  EXPECT_TRUE(in_configmap[0].starts_with("cm.yaml:8: the registry is empty")) << in_configmap[0];
}

TEST(RegistryParser, AConfigMapWithAnEmptyRegistryKeyIsAnError) {
  for (const std::string data : {"  registry.yaml: \"\"\n", "  registry.yaml: |\n    # nothing\n"}) {
    SCOPED_TRACE(data);
    try {
      parse_registry_document("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: registry}\ndata:\n" + data,
                              "cm.yaml");
      FAIL() << "an empty registry.yaml parsed";
    } catch (const RegistryError& e) {
      ASSERT_EQ(e.problems().size(), 1u);
      EXPECT_NE(e.problems()[0].find("the registry is empty"), std::string::npos) << e.problems()[0];
    }
  }
}

TEST(RegistryParser, AnEmptyMapIsADeliberateRegistryWithTheDefaults) {
  EXPECT_EQ(parse_registry("{}\n", "r.yaml"), default_registry());
  EXPECT_EQ(parse_registry("rules:\n", "r.yaml"), default_registry());
}

TEST(RegistryParser, EmptySectionsAreAllowed) {
  const Registry r = parse_registry("rules:\nteams:\nreserved: []\nentries: []\nexceptions:\n", "r.yaml");
  EXPECT_EQ(r, default_registry());
}

TEST(RegistryParser, QuotedNumbersAndTimestampsWhereDatesAreMeant) {
  const Registry r = parse_registry(
      "entries:\n"
      "  - {connector: a/b, serverId: \"184001\", status: Active, date: 2026-01-15T10:00:00Z}\n",
      "r.yaml");
  ASSERT_EQ(r.entries.size(), 1u);
  EXPECT_EQ(r.entries[0].server_id, 184001u);
  EXPECT_EQ(r.entries[0].date, day("2026-01-15"));
}

TEST(RegistryParser, DecommissionedIdsMayRepeatAndBeReused) {
  const Registry r = parse_registry(
      "entries:\n"
      "  - {connector: a/old, serverId: 184001, status: Decommissioned, decommissionedAt: 2025-01-01}\n"
      "  - {connector: a/older, serverId: 184001, status: Decommissioned, decommissionedAt: 2024-01-01}\n"
      "  - {connector: a/new, serverId: 184001, status: Active}\n"
      "  - {connector: a/new, serverId: 184002, status: Decommissioned, date: 2024-06-01}\n",
      "r.yaml");
  EXPECT_EQ(r.entries.size(), 4u);
}

struct Expected {
  int line;
  const char* fragment;  // part of the message after "file:line: "
};

struct InvalidCase {
  const char* name;  // the fixture under registry/invalid/, without .yaml
  std::vector<Expected> problems;
};

class RegistryValidation : public ::testing::TestWithParam<InvalidCase> {};

// Every problem is reported, each as "file:line: message".
TEST_P(RegistryValidation, ReportsEveryProblemWithFileAndLine) {
  const InvalidCase& c = GetParam();
  const std::string file = std::string(c.name) + ".yaml";
  const auto problems = problems_of(read_registry_fixture("invalid/" + file), file);
  ASSERT_EQ(problems.size(), c.problems.size()) << joined(problems);
  for (const Expected& e : c.problems) {
    const std::string prefix = file + ":" + std::to_string(e.line) + ": ";
    const bool found = std::any_of(problems.begin(), problems.end(), [&](const std::string& p) {
      return p.starts_with(prefix) && p.find(e.fragment) != std::string::npos;
    });
    EXPECT_TRUE(found) << "no \"" << prefix << "..." << e.fragment << "...\" in" << joined(problems);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Registry, RegistryValidation,
    ::testing::Values(
        InvalidCase{
            "server-id-not-a-number",
            {{4, "entry ecommerce/payments-cdc: serverId must be an integer in 0..4294967295, got \"abc\""}}},
        InvalidCase{"server-id-zero", {{2, "reserved serverId must be in 1..4294967295, got 0"}}},
        InvalidCase{"server-id-too-big", {{4, "got \"4294967296\""}}},
        InvalidCase{"range-empty", {{3, "rules.range is empty: from 184999 is above to 184000"}}},
        InvalidCase{"embargo-not-a-number", {{3, "rules.embargoDays must be an integer"}}},
        InvalidCase{"boolean-not-a-boolean",
                    {{2, "rules.allowPlaceholders must be true or false"},
                     {3, "rules.autoAssign must be true or false"}}},
        InvalidCase{"team-ranges-overlap",
                    {{5, "team team-b range 184050-184199 overlaps team team-a range 184000-184099"}}},
        InvalidCase{"team-range-outside",
                    {{4, "team team-a range 184900-185099 is outside the registry range 184000-184999"}}},
        InvalidCase{"id-in-two-live-entries",
                    {{5,
                      "server id 184001 is held by two live entries: ecommerce/orders-cdc (line 2) and "
                      "payments/pay-cdc"}}},
        InvalidCase{"connector-two-live-ids",
                    {{4, "connector ecommerce/orders-cdc holds two live ids: 184001 (line 2) and 184005"}}},
        InvalidCase{"unknown-status", {{4, "unknown status \"Retired\""}}},
        InvalidCase{"missing-status", {{2, "status"}}},
        InvalidCase{"bad-date", {{5, "date must be a date (YYYY-MM-DD), got \"2026-02-30\""}}},
        InvalidCase{"bad-timestamp",
                    {{5, "expiresAt must be a date or an RFC 3339 time, got \"2026-04-01T25:00:00Z\""},
                     {10, "decommissionedAt must be a date or an RFC 3339 time, got \"last tuesday\""}}},
        InvalidCase{"decommissioned-without-date", {{2, "a Decommissioned entry needs decommissionedAt"}}},
        InvalidCase{"unknown-key",
                    {{3, "unknown key \"embargodays\" in rules"},
                     {5, "unknown key \"onwer\" in an entry"},
                     {6, "unknown key \"entrys\" in registry"}}},
        InvalidCase{"unknown-rule-in-enforcement",
                    {{4, "rules.enforcement: unknown rule \"server-id-duplicated\""}}},
        InvalidCase{"bad-action",
                    {{2, "rules.enforcement.topic-prefix-overlap must be deny, warn or audit"}}},
        InvalidCase{"unknown-rule-in-exception",
                    {{5, "exception for legacy/old-cdc: unknown rule \"topic-prefix-overlapp\""}}},
        InvalidCase{"exception-bad-until",
                    {{2, "exception until must be a date (YYYY-MM-DD), got \"2026-13-01\""}}},
        InvalidCase{"exception-without-rules",
                    {{2, "exception for legacy/old-cdc needs a non-empty list of rules"}}},
        InvalidCase{"namespace-in-two-teams",
                    {{4, "namespace shared belongs to both team team-a and team team-b"}}},
        InvalidCase{"team-listed-twice", {{3, "team team-a is listed twice"}}},
        InvalidCase{"reserved-twice", {{3, "server id 184999 is reserved twice"}}},
        InvalidCase{"connector-not-namespaced",
                    {{2, "entry connector \"orders-cdc\" is not \"namespace/name\""}}},
        InvalidCase{
            "connector-invalid-name",
            {{4, "entry connector \"ecommerce/a/b\": name \"a/b\" is not a valid Kubernetes object name"},
             {5, "entry connector \"/nsm3\": namespace \"\" is not a valid Kubernetes namespace name"},
             {6, "entry connector \"Ecommerce/orders-cdc\": namespace \"Ecommerce\" is not"}}},
        InvalidCase{"exception-connector-invalid",
                    {{2, "exception connector \"legacy/Old_CDC\": name \"Old_CDC\" is not a valid"}}},
        InvalidCase{"two-documents", {{3, "a registry is one YAML document, found 2"}}},
        InvalidCase{"malformed", {{5, "malformed YAML"}}},
        InvalidCase{"not-a-map", {{1, "the registry must be a map"}}},
        InvalidCase{"several-problems",
                    {{3, "rules.embargoDays must be an integer"},
                     {8, "team team-b range 184090-184199 overlaps team team-a"},
                     {13, "server id 184001 is held by two live entries"},
                     {14, "unknown status \"Gone\""},
                     {15, "got \"2026-02-30\""}}}),
    ScenarioName{});

TEST(RegistryParser, RegistryErrorMessageListsEveryProblem) {
  try {
    parse_registry(read_registry_fixture("invalid/several-problems.yaml"), "reg.yaml");
    FAIL() << "expected RegistryError";
  } catch (const RegistryError& e) {
    ASSERT_EQ(e.problems().size(), 5u);
    for (const auto& p : e.problems()) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << p;
  }
}

TEST(RegistryParser, LineOffsetShiftsEveryLine) {
  const auto problems =
      problems_of(read_registry_fixture("invalid/id-in-two-live-entries.yaml"), "cm.yaml", 10);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_TRUE(problems[0].starts_with("cm.yaml:15: ")) << problems[0];
  EXPECT_NE(problems[0].find("(line 12)"), std::string::npos) << problems[0];
}

TEST(RegistryDocument, BareRegistryFile) {
  const Registry r = parse_registry_document(read_registry_fixture("design-example.yaml"), "registry.yaml");
  EXPECT_EQ(r, parse_registry(read_registry_fixture("design-example.yaml"), "registry.yaml"));
}

TEST(RegistryDocument, ConfigMapManifest) {
  const Registry r = parse_registry_document(read_registry_fixture("configmap.yaml"), "configmap.yaml");
  EXPECT_EQ(r.rules.embargo_days, 14);
  EXPECT_TRUE(r.rules.require_registration);
  ASSERT_EQ(r.teams.size(), 1u);
  EXPECT_EQ(r.teams[0].namespaces, (std::vector<std::string>{"ecommerce", "payments"}));
  ASSERT_EQ(r.entries.size(), 2u);
  EXPECT_EQ(r.entries[0].connector, "ecommerce/orders-cdc");
  EXPECT_EQ(r.entries[1].status, EntryStatus::Pending);
  EXPECT_EQ(r.entries[1].claim_uid, "0b6c3f0e-2d3a-4d44-9a59-1f3b1c2d3e4f");
  EXPECT_EQ(r.entries[1].expires_at, at("2026-04-01T10:05:00Z"));
}

TEST(RegistryDocument, ConfigMapErrorsPointAtLinesOfTheConfigMapFile) {
  try {
    parse_registry_document(read_registry_fixture("configmap-invalid.yaml"), "configmap-invalid.yaml");
    FAIL() << "expected RegistryError";
  } catch (const RegistryError& e) {
    const auto& p = e.problems();
    ASSERT_EQ(p.size(), 3u) << joined(p);
    const auto has = [&](const std::string& prefix, const std::string& fragment) {
      return std::any_of(p.begin(), p.end(), [&](const std::string& s) {
        return s.starts_with(prefix) && s.find(fragment) != std::string::npos;
      });
    };
    EXPECT_TRUE(has("configmap-invalid.yaml:10: ", "unknown key \"embargodays\"")) << joined(p);
    EXPECT_TRUE(has("configmap-invalid.yaml:13: ", "ecommerce/orders-cdc (line 12)")) << joined(p);
    EXPECT_TRUE(has("configmap-invalid.yaml:14: ", "got \"abc\"")) << joined(p);
  }
}

TEST(RegistryDocument, MalformedRegistryInsideAConfigMapPointsAtTheFileLine) {
  const std::string text = read_registry_fixture("configmap-malformed.yaml");
  try {
    parse_registry_document(text, "configmap-malformed.yaml");
    FAIL() << "expected RegistryError";
  } catch (const RegistryError& e) {
    ASSERT_EQ(e.problems().size(), 1u);
    // The flow map opened on file line 8 is still open when `entries:` arrives on line 9.
    EXPECT_TRUE(e.problems()[0].starts_with("configmap-malformed.yaml:9: malformed YAML")) << e.problems()[0];
  }
}

TEST(RegistryDocument, QuotedRegistryTextNamesTheDataKey) {
  const std::string text =
      "{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"r\"},\n"
      " \"data\": {\"registry.yaml\": \"rules:\\n  embargoDays: 7\\n  autoassign: true\\n\"}}\n";
  try {
    parse_registry_document(text, "cm.json");
    FAIL() << "expected RegistryError";
  } catch (const RegistryError& e) {
    ASSERT_EQ(e.problems().size(), 1u);
    // The lines of a JSON string do not map onto the file's: name the key instead.
    EXPECT_TRUE(e.problems()[0].starts_with("cm.json (data.registry.yaml):3: unknown key \"autoassign\""))
        << e.problems()[0];
  }
}

TEST(RegistryDocument, TwoRegistryConfigMapsAreAnError) {
  const std::string cm = read_registry_fixture("configmap.yaml");
  EXPECT_THROW(parse_registry_document(cm + "---\n" + cm, "two.yaml"), RegistryError);
}

TEST(RegistryDocument, MalformedOuterYamlIsARegistryError) {
  try {
    parse_registry_document("kind: ConfigMap\ndata:\n  registry.yaml: x: y\n", "cm.yaml");
    FAIL() << "expected RegistryError";
  } catch (const RegistryError& e) {
    ASSERT_EQ(e.problems().size(), 1u);
    EXPECT_TRUE(e.problems()[0].starts_with("cm.yaml:3: malformed YAML")) << e.problems()[0];
  }
}

// --- entries, exceptions and enforcement at a given time ---

RegistryEntry entry(EntryStatus status) {
  RegistryEntry e;
  e.connector = "ecommerce/orders-cdc";
  e.server_id = 184001;
  e.status = status;
  return e;
}

struct LiveCase {
  const char* name;
  EntryStatus status;
  const char* expires_at;  // "" = none
  const char* now;
  bool live;
};

class RegistryEntryLive : public ::testing::TestWithParam<LiveCase> {};

TEST_P(RegistryEntryLive, IsLive) {
  const LiveCase& c = GetParam();
  RegistryEntry e = entry(c.status);
  if (*c.expires_at) e.expires_at = at(c.expires_at);
  if (c.status == EntryStatus::Decommissioned) e.decommissioned_at = at("2026-03-10T00:00:00Z");
  EXPECT_EQ(e.is_live(at(c.now)), c.live);
}

INSTANTIATE_TEST_SUITE_P(
    Registry, RegistryEntryLive,
    ::testing::Values(
        LiveCase{"active", EntryStatus::Active, "", "2026-04-01T00:00:00Z", true},
        LiveCase{"reserved", EntryStatus::Reserved, "", "2026-04-01T00:00:00Z", true},
        LiveCase{"decommissioned", EntryStatus::Decommissioned, "", "2026-03-11T00:00:00Z", false},
        LiveCase{"pending_without_expiry", EntryStatus::Pending, "", "2030-01-01T00:00:00Z", true},
        LiveCase{"pending_before_expiry", EntryStatus::Pending, "2026-04-01T10:05:00Z",
                 "2026-04-01T10:04:59Z", true},
        LiveCase{"pending_after_expiry", EntryStatus::Pending, "2026-04-01T10:05:00Z", "2026-04-01T10:05:01Z",
                 false},
        LiveCase{"pending_long_expired", EntryStatus::Pending, "2026-04-01T10:05:00Z", "2026-05-01T00:00:00Z",
                 false}),
    ScenarioName{});

struct EmbargoCase {
  const char* name;
  const char* decommissioned_at;  // "" = none
  const char* date;               // "" = none
  int embargo_days;
  const char* now;
  bool embargoed;
};

class RegistryEntryEmbargo : public ::testing::TestWithParam<EmbargoCase> {};

TEST_P(RegistryEntryEmbargo, IsEmbargoed) {
  const EmbargoCase& c = GetParam();
  RegistryEntry e = entry(EntryStatus::Decommissioned);
  if (*c.decommissioned_at) e.decommissioned_at = at(c.decommissioned_at);
  if (*c.date) e.date = day(c.date);
  EXPECT_EQ(e.is_embargoed(at(c.now), c.embargo_days), c.embargoed);
}

INSTANTIATE_TEST_SUITE_P(
    Registry, RegistryEntryEmbargo,
    ::testing::Values(
        EmbargoCase{"day_of_decommissioning", "2026-03-10", "", 30, "2026-03-10T12:00:00Z", true},
        EmbargoCase{"last_second_of_last_day", "2026-03-10", "", 30, "2026-04-08T23:59:59Z", true},
        EmbargoCase{"first_second_after", "2026-03-10", "", 30, "2026-04-09T00:00:00Z", false},
        EmbargoCase{"long_after", "2026-03-10", "", 30, "2027-01-01T00:00:00Z", false},
        EmbargoCase{"afternoon_decommissioning_still_embargoed", "2026-03-10T15:30:00Z", "", 30,
                    "2026-04-09T15:29:59Z", true},
        EmbargoCase{"afternoon_decommissioning_free", "2026-03-10T15:30:00Z", "", 30, "2026-04-09T15:30:00Z",
                    false},
        EmbargoCase{"no_embargo", "2026-03-10", "", 0, "2026-03-10T00:00:00Z", false},
        EmbargoCase{"date_when_no_decommissioned_at", "", "2026-03-10", 30, "2026-04-08T23:59:59Z", true},
        EmbargoCase{"date_when_no_decommissioned_at_free", "", "2026-03-10", 30, "2026-04-09T00:00:00Z",
                    false},
        EmbargoCase{"decommissioned_at_wins_over_date", "2026-03-10", "2025-01-01", 30,
                    "2026-04-01T00:00:00Z", true}),
    ScenarioName{});

TEST(RegistryEntry, EmbargoEnd) {
  RegistryEntry e = entry(EntryStatus::Decommissioned);
  e.decommissioned_at = at("2026-03-10");
  EXPECT_EQ(e.embargo_end(30), at("2026-04-09T00:00:00Z"));
  EXPECT_EQ(e.embargo_end(0), at("2026-03-10T00:00:00Z"));
  e.decommissioned_at.reset();
  EXPECT_FALSE(e.embargo_end(30));  // nothing to count from
  for (const auto status : {EntryStatus::Active, EntryStatus::Reserved, EntryStatus::Pending}) {
    RegistryEntry live = entry(status);
    live.decommissioned_at = at("2026-03-10");
    EXPECT_FALSE(live.embargo_end(30));
    EXPECT_FALSE(live.is_embargoed(at("2026-03-11T00:00:00Z"), 30));
  }
}

TEST(RegistryEntry, EmbargoFromAParsedRegistry) {
  const Registry r = parse_registry(read_registry_fixture("design-example.yaml"), "registry.yaml");
  const RegistryEntry& stock = r.entries[1];
  EXPECT_TRUE(stock.is_embargoed(at("2026-04-08T23:59:59Z"), r.rules.embargo_days));
  EXPECT_FALSE(stock.is_embargoed(at("2026-04-09T00:00:00Z"), r.rules.embargo_days));
  EXPECT_FALSE(stock.is_live(at("2026-03-11T00:00:00Z")));
  EXPECT_TRUE(r.entries[0].is_live(at("2026-03-11T00:00:00Z")));
}

TEST(RegistryEntry, PendingClaimFromAParsedRegistryLapses) {
  const Registry r = parse_registry_document(read_registry_fixture("configmap.yaml"), "configmap.yaml");
  const RegistryEntry& pending = r.entries[1];
  EXPECT_TRUE(pending.is_live(at("2026-04-01T10:00:00Z")));
  EXPECT_FALSE(pending.is_live(at("2026-04-01T10:06:00Z")));
}

struct ExceptionCase {
  const char* name;
  const char* until;  // "" = no expiry
  const char* now;
  bool active;
};

class RuleExceptionActive : public ::testing::TestWithParam<ExceptionCase> {};

TEST_P(RuleExceptionActive, HonouredThroughItsUntilDay) {
  const ExceptionCase& c = GetParam();
  RuleException x;
  x.connector = "legacy/old-cdc";
  x.rules = {"topic-prefix-overlap"};
  if (*c.until) x.until = day(c.until);
  EXPECT_EQ(x.active(at(c.now)), c.active);
}

INSTANTIATE_TEST_SUITE_P(
    Registry, RuleExceptionActive,
    ::testing::Values(ExceptionCase{"well_before", "2026-06-30", "2026-01-01T00:00:00Z", true},
                      ExceptionCase{"start_of_until_day", "2026-06-30", "2026-06-30T00:00:00Z", true},
                      ExceptionCase{"end_of_until_day", "2026-06-30", "2026-06-30T23:59:59Z", true},
                      ExceptionCase{"day_after", "2026-06-30", "2026-07-01T00:00:00Z", false},
                      ExceptionCase{"long_after", "2026-06-30", "2027-01-01T00:00:00Z", false},
                      ExceptionCase{"no_expiry", "", "2099-01-01T00:00:00Z", true}),
    ScenarioName{});

TEST(RegistryExceptions, ExceptionForMatchesConnectorRuleAndTime) {
  const Registry r = parse_registry(
      "exceptions:\n"
      "  - {connector: legacy/old-cdc, rules: [topic-prefix-overlap], reason: migrating, until: 2026-06-30}\n"
      "  - {connector: legacy/any-cdc, rules: [\"*\"], reason: everything}\n",
      "r.yaml");
  const TimePoint june = at("2026-06-30T12:00:00Z");
  const TimePoint july = at("2026-07-01T00:00:00Z");
  const RuleException* x = r.exception_for("legacy/old-cdc", "topic-prefix-overlap", june);
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->reason, "migrating");
  EXPECT_EQ(x->line, 2);
  EXPECT_EQ(r.exception_for("legacy/old-cdc", "topic-prefix-overlap", july), nullptr);
  EXPECT_EQ(r.exception_for("legacy/old-cdc", "server-id-duplicate", june), nullptr);
  EXPECT_EQ(r.exception_for("legacy/other-cdc", "topic-prefix-overlap", june), nullptr);
  for (const auto rule_id : rule::all()) {
    EXPECT_NE(r.exception_for("legacy/any-cdc", rule_id, july), nullptr) << rule_id;
  }
  EXPECT_TRUE(r.exceptions[1].covers("server-id-duplicate"));
  EXPECT_FALSE(r.exceptions[0].covers("server-id-duplicate"));
}

struct ActionCase {
  const char* name;
  const char* registry;
  const char* rule;
  Action action;
};

class RegistryActionFor : public ::testing::TestWithParam<ActionCase> {};

TEST_P(RegistryActionFor, PicksTheEnforcement) {
  const ActionCase& c = GetParam();
  const Registry r = parse_registry(c.registry, "r.yaml");
  EXPECT_EQ(r.action_for(c.rule), c.action);
}

INSTANTIATE_TEST_SUITE_P(
    Registry, RegistryActionFor,
    ::testing::Values(
        ActionCase{"default_is_deny", "rules:", "server-id-duplicate", Action::Deny},
        ActionCase{"placeholder_default_is_deny", "rules:", "server-id-unresolvable", Action::Deny},
        ActionCase{"warn", "rules: {enforcement: {topic-prefix-overlap: warn}}", "topic-prefix-overlap",
                   Action::Warn},
        ActionCase{"audit", "rules: {enforcement: {topic-prefix-overlap: audit}}", "topic-prefix-overlap",
                   Action::Audit},
        ActionCase{"explicit_deny", "rules: {enforcement: {topic-prefix-overlap: deny}}",
                   "topic-prefix-overlap", Action::Deny},
        ActionCase{"other_rule_keeps_deny", "rules: {enforcement: {topic-prefix-overlap: warn}}",
                   "topic-prefix-duplicate", Action::Deny},
        ActionCase{"allow_placeholders_warns", "rules: {allowPlaceholders: true}", "server-id-unresolvable",
                   Action::Warn},
        ActionCase{"allow_placeholders_only_that_rule", "rules: {allowPlaceholders: true}",
                   "server-id-invalid", Action::Deny},
        ActionCase{"enforcement_wins_over_allow_placeholders",
                   "rules: {allowPlaceholders: true, enforcement: {server-id-unresolvable: audit}}",
                   "server-id-unresolvable", Action::Audit}),
    ScenarioName{});

TEST(RegistryActions, NamesRoundTrip) {
  for (const Action a : {Action::Deny, Action::Warn, Action::Audit}) EXPECT_EQ(parse_action(to_string(a)), a);
  EXPECT_FALSE(parse_action("block"));
  EXPECT_FALSE(parse_action("Deny"));
  for (const EntryStatus s :
       {EntryStatus::Reserved, EntryStatus::Pending, EntryStatus::Active, EntryStatus::Decommissioned}) {
    EXPECT_EQ(parse_entry_status(to_string(s)), s);
  }
  EXPECT_FALSE(parse_entry_status("active"));
}

}  // namespace
}  // namespace cdcguard
