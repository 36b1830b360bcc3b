#pragma once

#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// A small YAML (and JSON) document tree that keeps the line of every node, so
// messages can say `file:line`. Scalars stay text: the model decides what a
// value means (Strimzi passes every config value as a string anyway).
namespace cdcguard {

class YamlNode {
 public:
  enum class Kind { Null, Scalar, Sequence, Map };

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::Null; }
  bool is_scalar() const { return kind_ == Kind::Scalar; }
  bool is_sequence() const { return kind_ == Kind::Sequence; }
  bool is_map() const { return kind_ == Kind::Map; }

  int line() const { return line_; }  // 1-based
  const std::string& scalar() const { return scalar_; }
  bool quoted() const { return quoted_; }       // a quoted scalar is always a string
  bool block_scalar() const { return block_; }  // `|` or `>`: its text starts on the next line

  const std::vector<YamlNode>& items() const { return items_; }
  const std::vector<std::pair<std::string, YamlNode>>& entries() const { return entries_; }
  // The value under `key` in a map, or nullptr (also when this is not a map).
  const YamlNode* find(std::string_view key) const;
  // The line of `key` itself in a map (0 when absent).
  int key_line(std::string_view key) const;

  static YamlNode make_null(int line);
  static YamlNode make_scalar(std::string value, int line, bool quoted, bool block);
  static YamlNode make_sequence(int line);
  static YamlNode make_map(int line);
  std::vector<YamlNode>& mutable_items() { return items_; }
  std::vector<std::pair<std::string, YamlNode>>& mutable_entries() { return entries_; }
  std::vector<int>& mutable_key_lines() { return key_lines_; }

 private:
  Kind kind_ = Kind::Null;
  int line_ = 0;
  bool quoted_ = false;
  bool block_ = false;
  std::string scalar_;
  std::vector<YamlNode> items_;
  std::vector<std::pair<std::string, YamlNode>> entries_;
  std::vector<int> key_lines_;
};

class YamlParseError : public std::runtime_error {
 public:
  YamlParseError(const std::string& message, int line, int column)
      : std::runtime_error(message), line_(line), column_(column) {}
  int line() const { return line_; }  // 1-based
  int column() const { return column_; }

 private:
  int line_;
  int column_;
};

struct YamlDocument {
  YamlNode root;
  int line = 1;  // where the document starts
};

// Every document of a YAML stream (a JSON text is one document). Empty
// documents are skipped. Throws YamlParseError with the line of the problem.
// Aliases are expanded with a bound on the total node count, so an alias bomb
// is an error, not an out-of-memory.
std::vector<YamlDocument> parse_yaml_documents(std::string_view text);

// The same, one document at a time: each is handed to `visit` and freed before
// the next is built, so a large stream never sits in memory as a tree.
// Documents before a syntax error have been visited when YamlParseError is thrown.
void for_each_yaml_document(std::string_view text, const std::function<void(const YamlDocument&)>& visit);

// The list under one key of a document's top-level map (`items` of a `kind:
// List`), read an item at a time: a 60 MB List is tens of thousands of objects
// that need never be a tree together.
struct YamlItemStream {
  std::string_view key;
  // Each item, built, handed over and freed before the next is read. The items
  // of a document come before the document itself, in whose tree the list is
  // then empty (with its line). Only a plain sequence is streamed: one with an
  // anchor, an alias or any other value under `key` stays in the tree.
  std::function<void(const YamlNode& item)> visit_item;
};

// for_each_yaml_document, with the items under `stream.key` handed to
// `stream.visit_item`. A syntax error later in a document is still thrown after
// some of its items have been visited: a caller that must drop a whole document
// on an error keeps what it learns from the items until the document arrives.
void for_each_yaml_document(std::string_view text, const std::function<void(const YamlDocument&)>& visit,
                            const YamlItemStream& stream);

}  // namespace cdcguard
