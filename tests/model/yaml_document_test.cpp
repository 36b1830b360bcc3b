#include <gtest/gtest.h>

#include <sys/resource.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cdcguard/model/yaml_document.hpp"

#include "support/fixtures.hpp"

namespace cdcguard {
namespace {

std::string read_fixture(const std::string& relative) {
  return testing_support::read_fixture_file("manifests/yaml/" + relative);
}

const YamlNode& at(const YamlNode& map, std::string_view key) {
  const YamlNode* n = map.find(key);
  if (!n) throw std::runtime_error("no key " + std::string(key));
  return *n;
}

TEST(YamlDocument, MultiDocumentStreamSkipsEmptyDocuments) {
  const auto docs = parse_yaml_documents(read_fixture("multi-doc.yaml"));
  ASSERT_EQ(docs.size(), 3u);
  EXPECT_EQ(at(docs[0].root, "kind").scalar(), "First");
  EXPECT_EQ(at(docs[1].root, "kind").scalar(), "Second");
  EXPECT_EQ(at(docs[2].root, "kind").scalar(), "Third");
  EXPECT_EQ(docs[0].line, 2);  // its `---`
  EXPECT_EQ(docs[1].line, 9);
  EXPECT_EQ(docs[2].line, 12);
  EXPECT_EQ(docs[0].root.line(), 3);
  EXPECT_EQ(docs[1].root.line(), 10);
  EXPECT_EQ(docs[2].root.line(), 13);
}

TEST(YamlDocument, EmptyAndCommentOnlyTextsHaveNoDocuments) {
  EXPECT_TRUE(parse_yaml_documents("").empty());
  EXPECT_TRUE(parse_yaml_documents("# nothing here\n").empty());
  EXPECT_TRUE(parse_yaml_documents("---\n---\n...\n").empty());
}

TEST(YamlDocument, JsonWithTabIndentation) {
  const auto docs = parse_yaml_documents(read_fixture("tabs.json"));
  ASSERT_EQ(docs.size(), 1u);
  const YamlNode& root = docs[0].root;
  ASSERT_TRUE(root.is_map());
  EXPECT_EQ(root.line(), 1);
  EXPECT_EQ(at(root, "kind").scalar(), "KafkaConnector");
  EXPECT_TRUE(at(root, "kind").quoted());
  EXPECT_EQ(root.key_line("metadata"), 4);
  EXPECT_EQ(at(at(root, "metadata"), "name").scalar(), "tabbed");
  const YamlNode& config = at(at(root, "spec"), "config");
  ASSERT_TRUE(config.is_map());
  const YamlNode& id = at(config, "database.server.id");
  EXPECT_TRUE(id.is_scalar());
  EXPECT_EQ(id.scalar(), "184001");
  EXPECT_FALSE(id.quoted());  // a JSON number
  EXPECT_EQ(id.line(), 10);
  EXPECT_EQ(config.key_line("database.server.id"), 10);
  EXPECT_TRUE(at(config, "snapshot.locking.mode").is_null());
  EXPECT_EQ(at(config, "include.schema.changes").scalar(), "true");
}

TEST(YamlDocument, JsonOnOneLine) {
  const auto docs = parse_yaml_documents(R"({"a": {"b": [1, "2", null]}, "c": ""})");
  ASSERT_EQ(docs.size(), 1u);
  const YamlNode& b = at(at(docs[0].root, "a"), "b");
  ASSERT_TRUE(b.is_sequence());
  ASSERT_EQ(b.items().size(), 3u);
  EXPECT_EQ(b.items()[0].scalar(), "1");
  EXPECT_FALSE(b.items()[0].quoted());
  EXPECT_EQ(b.items()[1].scalar(), "2");
  EXPECT_TRUE(b.items()[1].quoted());
  EXPECT_TRUE(b.items()[2].is_null());
  // "" is a string, not null: it was quoted.
  ASSERT_TRUE(at(docs[0].root, "c").is_scalar());
  EXPECT_EQ(at(docs[0].root, "c").scalar(), "");
}

struct ScalarCase {
  const char* name;
  const char* key;
  YamlNode::Kind kind;
  const char* text;
  bool quoted;
  int line;
};

class YamlScalars : public ::testing::TestWithParam<ScalarCase> {};

TEST_P(YamlScalars, KindTextQuotingAndLine) {
  static const auto docs = parse_yaml_documents(read_fixture("scalars.yaml"));
  ASSERT_EQ(docs.size(), 1u);
  const ScalarCase& c = GetParam();
  const YamlNode& n = at(docs[0].root, c.key);
  EXPECT_EQ(n.kind(), c.kind);
  EXPECT_EQ(n.line(), c.line);
  EXPECT_EQ(docs[0].root.key_line(c.key), c.line);
  if (c.kind == YamlNode::Kind::Scalar) {
    EXPECT_EQ(n.scalar(), c.text);
    EXPECT_EQ(n.quoted(), c.quoted);
  }
}

template <class Case>
requires requires(const Case& c) {
  c.name;
}
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name;
}

using testing_support::ScenarioName;

using K = YamlNode::Kind;
INSTANTIATE_TEST_SUITE_P(
    Yaml, YamlScalars,
    ::testing::Values(ScalarCase{"plain_number", "plain", K::Scalar, "184001", false, 1},
                      ScalarCase{"double_quoted", "double", K::Scalar, "184001", true, 2},
                      ScalarCase{"single_quoted", "single", K::Scalar, "184001", true, 3},
                      ScalarCase{"tilde_is_null", "tilde", K::Null, "", false, 4},
                      ScalarCase{"null_word_is_null", "word", K::Null, "", false, 5},
                      ScalarCase{"upper_null_is_null", "upper", K::Null, "", false, 6},
                      ScalarCase{"empty_value_is_null", "empty", K::Null, "", false, 7},
                      ScalarCase{"quoted_null_is_text", "quoted-null", K::Scalar, "null", true, 8},
                      ScalarCase{"quoted_empty_is_text", "quoted-empty", K::Scalar, "", true, 9},
                      ScalarCase{"tagged_null_is_text", "tagged", K::Scalar, "null", false, 10}),
    ScenarioName{});

TEST(YamlDocument, BlockScalarsKeepTheirTextAndStartOnTheIndicatorLine) {
  const auto docs = parse_yaml_documents(read_fixture("scalars.yaml"));
  ASSERT_EQ(docs.size(), 1u);
  const YamlNode& block = at(docs[0].root, "block");
  EXPECT_TRUE(block.block_scalar());
  EXPECT_EQ(block.scalar(), "line one\nline two\n");
  EXPECT_EQ(block.line(), 11);
  const YamlNode& folded = at(docs[0].root, "folded");
  EXPECT_TRUE(folded.block_scalar());
  EXPECT_EQ(folded.scalar(), "folded text\n");
  EXPECT_FALSE(at(docs[0].root, "plain").block_scalar());
  EXPECT_FALSE(at(docs[0].root, "double").block_scalar());
}

TEST(YamlDocument, LinesOfNestedNodesAndKeys) {
  const auto docs = parse_yaml_documents(read_fixture("scalars.yaml"));
  ASSERT_EQ(docs.size(), 1u);
  const YamlNode& root = docs[0].root;
  EXPECT_EQ(root.key_line("nested"), 17);
  const YamlNode& nested = at(root, "nested");
  EXPECT_EQ(nested.line(), 18);  // a block map starts at its first key
  EXPECT_EQ(nested.key_line("inner"), 18);
  const YamlNode& inner = at(nested, "inner");
  ASSERT_TRUE(inner.is_sequence());
  ASSERT_EQ(inner.items().size(), 2u);
  EXPECT_EQ(inner.items()[0].line(), 19);
  EXPECT_EQ(inner.items()[1].line(), 20);
  EXPECT_EQ(inner.items()[1].key_line("b"), 20);
  EXPECT_EQ(root.key_line("no-such-key"), 0);
  EXPECT_EQ(root.find("no-such-key"), nullptr);
  EXPECT_EQ(inner.find("b"), nullptr);  // not a map
  EXPECT_EQ(inner.key_line("b"), 0);
}

TEST(YamlDocument, WindowsLineEndingsAndByteOrderMark) {
  const auto docs = parse_yaml_documents(
      "\xEF\xBB\xBF"
      "a: 1\r\nb:\r\n  c: \"x\"\r\n---\r\nd: 2\r\n");
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(at(docs[0].root, "a").scalar(), "1");
  EXPECT_EQ(docs[0].root.key_line("b"), 2);
  EXPECT_EQ(at(at(docs[0].root, "b"), "c").line(), 3);
  EXPECT_EQ(at(at(docs[0].root, "b"), "c").scalar(), "x");
  EXPECT_EQ(docs[1].root.line(), 5);
}

TEST(YamlDocument, KeysKeepTheirOrder) {
  const auto docs = parse_yaml_documents("z: 1\na: 2\nm: 3\n");
  ASSERT_EQ(docs.size(), 1u);
  ASSERT_EQ(docs[0].root.entries().size(), 3u);
  EXPECT_EQ(docs[0].root.entries()[0].first, "z");
  EXPECT_EQ(docs[0].root.entries()[1].first, "a");
  EXPECT_EQ(docs[0].root.entries()[2].first, "m");
}

TEST(YamlDocument, AnchorsAndAliasesAreExpanded) {
  const auto docs = parse_yaml_documents(read_fixture("anchors.yaml"));
  ASSERT_EQ(docs.size(), 1u);
  const YamlNode& root = docs[0].root;
  for (const char* user : {"first", "second"}) {
    SCOPED_TRACE(user);
    const YamlNode& config = at(at(root, user), "config");
    ASSERT_TRUE(config.is_map());
    EXPECT_EQ(at(config, "topic.delimiter").scalar(), ".");
    const YamlNode& tasks = at(config, "tasks");
    ASSERT_TRUE(tasks.is_sequence());
    ASSERT_EQ(tasks.items().size(), 2u);
    EXPECT_EQ(tasks.items()[1].scalar(), "2");
  }
  EXPECT_EQ(at(at(root, "first"), "name").scalar(), "orders-cdc");
}

// YAML 1.1 merge keys are applied, as kubectl, Helm and Argo CD (go-yaml) apply
// them, so `check` sees the config the cluster sees.
TEST(YamlDocument, MergeKeysAreApplied) {
  const auto docs = parse_yaml_documents(read_fixture("merge-keys.yaml"));
  ASSERT_EQ(docs.size(), 1u);
  const YamlNode& derived = at(docs[0].root, "derived");
  EXPECT_EQ(derived.find("<<"), nullptr);
  ASSERT_NE(derived.find("a"), nullptr);
  EXPECT_EQ(at(derived, "a").scalar(), "1");
  ASSERT_NE(derived.find("b"), nullptr);
  EXPECT_EQ(at(derived, "b").scalar(), "3");  // an explicit key wins over a merged one
  const YamlNode& both = at(docs[0].root, "both");
  ASSERT_NE(both.find("c"), nullptr);
  EXPECT_EQ(at(both, "b").scalar(), "2");  // the first map in a merge list wins
}

TEST(YamlDocument, UnknownAliasIsAnErrorWithItsLine) {
  try {
    parse_yaml_documents("a: 1\nb: *nowhere\n");
    FAIL() << "expected YamlParseError";
  } catch (const YamlParseError& e) {
    EXPECT_EQ(e.line(), 2);
  }
}

// Peak resident memory of this process so far, in MiB.
long peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024;  // Linux reports KiB
}

