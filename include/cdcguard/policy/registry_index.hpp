#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cdcguard/model/registry.hpp"
#include "cdcguard/policy/topic_namespaces.hpp"

namespace cdcguard {

// Lookups over one Registry (which must outlive it): entries by server id, by
// connector and by the topic facts they record, reservations by id, teams by
// namespace. Every lookup is a hash or tree probe: registries hold 10,000 entries.
class RegistryIndex {
 public:
  using Entries = std::vector<const RegistryEntry*>;

  explicit RegistryIndex(const Registry& registry);

  const Registry& registry() const { return registry_; }
  const Entries& entries_with_id(std::uint32_t id) const;
  const Entries& entries_of(std::string_view connector) const;
  const Reservation* reservation(std::uint32_t id) const;
  const Team* team_for_namespace(std::string_view namespace_name) const;

  // The live entry (Active, Reserved, unexpired Pending) holding `id`, if any
  // other than `except_connector`'s.
  const RegistryEntry* live_holder(std::uint32_t id, std::string_view except_connector, TimePoint now) const;
  // The live entry of `connector`, if any.
  const RegistryEntry* live_entry_of(std::string_view connector, TimePoint now) const;
  // A Decommissioned entry of another connector whose embargo on `id` still runs.
  const RegistryEntry* embargo_on(std::uint32_t id, std::string_view except_connector, TimePoint now) const;

  // For the topic rules: entries that record a topic fact and may hold their
  // id (every status but Decommissioned). The caller checks is_live(now),
  // since a Pending claim lapses.
  // Entries with exactly this topic prefix.
  const Entries& entries_with_prefix(std::string_view prefix) const;
  // Entries with exactly this schema history topic.
  const Entries& entries_with_history_topic(std::string_view topic) const;
  // Entries whose topic namespace holds `topic`: topic == their prefix + their
  // delimiter + at least one more character.
  Entries namespaces_containing(std::string_view topic) const;
  // Entries whose prefix is `prefix` + `delimiter` + at least one more character.
  Entries prefixes_extending(std::string_view prefix, std::string_view delimiter) const;
  // Entries whose history topic lies in the namespace of `prefix` and
  // `delimiter`: `prefix` + `delimiter` + at least one more character.
  Entries history_topics_extending(std::string_view prefix, std::string_view delimiter) const;

  // The names that count for topic-name-collision (every status but Decommissioned).
  struct TopicNames {
    static std::string_view prefix(const RegistryEntry& e) { return e.topic_prefix; }
    static std::string_view delimiter(const RegistryEntry& e) { return e.delimiter(); }
    static std::string_view history(const RegistryEntry& e) { return e.schema_history_topic; }
  };
  using Folded = topic_namespaces::FoldedNames<RegistryEntry, TopicNames>;
  // The same lookups with names folded as Kafka compares them for collisions.
  // Built on first use: a claim builds an index per write attempt and never
  // needs them (thread-safe; snapshots are shared by request threads).
  const Folded& folded() const;

 private:
  const Registry& registry_;
  std::unordered_map<std::uint32_t, Entries> by_id_;
  std::unordered_map<std::string, Entries> by_connector_;
  std::unordered_map<std::uint32_t, const Reservation*> reserved_;
  std::unordered_map<std::string, const Team*> team_by_namespace_;
  // Ordered: the namespace lookups are range scans and tree probes.
  std::map<std::string, Entries, std::less<>> by_prefix_;
  std::map<std::string, Entries, std::less<>> by_history_topic_;
  std::map<std::string, std::size_t, std::less<>> delimiters_;  // delimiter -> prefixes using it
  mutable std::once_flag folded_once_;
  mutable Folded folded_;
};

}  // namespace cdcguard
