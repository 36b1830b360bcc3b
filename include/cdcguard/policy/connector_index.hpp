#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cdcguard/model/connector.hpp"

namespace cdcguard {

// The connectors a rule compares against, indexed by server id, topic prefix
// and schema history topic, so every lookup is a hash or tree probe rather than
// a scan. Holds its own copies, keyed by namespace/name; pointers it hands out
// stay valid until that connector is replaced or removed.
class ConnectorIndex {
 public:
  using List = std::vector<const ConnectorFacts*>;

  // Adds or replaces the connector with the same namespace/name.
  const ConnectorFacts& upsert(ConnectorFacts facts);
  bool remove(std::string_view key);
  const ConnectorFacts* find(std::string_view key) const;
  std::size_t size() const { return by_key_.size(); }
  void for_each(const std::function<void(const ConnectorFacts&)>& fn) const;

  // MySQL/MariaDB connectors holding this server id.
  const List& with_server_id(std::uint32_t id) const;
  // Debezium connectors with exactly this topic prefix.
  const List& with_prefix(std::string_view prefix) const;
  // Debezium connectors with this (Kafka-backed) schema history topic.
  const List& with_history_topic(std::string_view topic) const;
  // Connectors whose topic namespace holds `topic`: topic == their prefix +
  // their delimiter + at least one more character.
  List namespaces_containing(std::string_view topic) const;
  // Connectors whose prefix is `prefix` + `delimiter` + at least one more character.
  List prefixes_extending(std::string_view prefix, std::string_view delimiter) const;

  // The same lookups with names folded as Kafka compares them for collisions
  // (fold_topic_name: '.' and '_' are one character); arguments already folded.
  // The with_folded_* lists are sorted by the exact (unfolded) name.
  const List& with_folded_prefix(std::string_view folded) const;
  const List& with_folded_history_topic(std::string_view folded) const;
  List folded_namespaces_containing(std::string_view folded_topic) const;
  // Prefixes (or Kafka schema history topics) that fold to `folded_head` + at least one more character.
  List folded_prefixes_extending(std::string_view folded_head) const;
  List folded_history_topics_extending(std::string_view folded_head) const;

 private:
  void index(const ConnectorFacts& f);
  void unindex(const ConnectorFacts& f);

  std::unordered_map<std::string, ConnectorFacts> by_key_;
  std::unordered_map<std::uint32_t, List> by_server_id_;
  std::map<std::string, List, std::less<>> by_prefix_;  // ordered: prefixes_extending is a range scan
  std::unordered_map<std::string, List> by_history_topic_;
  std::map<std::string, std::size_t, std::less<>> delimiters_;  // delimiter -> prefixes using it
  // Folded ('.' == '_') for topic-name-collision; ordered for the range scans.
  std::map<std::string, List, std::less<>> by_folded_prefix_;
  std::map<std::string, List, std::less<>> by_folded_history_topic_;
  std::map<std::string, std::size_t, std::less<>> folded_delimiters_;
};

}  // namespace cdcguard
