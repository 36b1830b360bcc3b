#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cdcguard/model/registry.hpp"
#include "cdcguard/model/registry_parser.hpp"
#include "cdcguard/model/registry_writer.hpp"
#include "cdcguard/model/time.hpp"

#include "support/fixtures.hpp"

namespace cdcguard {
namespace {

std::string read_registry_fixture(const std::string& relative) {
  return testing_support::read_fixture_file("registry/" + relative);
}

Registry parse_or_fail(const std::string& text, const std::string& file) {
  try {
    return parse_registry(text, file);
  } catch (const RegistryError& e) {
    ADD_FAILURE() << e.what() << "\n--- text ---\n" << text;
    return {};
  }
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Rows of the markdown table (not its header or separator).
std::vector<std::string> table_rows(const std::string& markdown) {
  std::vector<std::string> rows;
  bool in_table = false;
  for (const auto& line : lines_of(markdown)) {
    if (line.starts_with("| Connector Name |")) {
      in_table = true;
      continue;
    }
    if (in_table && line.starts_with("|---")) continue;
    if (in_table && line.starts_with("|")) rows.push_back(line);
  }
  return rows;
}

TEST(RegistryWriter, RichRegistryRoundTrips) {
  const Registry original = parse_or_fail(read_registry_fixture("rich.yaml"), "rich.yaml");
  ASSERT_EQ(original.entries.size(), 6u);
  const std::string yaml = render_registry_yaml(original);
  const Registry back = parse_or_fail(yaml, "rendered.yaml");
  EXPECT_EQ(back, original) << yaml;
  // Spot checks, so that a writer and reader that agree on dropping something still fail.
  ASSERT_EQ(back.exceptions.size(), 3u);
  EXPECT_EQ(back.exceptions[0].reason, "ticket: OPS-42 \"migrating\" to 2.x");
  EXPECT_EQ(back.exceptions[1].reason, "null");
  EXPECT_EQ(back.exceptions[1].rules, std::vector<std::string>{"*"});
  EXPECT_FALSE(back.exceptions[1].until);
  ASSERT_EQ(back.entries.size(), 6u);
  EXPECT_EQ(back.entries[1].database, "pay: main");
  EXPECT_EQ(back.entries[1].expires_at, parse_timestamp("2026-04-01T10:05:00Z"));
  EXPECT_EQ(back.entries[1].claim_uid, "0b6c3f0e-2d3a-4d44-9a59-1f3b1c2d3e4f");
  EXPECT_EQ(back.entries[2].owner, "null");
  EXPECT_EQ(back.entries[5].decommissioned_at, parse_timestamp("2026-03-10T15:30:00Z"));
  EXPECT_EQ(back.rules.range, (IdRange{100, 4294967295u}));
  EXPECT_EQ(back.rules.enforcement.size(), 3u);
  EXPECT_TRUE(back.rules.allow_placeholders);
  EXPECT_TRUE(back.rules.require_registration);
  EXPECT_TRUE(back.rules.auto_assign);
}

TEST(RegistryWriter, DesignExampleRoundTrips) {
  const Registry original = parse_or_fail(read_registry_fixture("design-example.yaml"), "registry.yaml");
  EXPECT_EQ(parse_or_fail(render_registry_yaml(original), "rendered.yaml"), original);
}

TEST(RegistryWriter, DefaultRegistryRoundTrips) {
  const std::string yaml = render_registry_yaml(default_registry());
  EXPECT_EQ(parse_or_fail(yaml, "rendered.yaml"), default_registry()) << yaml;
}

TEST(RegistryWriter, RenderingIsStable) {
  const Registry r = parse_or_fail(read_registry_fixture("rich.yaml"), "rich.yaml");
  const std::string once = render_registry_yaml(r);
  EXPECT_EQ(render_registry_yaml(r), once);
  // Rendering what was read back gives the same bytes again.
  EXPECT_EQ(render_registry_yaml(parse_or_fail(once, "rendered.yaml")), once);
  EXPECT_TRUE(once.ends_with("\n"));
}

TEST(RegistryWriter, EntriesAreSortedByServerIdThenConnectorOnePerLine) {
  Registry r;
  const auto add = [&](const char* connector, std::uint32_t id, EntryStatus status) {
    RegistryEntry e;
    e.connector = connector;
    e.server_id = id;
    e.status = status;
    if (status == EntryStatus::Decommissioned) e.decommissioned_at = parse_timestamp("2026-01-01");
    r.entries.push_back(e);
  };
  add("c/third", 184003, EntryStatus::Active);
  add("b/first-new", 184001, EntryStatus::Active);
  add("a/first-old", 184001, EntryStatus::Decommissioned);
  add("d/second", 184002, EntryStatus::Reserved);
  const std::string yaml = render_registry_yaml(r);
  std::vector<std::string> order;
  for (const auto& line : lines_of(yaml)) {
    const auto at = line.find("connector: ");
    if (at == std::string::npos) continue;
    EXPECT_NE(line.find("serverId: "), std::string::npos) << "one entry per line: " << line;
    order.push_back(line.substr(at + 11, line.find(',', at) - at - 11));
  }
  EXPECT_EQ(order, (std::vector<std::string>{"a/first-old", "b/first-new", "d/second", "c/third"})) << yaml;
  // Order aside, the same registry comes back.
  const Registry back = parse_or_fail(yaml, "rendered.yaml");
  ASSERT_EQ(back.entries.size(), 4u);
  for (const auto& e : r.entries) {
    EXPECT_NE(std::find(back.entries.begin(), back.entries.end(), e), back.entries.end()) << e.connector;
  }
}

TEST(RegistryWriter, ReservedIdsAreSorted) {
  Registry r;
  r.reserved = {{184999, "primary", 0}, {184000, "", 0}, {184500, "replica", 0}};
  const Registry back = parse_or_fail(render_registry_yaml(r), "rendered.yaml");
  ASSERT_EQ(back.reserved.size(), 3u);
  EXPECT_EQ(back.reserved[0].server_id, 184000u);
  EXPECT_EQ(back.reserved[1].server_id, 184500u);
  EXPECT_EQ(back.reserved[2].server_id, 184999u);
  EXPECT_EQ(back.reserved[2].reason, "primary");
}

struct TextCase {
  const char* name;
  std::string text;
};

template <class Case>
requires requires(const Case& c) {
  c.name;
}
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name;
}

using testing_support::ScenarioName;

class RegistryWriterText : public ::testing::TestWithParam<TextCase> {};

// Free text (reasons, owners, databases) comes back exactly as it went in.
TEST_P(RegistryWriterText, FreeTextRoundTrips) {
  const std::string& s = GetParam().text;
  Registry r;
  r.reserved = {{184999, s, 0}};
  RuleException x;
  x.connector = "legacy/old-cdc";
  x.rules = {"topic-prefix-overlap"};
  x.reason = s;
  r.exceptions = {x};
  RegistryEntry e;
  e.connector = "ecommerce/orders-cdc";
  e.server_id = 184001;
  e.database = s;
  e.owner = s;
  r.entries = {e};
  const std::string yaml = render_registry_yaml(r);
  const Registry back = parse_or_fail(yaml, "rendered.yaml");
  ASSERT_EQ(back.exceptions.size(), 1u) << yaml;
  EXPECT_EQ(back.exceptions[0].reason, s) << yaml;
  ASSERT_EQ(back.entries.size(), 1u) << yaml;
  EXPECT_EQ(back.entries[0].owner, s) << yaml;
  EXPECT_EQ(back.entries[0].database, s) << yaml;
  ASSERT_EQ(back.reserved.size(), 1u) << yaml;
  EXPECT_EQ(back.reserved[0].reason, s) << yaml;
  EXPECT_EQ(back, r) << yaml;
  EXPECT_EQ(render_checked_registry_yaml(r), yaml);
}

INSTANTIATE_TEST_SUITE_P(
    Registry, RegistryWriterText,
    ::testing::Values(TextCase{"null_word", "null"}, TextCase{"null_capital", "Null"}, TextCase{"tilde", "~"},
                      TextCase{"true_word", "true"}, TextCase{"yes_word", "yes"},
                      TextCase{"number", "184001"}, TextCase{"date", "2026-01-15"},
                      TextCase{"colon_space", "ticket: OPS-42"}, TextCase{"trailing_colon", "note:"},
                      TextCase{"url", "https://example.com/a?b=c#d"}, TextCase{"double_quotes", "say \"hi\""},
                      TextCase{"single_quotes", "O'Brien"}, TextCase{"hash", "a #comment"},
                      TextCase{"leading_hash", "#1"}, TextCase{"dash_start", "- item"},
                      TextCase{"question_start", "? key"}, TextCase{"braces", "{prefix}"},
                      TextCase{"brackets", "[a, b]"}, TextCase{"comma", "a, b"}, TextCase{"pipe", "a | b"},
                      TextCase{"leading_pipe", "| b"}, TextCase{"gt", "> b"}, TextCase{"star", "*alias"},
                      TextCase{"ampersand", "&anchor"}, TextCase{"bang", "!tag"},
                      TextCase{"percent", "%directive"}, TextCase{"at", "@team"}, TextCase{"backtick", "`x`"},
                      TextCase{"leading_space", " padded"}, TextCase{"trailing_space", "padded "},
                      TextCase{"newline", "two\nlines"}, TextCase{"tab", "a\tb"},
                      TextCase{"trailing_tab", "a\t"}, TextCase{"leading_tab", "\ta"},
                      TextCase{"carriage_return", "a\r\nb"}, TextCase{"backslash", "C:\\x"},
                      TextCase{"unicode", "Zürich – 東京"}, TextCase{"document_marker", "---"}),
    ScenarioName{});

TEST(RegistryMarkdown, TableHasTheHeaderAndOneRowPerEntry) {
  const Registry r = parse_or_fail(read_registry_fixture("rich.yaml"), "rich.yaml");
  const std::string md = render_registry_markdown(r);
  const auto lines = lines_of(md);
  const auto header = std::find(lines.begin(), lines.end(),
                                "| Connector Name | Server ID | Database | Status | Owner | Date |");
  ASSERT_NE(header, lines.end()) << md;
  ASSERT_NE(header + 1, lines.end());
  EXPECT_TRUE((header + 1)->starts_with("|---")) << *(header + 1);
  const auto rows = table_rows(md);
  ASSERT_EQ(rows.size(), r.entries.size()) << md;
  EXPECT_EQ(rows[0], "| ecommerce/orders-cdc | 184001 | ecommerce | Active | team-a | 2026-01-15 |");
  // Sorted like the YAML, and a `|` inside a cell is escaped.
  EXPECT_EQ(rows[1], "| payments/pay-cdc | 184002 | pay: main | Pending | team-a \\| payments |  |");
  EXPECT_NE(rows[3].find("| warehouse/stock-cdc | 184101 |"), std::string::npos) << rows[3];
  EXPECT_NE(rows[3].find("Decommissioned"), std::string::npos) << rows[3];
  EXPECT_NE(rows[3].find("2026-03-10"), std::string::npos) << rows[3];
  for (const auto& row : rows) {
    // Seven unescaped pipes: six columns.
    int pipes = 0;
    for (std::size_t i = 0; i < row.size(); ++i) pipes += row[i] == '|' && (i == 0 || row[i - 1] != '\\');
    EXPECT_EQ(pipes, 7) << row;
  }
}

TEST(RegistryMarkdown, StatesTheAllocationRules) {
  const Registry r = parse_or_fail(read_registry_fixture("design-example.yaml"), "registry.yaml");
  const std::string md = render_registry_markdown(r);
  const std::string table = "| Connector Name |";
  const auto header_at = md.find(table);
  ASSERT_NE(header_at, std::string::npos);
  const std::string preamble = md.substr(0, header_at);
  for (const char* fragment : {"184000-184999", "team-a", "184000-184099", "team-b", "184100-184199",
                               "184999", "MySQL primary server_id", "30 days"}) {
    EXPECT_NE(preamble.find(fragment), std::string::npos) << fragment << " missing from\n" << preamble;
  }
  EXPECT_EQ(table_rows(md).size(), 2u);
}

TEST(RegistryMarkdown, EscapesPipesInEveryTextCell) {
  Registry r;
  RegistryEntry e;
  e.connector = "ns/a|b";
  e.server_id = 184001;
  e.database = "db|1";
  e.owner = "team|x";
  e.date = parse_date("2026-01-15");
  r.entries = {e};
  r.teams = {{"team|x", {"ns"}, IdRange{184000, 184099}, 0}};
  const std::string md = render_registry_markdown(r);
  const auto rows = table_rows(md);
  ASSERT_EQ(rows.size(), 1u) << md;
  EXPECT_EQ(rows[0], "| ns/a\\|b | 184001 | db\\|1 | Active | team\\|x | 2026-01-15 |");
}

TEST(RegistryMarkdown, EmptyRegistryHasAnEmptyTable) {
  const std::string md = render_registry_markdown(default_registry());
  EXPECT_NE(md.find("| Connector Name | Server ID | Database | Status | Owner | Date |"), std::string::npos);
  EXPECT_TRUE(table_rows(md).empty()) << md;
  EXPECT_NE(md.find("184000-184999"), std::string::npos);
  EXPECT_NE(md.find("30 days"), std::string::npos);
}

}  // namespace
}  // namespace cdcguard