// Rejected early: a 1 KiB text must not get to build millions of nodes first.
TEST(YamlDocument, AliasBombIsRejectedWithBoundedMemory) {
  const std::string bomb = read_fixture("alias-bomb.yaml");
  ASSERT_LT(bomb.size(), 1024u);
  const long before = peak_rss_mib();
  try {
    parse_yaml_documents(bomb);
    FAIL() << "an alias bomb must be rejected";
  } catch (const YamlParseError& e) {
    EXPECT_GT(e.line(), 1);
  }
  EXPECT_LT(peak_rss_mib() - before, 128) << "MiB of peak memory grown while rejecting a 1 KiB document";
}

// The alias budget is per document: a long stream that repeats an anchor in
// every document is not an alias bomb.
TEST(YamlDocument, AliasBudgetIsPerDocument) {
  // Each document copies 30'000 nodes through aliases; the stream copies 120'000,
  // more than one document may.
  std::string big_map = "{";
  for (int i = 0; i < 2000; ++i) big_map += (i ? ", k" : "k") + std::to_string(i) + ": v";
  big_map += "}";
  std::string doc = "---\nbase: &b " + big_map + "\n";
  for (int i = 0; i < 15; ++i) doc += "copy" + std::to_string(i) + ": *b\n";
  std::string stream;
  for (int d = 0; d < 4; ++d) stream += doc;
  std::size_t documents = 0;
  for_each_yaml_document(stream, [&](const YamlDocument& d) {
    ++documents;
    EXPECT_EQ(at(d.root, "copy14").entries().size(), 2000u);
  });
  EXPECT_EQ(documents, 4u);
}

