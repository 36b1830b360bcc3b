#include "cdcguard/policy/claims.hpp"

#include <utility>
#include <vector>

#include "cdcguard/model/names.hpp"

namespace cdcguard {
namespace {

bool has_valid_binlog_id(const ConnectorFacts& c) {
  return c.reads_binlog() && c.server_id.state == ServerIdValue::State::Valid;
}

// A live entry that already holds its id the way `style` would write it.
bool settled(const RegistryEntry& e, const ClaimStyle& style) {
  return e.status == EntryStatus::Active || (style.pending && e.status == EntryStatus::Pending);
}

void write_claim(RegistryEntry& e, TimePoint now, const ClaimStyle& style) {
  if (style.pending) {
    e.status = EntryStatus::Pending;
    e.claim_uid = style.uid;
    e.expires_at = now + style.ttl;
  } else {
    e.status = EntryStatus::Active;
    e.claim_uid.clear();
    e.expires_at.reset();
  }
  // The cluster that claims the id is the one whose reconciler confirms the
  // claim (or lets it lapse); standalone there is none to name.
  if (!style.cluster.empty()) e.cluster = style.cluster;
}

// What an entry records of a connector's topics: "" for what it lacks, or
// holds in a form no Kafka topic can take (a ${...} placeholder, say), so the
// entry stays one the parser accepts; the default delimiter "." as "".
struct TopicFacts {
  std::string prefix;
  std::string delimiter;
  std::string history;
};

// `value` when it can be written as a topic fact, else "".
std::string topic_fact(const std::string& value) {
  return kafka_topic_problem(value, "topic").empty() ? value : std::string();
}

TopicFacts topic_facts_of(const ConnectorFacts& connector) {
  TopicFacts t;
  t.prefix = connector.topic_prefix.present() ? topic_fact(connector.topic_prefix.value) : "";
  // A delimiter without a prefix says nothing.
  if (!t.prefix.empty() && connector.topic_delimiter != ".")
    t.delimiter = topic_fact(connector.topic_delimiter);
  // A history topic counts only when the history is Kafka-backed: a leftover
  // key next to FileSchemaHistory is never read.
  if (connector.history_topic.present() && connector.kafka_schema_history())
    t.history = topic_fact(connector.history_topic.value);
  return t;
}

bool records(const RegistryEntry& e, const TopicFacts& t) {
  return e.topic_prefix == t.prefix && e.delimiter() == (t.delimiter.empty() ? "." : t.delimiter) &&
         e.schema_history_topic == t.history;
}

}  // namespace

bool set_topic_facts(RegistryEntry& entry, const ConnectorFacts& connector) {
  TopicFacts t = topic_facts_of(connector);
  if (records(entry, t)) return false;
  entry.topic_prefix = std::move(t.prefix);
  entry.topic_delimiter = std::move(t.delimiter);
  entry.schema_history_topic = std::move(t.history);
  return true;
}

bool is_recorded(const RegistryIndex& index, const ConnectorFacts& connector, TimePoint now,
                 const ClaimStyle& style) {
  if (!has_valid_binlog_id(connector)) return true;
  const TopicFacts topics = topic_facts_of(connector);
  bool holds = false;
  for (const RegistryEntry* e : index.entries_of(connector.key())) {
    if (!e->is_live(now)) continue;
    if (e->server_id != connector.server_id.id || !settled(*e, style) || !records(*e, topics)) return false;
    holds = true;
  }
  return holds;
}

bool claim_id(Registry& registry, const ConnectorFacts& connector, std::uint32_t id, TimePoint now,
              const ClaimStyle& style) {
  const std::string key = connector.key();
  const std::size_t lapsed = std::erase_if(registry.entries, [&](const RegistryEntry& e) {
    return e.status == EntryStatus::Pending && !e.is_live(now) && (e.server_id == id || e.connector == key);
  });
  bool changed = lapsed > 0;
  bool holds = false;
  for (auto& e : registry.entries) {
    if (e.connector != key || !e.is_live(now)) continue;
    if (e.server_id == id) {
      holds = true;
      if (!settled(e, style)) {
        write_claim(e, now, style);
        changed = true;
      }
      // Filled into an entry that lacks them (written by hand, or before
      // entries recorded topics), or brought up to date.
      changed = set_topic_facts(e, connector) || changed;
    } else {
      e.status = EntryStatus::Decommissioned;
      e.decommissioned_at = now;
      changed = true;
    }
  }
  if (!holds) {
    RegistryEntry e;
    e.connector = key;
    e.server_id = id;
    e.date = date_of(now);
    write_claim(e, now, style);
    set_topic_facts(e, connector);
    registry.entries.push_back(std::move(e));
    changed = true;
  }
  return changed;
}

bool record_admitted(Registry& registry, const ConnectorFacts& connector, TimePoint now,
                     const ClaimStyle& style) {
  if (!has_valid_binlog_id(connector)) return false;
  return claim_id(registry, connector, connector.server_id.id, now, style);
}

bool assignment_needs_claim(const RegistryIndex& index, std::string_view key, TimePoint now) {
  return index.live_entry_of(key, now) == nullptr;
}

}  // namespace cdcguard
