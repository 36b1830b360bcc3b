#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cdcguard/model/time.hpp"

// The server-id registry (DESIGN.md "Registry"): rules, teams, reservations,
// entries and exceptions. Plain data; `RegistryParser` reads it, `registry_writer`
// writes it.
namespace cdcguard {

enum class Action { Deny, Warn, Audit };
std::string_view to_string(Action action);
std::optional<Action> parse_action(std::string_view text);

enum class EntryStatus { Reserved, Pending, Active, Decommissioned };
std::string_view to_string(EntryStatus status);
std::optional<EntryStatus> parse_entry_status(std::string_view text);

struct IdRange {
  std::uint32_t from = 0;
  std::uint32_t to = 0;
  bool contains(std::uint32_t id) const { return id >= from && id <= to; }
  bool overlaps(const IdRange& o) const { return from <= o.to && o.from <= to; }
  std::string str() const { return std::to_string(from) + "-" + std::to_string(to); }
  bool operator==(const IdRange&) const = default;
};

struct RegistryRules {
  IdRange range{184000, 184999};
  int embargo_days = 30;
  bool require_registration = false;
  bool allow_placeholders = false;
  bool auto_assign = false;
  std::string schema_history_topic_template;               // "" = /mutate does not fill the history topic
  std::map<std::string, Action, std::less<>> enforcement;  // rule id -> action; absent = deny
  // The reconciler prunes Decommissioned entries older than this many days
  // (counted from decommissionedAt); none = kept for ever.
  std::optional<int> history_days;
  bool operator==(const RegistryRules&) const = default;
};

struct Team {
  std::string name;
  std::vector<std::string> namespaces;
  std::optional<IdRange> range;
  int line = 0;
  bool operator==(const Team& o) const {
    return name == o.name && namespaces == o.namespaces && range == o.range;
  }
};

struct Reservation {
  std::uint32_t server_id = 0;
  std::string reason;
  int line = 0;
  bool operator==(const Reservation& o) const { return server_id == o.server_id && reason == o.reason; }
};

struct RegistryEntry {
  std::string connector;  // "namespace/name"
  std::uint32_t server_id = 0;
  std::string database;
  EntryStatus status = EntryStatus::Active;
  std::string owner;
  std::optional<Date> date;
  std::optional<TimePoint> decommissioned_at;
  std::string claim_uid;                // Pending: the admission request that claimed it
  std::optional<TimePoint> expires_at;  // Pending: the claim lapses at this instant
  // What the topic rules need (DESIGN.md "Registry"), so a connector is judged
  // against every registered one, not only those in view. "" = not recorded.
  std::string topic_prefix;
  std::string topic_delimiter;  // "" = not recorded or the default "."
  std::string schema_history_topic;
  // The reconciler's: the connector object's uid once seen, and the
  // --cluster-name of the cluster whose reconciler owns the entry.
  std::string uid;
  std::string cluster;
  int line = 0;

  // The delimiter the topic rules use: "." unless another one is recorded.
  std::string_view delimiter() const {
    return topic_delimiter.empty() ? std::string_view(".") : topic_delimiter;
  }

  // Holds its id now: Active, Reserved, or Pending and not yet expired.
  bool is_live(TimePoint now) const;
  // Decommissioned and still inside the embargo.
  bool is_embargoed(TimePoint now, int embargo_days) const;
  // The first instant the id may be reused (decommissioned + embargo).
  std::optional<TimePoint> embargo_end(int embargo_days) const;
  bool operator==(const RegistryEntry& o) const {
    return connector == o.connector && server_id == o.server_id && database == o.database &&
           status == o.status && owner == o.owner && date == o.date &&
           decommissioned_at == o.decommissioned_at && claim_uid == o.claim_uid &&
           expires_at == o.expires_at && topic_prefix == o.topic_prefix && delimiter() == o.delimiter() &&
           schema_history_topic == o.schema_history_topic && uid == o.uid && cluster == o.cluster;
  }
};

struct RuleException {
  std::string connector;  // "namespace/name"
  std::vector<std::string> rules;
  std::string reason;
  std::optional<Date> until;  // honoured through this day (UTC); none = no expiry
  int line = 0;
  bool active(TimePoint now) const;
  bool covers(std::string_view rule) const;
  bool operator==(const RuleException& o) const {
    return connector == o.connector && rules == o.rules && reason == o.reason && until == o.until;
  }
};

struct Registry {
  RegistryRules rules;
  std::vector<RuleException> exceptions;
  std::vector<Team> teams;
  std::vector<Reservation> reserved;
  std::vector<RegistryEntry> entries;

  // The team whose namespaces hold `namespace_name`, or nullptr.
  const Team* team_for_namespace(std::string_view namespace_name) const;
  // Enforcement for a rule; `allowPlaceholders` makes server-id-unresolvable a warning.
  Action action_for(std::string_view rule) const;
  // An exception that exempts `connector` from `rule` at `now`.
  const RuleException* exception_for(std::string_view connector, std::string_view rule, TimePoint now) const;
  bool operator==(const Registry&) const = default;
};

}  // namespace cdcguard