TEST(YamlDocument, ForEachVisitsDocumentsBeforeASyntaxError) {
  std::vector<std::string> kinds;
  try {
    for_each_yaml_document("kind: A\n---\nkind: B\n---\nkind: [C\n",
                           [&](const YamlDocument& doc) { kinds.push_back(at(doc.root, "kind").scalar()); });
    FAIL() << "expected YamlParseError";
  } catch (const YamlParseError& e) {
    EXPECT_EQ(e.line(), 6);
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{"A", "B"}));
}

TEST(YamlDocument, DuplicateKeyIsRejectedWithItsLine) {
  try {
    parse_yaml_documents(read_fixture("duplicate-key.yaml"));
    FAIL() << "expected YamlParseError";
  } catch (const YamlParseError& e) {
    EXPECT_EQ(e.line(), 9);  // the second database.server.id
    EXPECT_NE(std::string(e.what()).find("database.server.id"), std::string::npos) << e.what();
  }
}

TEST(YamlDocument, SameKeyInDifferentMapsIsFine) {
  const auto docs = parse_yaml_documents("a: {name: x}\nb: {name: y}\n");
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(at(at(docs[0].root, "b"), "name").scalar(), "y");
}

struct MalformedCase {
  const char* name;
  const char* text;
  int line;
};

