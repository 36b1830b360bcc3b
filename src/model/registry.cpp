#include "cdcguard/model/registry.hpp"

#include <algorithm>

namespace cdcguard {

std::string_view to_string(Action action) {
  switch (action) {
    case Action::Deny:
      return "deny";
    case Action::Warn:
      return "warn";
    case Action::Audit:
      return "audit";
  }
  return "deny";
}

std::optional<Action> parse_action(std::string_view text) {
  if (text == "deny") return Action::Deny;
  if (text == "warn") return Action::Warn;
  if (text == "audit") return Action::Audit;
  return std::nullopt;
}

std::string_view to_string(EntryStatus status) {
  switch (status) {
    case EntryStatus::Reserved:
      return "Reserved";
    case EntryStatus::Pending:
      return "Pending";
    case EntryStatus::Active:
      return "Active";
    case EntryStatus::Decommissioned:
      return "Decommissioned";
  }
  return "Active";
}

std::optional<EntryStatus> parse_entry_status(std::string_view text) {
  if (text == "Reserved") return EntryStatus::Reserved;
  if (text == "Pending") return EntryStatus::Pending;
  if (text == "Active") return EntryStatus::Active;
  if (text == "Decommissioned") return EntryStatus::Decommissioned;
  return std::nullopt;
}

bool RegistryEntry::is_live(TimePoint now) const {
  switch (status) {
    case EntryStatus::Active:
    case EntryStatus::Reserved:
      return true;
    case EntryStatus::Pending:
      return !expires_at || now < *expires_at;
    case EntryStatus::Decommissioned:
      return false;
  }
  return false;
}

std::optional<TimePoint> RegistryEntry::embargo_end(int embargo_days) const {
  if (status != EntryStatus::Decommissioned) return std::nullopt;
  std::optional<TimePoint> from = decommissioned_at;
  if (!from && date) from = TimePoint{*date};
  if (!from) return std::nullopt;
  return *from + std::chrono::days{embargo_days};
}

bool RegistryEntry::is_embargoed(TimePoint now, int embargo_days) const {
  const auto end = embargo_end(embargo_days);
  return end && now < *end;
}

bool RuleException::active(TimePoint now) const {
  return !until || date_of(now) <= *until;
}

bool RuleException::covers(std::string_view rule) const {
  return std::any_of(rules.begin(), rules.end(), [&](const std::string& r) { return r == rule || r == "*"; });
}

const Team* Registry::team_for_namespace(std::string_view namespace_name) const {
  for (const auto& team : teams) {
    if (std::find(team.namespaces.begin(), team.namespaces.end(), namespace_name) != team.namespaces.end()) {
      return &team;
    }
  }
  return nullptr;
}

Action Registry::action_for(std::string_view rule) const {
  if (const auto it = rules.enforcement.find(rule); it != rules.enforcement.end()) return it->second;
  if (rule == "server-id-unresolvable" && rules.allow_placeholders) return Action::Warn;
  return Action::Deny;
}

const RuleException* Registry::exception_for(std::string_view connector, std::string_view rule,
                                             TimePoint now) const {
  for (const auto& e : exceptions) {
    if (e.connector == connector && e.covers(rule) && e.active(now)) return &e;
  }
  return nullptr;
}

}  // namespace cdcguard
