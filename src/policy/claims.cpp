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
}

// `value` when it can be written as a topic fact, else "".
std::string topic_fact(const std::string& value) {
  return kafka_topic_problem(value, "topic").empty() ? value : std::string();
}

}  // namespace

bool set_topic_facts(RegistryEntry& entry, const ConnectorFacts& connector) {
  std::string prefix = connector.topic_prefix.present() ? topic_fact(connector.topic_prefix.value) : "";
  std::string delimiter = connector.topic_delimiter == "." ? "" : topic_fact(connector.topic_delimiter);
  std::string history = connector.history_topic.present() && connector.kafka_schema_history()
                            ? topic_fact(connector.history_topic.value)
                            : "";
  if (prefix.empty()) delimiter.clear();
  const bool changed = entry.topic_prefix != prefix ||
                       entry.delimiter() != (delimiter.empty() ? "." : delimiter) ||
                       entry.schema_history_topic != history;
  entry.topic_prefix = std::move(prefix);
  entry.topic_delimiter = std::move(delimiter);
  entry.schema_history_topic = std::move(history);
  return changed;
}

bool is_recorded(const RegistryIndex& index, const ConnectorFacts& connector, TimePoint now,
                 const ClaimStyle& style) {
  if (!has_valid_binlog_id(connector)) return true;
  bool holds = false;
  for (const RegistryEntry* e : index.entries_of(connector.key())) {
    if (!e->is_live(now)) continue;
    if (e->server_id != connector.server_id.id || !settled(*e, style)) return false;
    holds = true;
  }
  return holds;
}

bool claim_id(Registry& registry, std::string_view key, std::uint32_t id, TimePoint now,
              const ClaimStyle& style) {
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
    } else {
      e.status = EntryStatus::Decommissioned;
      e.decommissioned_at = now;
      changed = true;
    }
  }
  if (!holds) {
    RegistryEntry e;
    e.connector = std::string(key);
    e.server_id = id;
    e.date = date_of(now);
    write_claim(e, now, style);
    registry.entries.push_back(std::move(e));
    changed = true;
  }
  return changed;
}

bool record_admitted(Registry& registry, const ConnectorFacts& connector, TimePoint now,
                     const ClaimStyle& style) {
  if (!has_valid_binlog_id(connector)) return false;
  return claim_id(registry, connector.key(), connector.server_id.id, now, style);
}

bool assignment_needs_claim(const RegistryIndex& index, std::string_view key, TimePoint now) {
  return index.live_entry_of(key, now) == nullptr;
}

}  // namespace cdcguard