class YamlMalformed : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(YamlMalformed, ReportsTheOneBasedLine) {
  const MalformedCase& c = GetParam();
  try {
    parse_yaml_documents(c.text);
    FAIL() << "expected YamlParseError";
  } catch (const YamlParseError& e) {
    EXPECT_EQ(e.line(), c.line) << e.what();
    EXPECT_GE(e.column(), 1);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Yaml, YamlMalformed,
    ::testing::Values(MalformedCase{"mapping_value_in_scalar", "a: 1\nb: 2\nc: d: e\n", 3},
                      MalformedCase{"tab_indentation", "a:\n  b: 1\n\tc: 2\n", 3},
                      MalformedCase{"bad_dedent", "a:\n    b: 1\n  c: 2\n", 3},
                      MalformedCase{"unclosed_flow_sequence_key", "a: [1, 2\nb: 3\n", 2},
                      MalformedCase{"duplicate_key_in_flow_map", "x: 0\n\ny: {k: 1, k: 2}\n", 3},
                      MalformedCase{"second_document_broken", "a: 1\n---\nb: 2\n---\nc: [\n", 6},
                      MalformedCase{"first_line", "- a\nb: c\n", 2},
                      MalformedCase{"invalid_utf8", "a: 1\nb: 2\nc: \xff\n", 3},
                      MalformedCase{"control_character", "a: 1\nb: \x01\n", 2}),
    ScenarioName{});

TEST(YamlDocument, MalformedFixtureReportsItsLine) {
  try {
    parse_yaml_documents(read_fixture("malformed.yaml"));
    FAIL() << "expected YamlParseError";
  } catch (const YamlParseError& e) {
    EXPECT_EQ(e.line(), 4);
  }
}

// An unterminated quoted scalar is reported where the quote opens (line 6), not
// at the end of the file (line 17 of a 16-line file).
TEST(YamlDocument, UnterminatedQuoteIsReportedWhereItOpens) {
  try {
    parse_yaml_documents(read_fixture("unterminated-quote.yaml"));
    FAIL() << "expected YamlParseError";
  } catch (const YamlParseError& e) {
    EXPECT_EQ(e.line(), 6) << e.what();
  }
}

TEST(YamlDocument, DeepNestingIsBounded) {
  const std::string deep_flow = std::string(100'000, '[') + std::string(100'000, ']');
  EXPECT_THROW(parse_yaml_documents(deep_flow), YamlParseError);
  std::string deep_block;
  for (int i = 0; i < 1000; ++i) deep_block += std::string(static_cast<std::size_t>(i), ' ') + "k:\n";
  EXPECT_THROW(parse_yaml_documents(deep_block), YamlParseError);
}

TEST(YamlDocument, ReasonableNestingIsAccepted) {
  const std::string nested = std::string(100, '[') + "1" + std::string(100, ']');
  const auto docs = parse_yaml_documents(nested);
  ASSERT_EQ(docs.size(), 1u);
  const YamlNode* n = &docs[0].root;
  int depth = 0;
  while (n->is_sequence()) {
    ASSERT_EQ(n->items().size(), 1u);
    n = &n->items()[0];
    ++depth;
  }
  EXPECT_EQ(depth, 100);
  EXPECT_EQ(n->scalar(), "1");
}

// Maps and lists of every width keep all their children, in order, with
// their lines, nested in each other; a duplicate is found however far apart.
TEST(YamlDocument, WideCollectionsKeepEveryChildInOrder) {
  for (const int width : {0, 1, 23, 24, 25, 31, 32, 33, 64, 200}) {
    SCOPED_TRACE(width);
    std::string text = "outer:\n";
    for (int i = 0; i < width; ++i) {
      text += "  k" + std::to_string(i) + ":\n";
      for (int j = 0; j < width % 7 + i % 3; ++j) text += "  - {a: " + std::to_string(j) + "}\n";
    }
    text += "list: [";
    for (int i = 0; i < width; ++i) text += (i ? ", " : "") + std::to_string(i);
    text += "]\n";
    const auto docs = parse_yaml_documents(text);
    ASSERT_EQ(docs.size(), 1u);
    const YamlNode& outer = at(docs[0].root, "outer");
    if (width == 0) {
      EXPECT_TRUE(outer.is_null());
    } else {
      ASSERT_EQ(outer.entries().size(), static_cast<std::size_t>(width));
    }
    int line = 2;
    for (int i = 0; i < width; ++i) {
      const auto& [key, value] = outer.entries()[static_cast<std::size_t>(i)];
      EXPECT_EQ(key, "k" + std::to_string(i));
      EXPECT_EQ(outer.key_line(key), line);
      const std::size_t items = static_cast<std::size_t>(width % 7 + i % 3);
      if (items == 0) {
        EXPECT_TRUE(value.is_null());
      } else {
        ASSERT_EQ(value.items().size(), items);
        EXPECT_EQ(at(value.items().back(), "a").scalar(), std::to_string(items - 1));
      }
      line += 1 + static_cast<int>(items);
    }
    const YamlNode& list = at(docs[0].root, "list");
    ASSERT_EQ(list.items().size(), static_cast<std::size_t>(width));
    for (int i = 0; i < width; ++i)
      EXPECT_EQ(list.items()[static_cast<std::size_t>(i)].scalar(), std::to_string(i));
  }
}

TEST(YamlDocument, DuplicateKeyFarApartInAWideMap) {
  std::string text;
  for (int i = 0; i < 100; ++i) text += "k" + std::to_string(i) + ": " + std::to_string(i) + "\n";
  text += "k7: again\n";
  try {
    parse_yaml_documents(text);
    FAIL() << "expected YamlParseError";
  } catch (const YamlParseError& e) {
    EXPECT_EQ(e.line(), 101);
    EXPECT_NE(std::string(e.what()).find("\"k7\""), std::string::npos) << e.what();
  }
}

TEST(YamlDocument, MergeIntoAWideMapKeepsItsOwnKeys) {
  std::string text = "base: &b {k3: merged, extra: merged}\nwide:\n  <<: *b\n";
  for (int i = 0; i < 40; ++i) text += "  k" + std::to_string(i) + ": own\n";
  const auto docs = parse_yaml_documents(text);
  const YamlNode& wide = at(docs[0].root, "wide");
  ASSERT_EQ(wide.entries().size(), 41u);
  EXPECT_EQ(at(wide, "k3").scalar(), "own");
  EXPECT_EQ(at(wide, "extra").scalar(), "merged");
  EXPECT_EQ(wide.key_line("extra"), 1);
  EXPECT_EQ(wide.key_line("k39"), 43);
}

// ---------------------------------------------------------------------------
// Items of a top-level list, one at a time (YamlItemStream)

// A node as one line with every line number, for comparing trees exactly.
std::string with_lines(const YamlNode& n) {
  std::string out = std::to_string(n.line()) + "@";
  switch (n.kind()) {
    case YamlNode::Kind::Null:
      return out + "~";
    case YamlNode::Kind::Scalar:
      return out + (n.quoted() ? "\"" : "") + (n.block_scalar() ? "|" : "") + n.scalar();
    case YamlNode::Kind::Sequence:
      out += "[";
      for (const auto& item : n.items()) out += with_lines(item) + ",";
      return out + "]";
    case YamlNode::Kind::Map:
      out += "{";
      for (const auto& [k, v] : n.entries())
        out += std::to_string(n.key_line(k)) + "@" + k + ":" + with_lines(v) + ",";
      return out + "}";
  }
  return out;
}

// What the visitors saw, in order: "item <node>" and "doc <node>".
std::vector<std::string> stream_events(std::string_view text) {
  std::vector<std::string> seen;
  for_each_yaml_document(
      text, [&](const YamlDocument& doc) { seen.push_back("doc " + with_lines(doc.root)); },
      YamlItemStream{"items", [&](const YamlNode& item) { seen.push_back("item " + with_lines(item)); }});
  return seen;
}

// kubectl prints `items` before `kind`: the items come first, then the
// document, whose list is left empty with its line.
TEST(YamlItemStream, ItemsComeOneAtATimeBeforeTheirDocument) {
  const std::string text =
      "apiVersion: v1\n"
      "items:\n"
      "- kind: A\n"
      "  spec: {x: 1}\n"
      "- kind: B\n"
      "kind: List\n"
      "---\n"
      "kind: Other\n"
      "items: [a, \"b\"]\n";
  EXPECT_EQ(stream_events(text), (std::vector<std::string>{
                                     "item 3@{3@kind:3@A,4@spec:4@{4@x:4@1,},}",
                                     "item 5@{5@kind:5@B,}",
                                     "doc 1@{1@apiVersion:1@v1,2@items:3@[],6@kind:6@List,}",
                                     "item 9@a",
                                     "item 9@\"b",
                                     "doc 8@{8@kind:8@Other,9@items:9@[],}",
                                 }));
}

// Each item is handed over as soon as it is read: those before a syntax error
// have been visited when it is thrown (a reader that keeps a document only
// whole must wait for the document).
TEST(YamlItemStream, ItemsBeforeASyntaxErrorHaveBeenVisited) {
  std::vector<std::string> kinds;
  int documents = 0;
  try {
    for_each_yaml_document(
        "items:\n- kind: A\n- kind: B\n- kind: [C\nkind: List\n", [&](const YamlDocument&) { ++documents; },
        YamlItemStream{"items", [&](const YamlNode& item) { kinds.push_back(at(item, "kind").scalar()); }});
    FAIL() << "expected YamlParseError";
  } catch (const YamlParseError& e) {
    EXPECT_EQ(e.line(), 5) << e.what();
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{"A", "B"}));
  EXPECT_EQ(documents, 0);
}

// The streamed items are the nodes the whole tree holds, lines included.
TEST(YamlItemStream, ItemsAreTheNodesOfTheWholeTree) {
  const std::string text = read_fixture("../list.yaml") + "---\n" + read_fixture("anchors.yaml") + "---\n" +
                           "kind: List\nitems:\n- &base {a: 1, b: [x, y]}\n- <<: *base\n  b: z\n- *base\n";
  std::vector<std::string> whole;
  for (const auto& doc : parse_yaml_documents(text)) {
    const YamlNode* items = doc.root.find("items");
    if (items && items->is_sequence())
      for (const auto& item : items->items()) whole.push_back(with_lines(item));
  }
  std::vector<std::string> streamed;
  for_each_yaml_document(
      text, [](const YamlDocument&) {},
      YamlItemStream{"items", [&](const YamlNode& item) { streamed.push_back(with_lines(item)); }});
  ASSERT_EQ(whole.size(), 6u);  // 3 in list.yaml, 3 written here
  EXPECT_EQ(streamed, whole);
}

struct KeptCase {
  std::string name;
  std::string text;
  std::string document;  // the tree handed to the document visitor
};

class YamlItemStreamKept : public testing::TestWithParam<KeptCase> {};

// Only a plain list under the key of the top-level map is streamed; anything
// else stays in the tree as before.
TEST_P(YamlItemStreamKept, InTheTree) {
  const KeptCase& c = GetParam();
  EXPECT_EQ(stream_events(c.text), (std::vector<std::string>{"doc " + c.document}));
}

INSTANTIATE_TEST_SUITE_P(
    YamlItemStream, YamlItemStreamKept,
    testing::Values(
        KeptCase{"anchored_list", "items: &all [a]\nkind: List\n", "1@{1@items:1@[1@a,],2@kind:2@List,}"},
        KeptCase{"aliased_list", "base: &all [a]\nitems: *all\n", "1@{1@base:1@[1@a,],2@items:1@[1@a,],}"},
        KeptCase{"nested_map", "spec:\n  items: [a]\n", "1@{1@spec:2@{2@items:2@[2@a,],},}"},
        KeptCase{"map_value", "items: {a: 1}\n", "1@{1@items:1@{1@a:1@1,},}"},
        KeptCase{"null_value", "items:\nkind: List\n", "1@{1@items:1@~,2@kind:2@List,}"},
        KeptCase{"top_level_list", "- items: [a]\n", "1@[1@{1@items:1@[1@a,],},]"},
        KeptCase{"other_key", "entries: [a]\n", "1@{1@entries:1@[1@a,],}"},
        KeptCase{"merged_in", "base: &b {items: [a]}\n<<: *b\n",
                 "1@{1@base:1@{1@items:1@[1@a,],},1@items:1@[1@a,],}"}),
    [](const testing::TestParamInfo<KeptCase>& param_info) { return param_info.param.name; });

// The checks of the whole tree still apply, on the same line: duplicate keys
// (the list's own key too), the depth bound, the alias budget of the document.
struct CheckedCase {
  std::string name;
  std::string text;
};

class YamlItemStreamChecks : public testing::TestWithParam<CheckedCase> {};

TEST_P(YamlItemStreamChecks, FailOnTheLineTheTreeFailsOn) {
  const auto line_of_error = [&](bool streamed) {
    try {
      if (streamed) {
        for_each_yaml_document(
            GetParam().text, [](const YamlDocument&) {}, YamlItemStream{"items", [](const YamlNode&) {}});
      } else {
        parse_yaml_documents(GetParam().text);
      }
    } catch (const YamlParseError& e) {
      return e.line();
    }
    return 0;
  };
  const int tree_line = line_of_error(false);
  EXPECT_NE(tree_line, 0);
  EXPECT_EQ(line_of_error(true), tree_line);
}

std::string alias_bomb_in_items() {
  std::string bomb = "kind: List\nitems:\n- &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'g'; ++c) {
    bomb += std::string("- &") + c + " [";
    for (int i = 0; i < 10; ++i) bomb += std::string(i ? ", *" : "*") + static_cast<char>(c - 1);
    bomb += "]\n";
  }
  return bomb;
}

INSTANTIATE_TEST_SUITE_P(
    YamlItemStream, YamlItemStreamChecks,
    testing::Values(CheckedCase{"duplicate_list_key", "items: [a]\nkind: List\nitems: [b]\n"},
                    CheckedCase{"duplicate_key_in_an_item", "items:\n- {a: 1,\n   a: 2}\n"},
                    CheckedCase{"too_deep",
                                "items:\n- " + std::string(300, '[') + std::string(300, ']') + "\n"},
                    CheckedCase{"unknown_alias", "items:\n- a\n- *nowhere\n"},
                    CheckedCase{"alias_bomb", alias_bomb_in_items()}),
    [](const testing::TestParamInfo<CheckedCase>& param_info) { return param_info.param.name; });

}  // namespace
}  // namespace cdcguard
