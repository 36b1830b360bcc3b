#include "cdcguard/policy/registry_index.hpp"

#include <algorithm>

#include "cdcguard/model/connector.hpp"
#include "cdcguard/policy/topic_namespaces.hpp"

namespace cdcguard {
namespace {

const RegistryIndex::Entries& none() {
  static const RegistryIndex::Entries kNone;
  return kNone;
}

std::string_view delimiter_of(const RegistryEntry& e) {
  return e.delimiter();
}

}  // namespace

RegistryIndex::RegistryIndex(const Registry& registry) : registry_(registry) {
  for (const auto& e : registry.entries) {
    by_id_[e.server_id].push_back(&e);
    by_connector_[e.connector].push_back(&e);
    // A Decommissioned entry holds nothing: the topic rules never look at it.
    if (e.status == EntryStatus::Decommissioned) continue;
    if (!e.topic_prefix.empty()) {
      by_prefix_[e.topic_prefix].push_back(&e);
      ++delimiters_[std::string(e.delimiter())];
    }
    if (!e.schema_history_topic.empty()) by_history_topic_[e.schema_history_topic].push_back(&e);
  }
  for (const auto& r : registry.reserved) reserved_.emplace(r.server_id, &r);
  for (const auto& t : registry.teams) {
    for (const auto& ns : t.namespaces) team_by_namespace_.emplace(ns, &t);
  }
}

const RegistryIndex::Entries& RegistryIndex::entries_with_id(std::uint32_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? none() : it->second;
}

const RegistryIndex::Entries& RegistryIndex::entries_of(std::string_view connector) const {
  auto it = by_connector_.find(std::string(connector));
  return it == by_connector_.end() ? none() : it->second;
}

const Reservation* RegistryIndex::reservation(std::uint32_t id) const {
  auto it = reserved_.find(id);
  return it == reserved_.end() ? nullptr : it->second;
}

const Team* RegistryIndex::team_for_namespace(std::string_view namespace_name) const {
  auto it = team_by_namespace_.find(std::string(namespace_name));
  return it == team_by_namespace_.end() ? nullptr : it->second;
}

const RegistryEntry* RegistryIndex::live_holder(std::uint32_t id, std::string_view except_connector,
                                                TimePoint now) const {
  for (const RegistryEntry* e : entries_with_id(id)) {
    if (e->connector != except_connector && e->is_live(now)) return e;
  }
  return nullptr;
}

const RegistryEntry* RegistryIndex::live_entry_of(std::string_view connector, TimePoint now) const {
  for (const RegistryEntry* e : entries_of(connector)) {
    if (e->is_live(now)) return e;
  }
  return nullptr;
}

const RegistryEntry* RegistryIndex::embargo_on(std::uint32_t id, std::string_view except_connector,
                                               TimePoint now) const {
  const RegistryEntry* latest = nullptr;
  for (const RegistryEntry* e : entries_with_id(id)) {
    if (e->connector == except_connector || !e->is_embargoed(now, registry_.rules.embargo_days)) continue;
    if (!latest ||
        *e->embargo_end(registry_.rules.embargo_days) > *latest->embargo_end(registry_.rules.embargo_days)) {
      latest = e;
    }
  }
  return latest;
}

const RegistryIndex::Entries& RegistryIndex::entries_with_prefix(std::string_view prefix) const {
  auto it = by_prefix_.find(prefix);
  return it == by_prefix_.end() ? none() : it->second;
}

const RegistryIndex::Entries& RegistryIndex::entries_with_history_topic(std::string_view topic) const {
  auto it = by_history_topic_.find(topic);
  return it == by_history_topic_.end() ? none() : it->second;
}

RegistryIndex::Entries RegistryIndex::namespaces_containing(std::string_view topic) const {
  Entries out;
  topic_namespaces::namespaces_containing(topic, by_prefix_, delimiters_, delimiter_of, out);
  return out;
}

RegistryIndex::Entries RegistryIndex::prefixes_extending(std::string_view prefix,
                                                         std::string_view delimiter) const {
  Entries out;
  topic_namespaces::keys_extending(std::string(prefix) + std::string(delimiter), by_prefix_, out);
  return out;
}

RegistryIndex::Entries RegistryIndex::history_topics_extending(std::string_view prefix,
                                                               std::string_view delimiter) const {
  Entries out;
  topic_namespaces::keys_extending(std::string(prefix) + std::string(delimiter), by_history_topic_, out);
  return out;
}

const RegistryIndex::Folded& RegistryIndex::folded() const {
  std::call_once(folded_once_, [this] {
    for (const auto& e : registry_.entries) {
      if (e.status != EntryStatus::Decommissioned) folded_.add(&e);
    }
  });
  return folded_;
}

}  // namespace cdcguard
