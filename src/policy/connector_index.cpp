#include "cdcguard/policy/connector_index.hpp"

#include <algorithm>

#include "cdcguard/policy/topic_namespaces.hpp"

namespace cdcguard {
namespace {

void erase_from(ConnectorIndex::List& list, const ConnectorFacts* f) {
  list.erase(std::remove(list.begin(), list.end(), f), list.end());
}

// Removes `f` from the list under `key`, and the key when its list empties.
// True when `f` was there.
template <class Map>
bool erase_under(Map& map, const std::string& key, const ConnectorFacts* f) {
  auto it = map.find(key);
  if (it == map.end()) return false;
  const auto before = it->second.size();
  erase_from(it->second, f);
  const bool erased = it->second.size() != before;
  if (it->second.empty()) map.erase(it);
  return erased;
}

void forget_delimiter(std::map<std::string, std::size_t, std::less<>>& delimiters, std::string_view d) {
  if (auto it = delimiters.find(d); it != delimiters.end() && --it->second == 0) delimiters.erase(it);
}

}  // namespace

const ConnectorFacts& ConnectorIndex::upsert(ConnectorFacts facts) {
  std::string key = facts.key();
  if (auto it = by_key_.find(key); it != by_key_.end()) {
    unindex(it->second);
    it->second = std::move(facts);
    index(it->second);
    return it->second;
  }
  auto [it, inserted] = by_key_.emplace(std::move(key), std::move(facts));
  index(it->second);
  return it->second;
}

bool ConnectorIndex::remove(std::string_view key) {
  auto it = by_key_.find(std::string(key));
  if (it == by_key_.end()) return false;
  unindex(it->second);
  by_key_.erase(it);
  return true;
}

const ConnectorFacts* ConnectorIndex::find(std::string_view key) const {
  auto it = by_key_.find(std::string(key));
  return it == by_key_.end() ? nullptr : &it->second;
}

void ConnectorIndex::for_each(const std::function<void(const ConnectorFacts&)>& fn) const {
  for (const auto& [key, f] : by_key_) fn(f);
}

void ConnectorIndex::index(const ConnectorFacts& f) {
  if (f.reads_binlog() && f.server_id.state == ServerIdValue::State::Valid)
    by_server_id_[f.server_id.id].push_back(&f);
  if (!f.is_debezium()) return;
  if (f.topic_prefix.present()) {
    by_prefix_[f.topic_prefix.value].push_back(&f);
    ++delimiters_[f.topic_delimiter];
  }
  // A history topic only counts when the history lives in Kafka: a leftover
  // key next to FileSchemaHistory is never read.
  if (f.history_topic.present() && f.kafka_schema_history())
    by_history_topic_[f.history_topic.value].push_back(&f);
  folded_.add(&f);
}

void ConnectorIndex::unindex(const ConnectorFacts& f) {
  if (auto it = by_server_id_.find(f.server_id.id); it != by_server_id_.end()) {
    erase_from(it->second, &f);
    if (it->second.empty()) by_server_id_.erase(it);
  }
  if (erase_under(by_prefix_, f.topic_prefix.value, &f)) forget_delimiter(delimiters_, f.topic_delimiter);
  erase_under(by_history_topic_, f.history_topic.value, &f);
  folded_.remove(&f);
}

namespace {
const ConnectorIndex::List kNone;
}  // namespace

const ConnectorIndex::List& ConnectorIndex::with_server_id(std::uint32_t id) const {
  auto it = by_server_id_.find(id);
  return it == by_server_id_.end() ? kNone : it->second;
}

const ConnectorIndex::List& ConnectorIndex::with_prefix(std::string_view prefix) const {
  auto it = by_prefix_.find(prefix);
  return it == by_prefix_.end() ? kNone : it->second;
}

const ConnectorIndex::List& ConnectorIndex::with_history_topic(std::string_view topic) const {
  auto it = by_history_topic_.find(std::string(topic));
  return it == by_history_topic_.end() ? kNone : it->second;
}

std::string_view ConnectorIndex::TopicNames::prefix(const ConnectorFacts& f) {
  return f.is_debezium() && f.topic_prefix.present() ? std::string_view(f.topic_prefix.value)
                                                     : std::string_view();
}

std::string_view ConnectorIndex::TopicNames::history(const ConnectorFacts& f) {
  return f.is_debezium() && f.history_topic.present() && f.kafka_schema_history()
             ? std::string_view(f.history_topic.value)
             : std::string_view();
}

ConnectorIndex::List ConnectorIndex::namespaces_containing(std::string_view topic) const {
  List out;
  topic_namespaces::namespaces_containing(
      topic, by_prefix_, delimiters_,
      [](const ConnectorFacts& f) -> std::string_view { return f.topic_delimiter; }, out);
  return out;
}

ConnectorIndex::List ConnectorIndex::prefixes_extending(std::string_view prefix,
                                                        std::string_view delimiter) const {
  List out;
  topic_namespaces::keys_extending(std::string(prefix) + std::string(delimiter), by_prefix_, out);
  return out;
}

}  // namespace cdcguard
