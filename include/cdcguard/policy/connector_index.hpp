#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cdcguard/model/connector.hpp"
#include "cdcguard/policy/topic_namespaces.hpp"

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

  // The names that count for the topic rules: the prefix of a Debezium
  // connector, its Kafka schema history topic ("" otherwise).
  struct TopicNames {
    static std::string_view prefix(const ConnectorFacts& f);
    static std::string_view delimiter(const ConnectorFacts& f) { return f.topic_delimiter; }
    static std::string_view history(const ConnectorFacts& f);
  };
  using Folded = topic_namespaces::FoldedNames<ConnectorFacts, TopicNames>;
  // The same lookups with names folded as Kafka compares them for collisions.
  const Folded& folded() const { return folded_; }

 private:
  void index(const ConnectorFacts& f);
  void unindex(const ConnectorFacts& f);

  std::unordered_map<std::string, ConnectorFacts> by_key_;
  std::unordered_map<std::uint32_t, List> by_server_id_;
  std::map<std::string, List, std::less<>> by_prefix_;  // ordered: prefixes_extending is a range scan
  std::unordered_map<std::string, List> by_history_topic_;
  std::map<std::string, std::size_t, std::less<>> delimiters_;  // delimiter -> prefixes using it
  Folded folded_;
};

}  // namespace cdcguard