namespace cdcguard {
namespace {

// Entries are written without yaml-cpp's emitter when their texts are plain
// (names, uids); the expected text is what the emitter wrote for the same
// registry, including words YAML could read as other types.
TEST(RegistryWriter, PlainEntriesAreWrittenExactlyAsTheEmitterWroteThem) {
  const Registry r =
      parse_or_fail(testing_support::read_fixture_file("writer/texts.input.yaml"), "texts.yaml");
  const std::string expected = testing_support::read_fixture_file("writer/texts.expected.yaml");
  EXPECT_EQ(render_registry_yaml(r), expected);
  EXPECT_EQ(parse_or_fail(expected, "expected.yaml"), r);
}

// What a store writes: the same text as render_registry_yaml for every
// registry the parser accepts.
TEST(RegistryWriter, TheCheckedRenderingOfAValidRegistryIsTheRendering) {
  for (const std::string fixture : {"registry/rich.yaml", "registry/design-example.yaml",
                                    "writer/texts.input.yaml", "admission/registry.yaml"}) {
    SCOPED_TRACE(fixture);
    const Registry r = parse_or_fail(testing_support::read_fixture_file(fixture), fixture);
    EXPECT_EQ(render_checked_registry_yaml(r), render_registry_yaml(r));
  }
  EXPECT_EQ(render_checked_registry_yaml(default_registry()), render_registry_yaml(default_registry()));
}

// The fields the topic rules and the reconciler need (DESIGN.md "Registry")
// are read, written in the order of the design's example, and read back.
TEST(RegistryWriter, TopicFactsUidAndClusterRoundTrip) {
  const std::string text =
      "rules:\n  range: {from: 184000, to: 184999}\n  historyDays: 400\n"
      "entries:\n"
      "  - {connector: ecommerce/orders-cdc, serverId: 184001, status: Active, date: 2026-01-15, "
      "topicPrefix: shop, schemaHistoryTopic: schema-history.shop, cluster: prod-eu, "
      "uid: 6f1c2b3a-0000-4000-8000-000000000001}\n"
      "  - {connector: ecommerce/dash-cdc, serverId: 184002, status: Active, topicPrefix: dash, "
      "topicDelimiter: _}\n"
      "  - {connector: ecommerce/dot-cdc, serverId: 184003, status: Active, topicPrefix: dot, "
      "topicDelimiter: .}\n";
  const Registry r = parse_or_fail(text, "facts.yaml");
  ASSERT_EQ(r.entries.size(), 3u);
  const RegistryEntry& e = r.entries[0];
  EXPECT_EQ(e.topic_prefix, "shop");
  EXPECT_EQ(e.delimiter(), ".");
  EXPECT_EQ(e.schema_history_topic, "schema-history.shop");
  EXPECT_EQ(e.cluster, "prod-eu");
  EXPECT_EQ(e.uid, "6f1c2b3a-0000-4000-8000-000000000001");
  EXPECT_EQ(r.entries[1].delimiter(), "_");
  EXPECT_EQ(r.rules.history_days, 400);

  const std::string out = render_registry_yaml(r);
  EXPECT_NE(out.find("date: 2026-01-15, topicPrefix: shop, schemaHistoryTopic: schema-history.shop, cluster: "
                     "prod-eu, uid: 6f1c2b3a-0000-4000-8000-000000000001}"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("topicPrefix: dash, topicDelimiter: _}"), std::string::npos) << out;
  EXPECT_EQ(out.find("topicDelimiter: ."), std::string::npos) << "the default delimiter is not written\n"
                                                              << out;
  EXPECT_NE(out.find("historyDays: 400"), std::string::npos) << out;
  EXPECT_EQ(parse_or_fail(out, "out.yaml"), r);
  // The emitter's path (an entry with a text that is not plain) writes the same fields.
  Registry odd = r;
  odd.entries[0].owner = "team a";
  const Registry back = parse_or_fail(render_registry_yaml(odd), "odd.yaml");
  EXPECT_EQ(back, odd);
  EXPECT_EQ(render_checked_registry_yaml(r), out);
}

TEST(RegistryParser, RefusesTopicFactsThatCannotBeKafkaTopics) {
  for (const std::string& field :
       {std::string("topicPrefix: 'a b'"), std::string("schemaHistoryTopic: 'x/y'"),
        std::string("topicDelimiter: '::'"), std::string("uid: 'a b'"), std::string("cluster: 'c d'")}) {
    SCOPED_TRACE(field);
    const std::string text =
        "entries:\n  - {connector: a/b, serverId: 184001, status: Active, " + field + "}\n";
    EXPECT_THROW(parse_registry(text, "bad.yaml"), RegistryError);
  }
}

struct UnwritableCase {
  const char* name;
  void (*spoil)(Registry&);  // makes a valid registry one the parser refuses
  const char* problem;       // a part of a problem render_checked_registry_yaml names
};

void PrintTo(const UnwritableCase& c, std::ostream* os) {
  *os << c.name;
}

Registry writable_registry() {
  return parse_or_fail(
      "rules:\n  range: {from: 184000, to: 184999}\n"
      "exceptions:\n  - {connector: legacy/old-cdc, rules: [topic-prefix-overlap], reason: migrating}\n"
      "teams:\n  - {name: team-a, namespaces: [ecommerce], range: {from: 184000, to: 184099}}\n"
      "  - {name: team-b, namespaces: [warehouse], range: {from: 184100, to: 184199}}\n"
      "reserved:\n  - {serverId: 184999, reason: primary}\n"
      "entries:\n"
      "  - {connector: ecommerce/orders-cdc, serverId: 184001, status: Active, date: 2026-01-15}\n"
      "  - {connector: ecommerce/gone-cdc, serverId: 184002, status: Decommissioned, decommissionedAt: "
      "2026-03-10}\n",
      "base.yaml");
}

RegistryEntry active(std::string connector, std::uint32_t id) {
  RegistryEntry e;
  e.connector = std::move(connector);
  e.server_id = id;
  e.status = EntryStatus::Active;
  e.date = Date{std::chrono::year{2026} / 11 / 25};
  return e;
}

class UnwritableRegistry : public ::testing::TestWithParam<UnwritableCase> {};

// Every way a bug elsewhere could spoil a registry in memory: the parser
// refuses the rendered text, and so does the checked rendering, naming why.
TEST_P(UnwritableRegistry, IsRefusedByTheCheckedRenderingAsByTheParser) {
  const UnwritableCase& c = GetParam();
  Registry r = writable_registry();
  c.spoil(r);
  EXPECT_THROW(parse_registry(render_registry_yaml(r), "rendered.yaml"), RegistryError)
      << "the case does not spoil the registry:\n"
      << render_registry_yaml(r);
  try {
    render_checked_registry_yaml(r);
    FAIL() << "rendered";
  } catch (const RegistryError& e) {
    const bool named = std::any_of(e.problems().begin(), e.problems().end(), [&](const std::string& p) {
      return p.find(c.problem) != std::string::npos;
    });
    EXPECT_TRUE(named) << "no \"" << c.problem << "\" in: " << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Registry, UnwritableRegistry,
    ::testing::Values(
        UnwritableCase{
            "slash-in-name", [](Registry& r) { r.entries.push_back(active("ecommerce/a/b", 184003)); },
            "entry connector \"ecommerce/a/b\": name \"a/b\" is not a valid Kubernetes object name"},
        UnwritableCase{"empty-namespace", [](Registry& r) { r.entries.push_back(active("/nsm3", 184003)); },
                       "namespace \"\" is not"},
        UnwritableCase{"uppercase-name",
                       [](Registry& r) { r.entries.push_back(active("ecommerce/Orders", 184003)); },
                       "name \"Orders\" is not"},
        UnwritableCase{
            "name-too-long",
            [](Registry& r) { r.entries.push_back(active("ecommerce/" + std::string(254, 'x'), 184003)); },
            "it has 254 characters"},
        UnwritableCase{"server-id-zero",
                       [](Registry& r) { r.entries.push_back(active("ecommerce/zero", 0)); },
                       "entry ecommerce/zero: serverId must be in 1..4294967295, got 0"},
        UnwritableCase{
            "id-in-two-live-entries",
            [](Registry& r) { r.entries.push_back(active("ecommerce/twin-cdc", 184001)); },
            "server id 184001 is held by two live entries: ecommerce/orders-cdc and ecommerce/twin-cdc"},
        // A lapsed claim is still live to the parser, which does not know "now".
        UnwritableCase{"a-lapsed-claim-and-a-new-one-on-its-id",
                       [](Registry& r) {
                         RegistryEntry lapsed = active("ecommerce/lapsed-cdc", 184003);
                         lapsed.status = EntryStatus::Pending;
                         lapsed.claim_uid = "uid-1";
                         lapsed.expires_at = TimePoint{Date{std::chrono::year{2026} / 1 / 1}};
                         r.entries.push_back(lapsed);
                         r.entries.push_back(active("ecommerce/new-cdc", 184003));
                       },
                       "server id 184003 is held by two live entries"},
        UnwritableCase{"connector-with-two-live-ids",
                       [](Registry& r) { r.entries.push_back(active("ecommerce/orders-cdc", 184005)); },
                       "connector ecommerce/orders-cdc holds two live ids: 184001 and 184005"},
        UnwritableCase{"decommissioned-without-a-date",
                       [](Registry& r) {
                         r.entries[1].decommissioned_at.reset();
                         r.entries[1].date.reset();
                       },
                       "a Decommissioned entry needs decommissionedAt"},
        UnwritableCase{"date-past-9999",
                       [](Registry& r) { r.entries[0].date = Date{std::chrono::year{10000} / 1 / 1}; },
                       "entry ecommerce/orders-cdc: date lies outside the years 0000-9999"},
        UnwritableCase{"owner-not-utf8", [](Registry& r) { r.entries[0].owner = "team-\xff"; },
                       "entry ecommerce/orders-cdc cannot be read back: malformed YAML"},
        UnwritableCase{"claim-uid-with-a-del-byte", [](Registry& r) { r.entries[0].claim_uid = "uid\x7f"; },
                       "cannot be read back"},
        UnwritableCase{"reserved-reason-not-utf8", [](Registry& r) { r.reserved[0].reason = "\xc3"; },
                       "the rules, exceptions, teams and reservations cannot be read back: malformed YAML"},
        UnwritableCase{"reserved-zero",
                       [](Registry& r) {
                         r.reserved.push_back({0, "", 0});
                       },
                       "reserved serverId must be in 1..4294967295, got 0"},
        UnwritableCase{"reserved-twice",
                       [](Registry& r) {
                         r.reserved.push_back({184999, "again", 0});
                       },
                       "server id 184999 is reserved twice"},
        UnwritableCase{"range-empty",
                       [](Registry& r) {
                         r.rules.range = {184999, 184000};
                       },
                       "rules.range is empty: from 184999 is above to 184000"},
        UnwritableCase{"topic-prefix-with-a-space",
                       [](Registry& r) { r.entries[0].topic_prefix = "shop orders"; },
                       "entry ecommerce/orders-cdc: topicPrefix may hold only letters"},
        UnwritableCase{"history-topic-too-long",
                       [](Registry& r) { r.entries[0].schema_history_topic = std::string(250, 'h'); },
                       "schemaHistoryTopic is 250 characters long, at most 249"},
        UnwritableCase{"delimiter-with-a-slash", [](Registry& r) { r.entries[0].topic_delimiter = "/"; },
                       "topicDelimiter may hold only"},
        UnwritableCase{"uid-with-a-colon", [](Registry& r) { r.entries[0].uid = "a:b"; },
                       "uid may hold only"},
        UnwritableCase{"cluster-too-long", [](Registry& r) { r.entries[0].cluster = std::string(64, 'c'); },
                       "cluster is 64 characters long, at most 63"},
        UnwritableCase{"history-days-negative", [](Registry& r) { r.rules.history_days = -1; },
                       "rules.historyDays must be an integer in 0..36500, got -1"},
        UnwritableCase{"embargo-negative", [](Registry& r) { r.rules.embargo_days = -1; },
                       "rules.embargoDays must be an integer in 0..36500, got -1"},
        UnwritableCase{"unknown-rule-in-enforcement",
                       [](Registry& r) { r.rules.enforcement["no-such-rule"] = Action::Warn; },
                       "rules.enforcement: unknown rule \"no-such-rule\""},
        UnwritableCase{"team-range-outside",
                       [](Registry& r) {
                         r.teams[1].range = IdRange{184900, 185100};
                       },
                       "team team-b range 184900-185100 is outside the registry range"},
        UnwritableCase{"team-ranges-overlap",
                       [](Registry& r) {
                         r.teams[1].range = IdRange{184050, 184199};
                       },
                       "team team-b range 184050-184199 overlaps team team-a"},
        UnwritableCase{"namespace-in-two-teams",
                       [](Registry& r) { r.teams[1].namespaces.push_back("ecommerce"); },
                       "namespace ecommerce belongs to both team team-a and team team-b"},
        UnwritableCase{"team-without-a-name", [](Registry& r) { r.teams[1].name.clear(); },
                       "a team needs a name"},
        UnwritableCase{"team-listed-twice", [](Registry& r) { r.teams[1].name = "team-a"; },
                       "team team-a is listed twice"},
        UnwritableCase{"exception-key-invalid", [](Registry& r) { r.exceptions[0].connector = "legacy"; },
                       "exception connector \"legacy\" is not \"namespace/name\""},
        UnwritableCase{"exception-without-rules", [](Registry& r) { r.exceptions[0].rules.clear(); },
                       "needs a non-empty list of rules"},
        UnwritableCase{"exception-unknown-rule", [](Registry& r) { r.exceptions[0].rules = {"nope"}; },
                       "exception for legacy/old-cdc: unknown rule \"nope\""}),
    testing_support::ScenarioName{});

}  // namespace
}  // namespace cdcguard
