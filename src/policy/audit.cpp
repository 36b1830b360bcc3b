#include "cdcguard/policy/audit.hpp"

#include <cstdint>
#include <cstdio>

#include "cdcguard/model/rule_ids.hpp"

namespace cdcguard {
namespace {

std::string throttle_key(const Violation& v) {
  return v.subject_kind + "\n" + v.subject + "\n" + v.rule;
}

std::uint64_t fnv1a(std::string_view text) {
  std::uint64_t hash = 1469598103934665603ULL;
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  return hash;
}

// `<object name>.<16 hex digits>`, like client-go names Events, but from the
// object, the rule and the first sighting rather than the clock's nanoseconds:
// a DNS subdomain (the object's name is one) of at most 253 characters.
std::string event_name(const std::string& object_name, const std::string& key, TimePoint first_seen) {
  char suffix[18];
  std::snprintf(suffix, sizeof suffix, ".%016llx",
                static_cast<unsigned long long>(
                    fnv1a(key + "\n" + std::to_string(first_seen.time_since_epoch().count()))));
  std::string name = object_name.substr(0, 253 - 17);
  while (!name.empty() && (name.back() == '.' || name.back() == '-')) name.pop_back();
  if (name.empty()) name = "cdc-guard";
  return name + suffix;
}

}  // namespace

CheckReport audit_cluster(const ClusterView& view, const Registry& registry, TimePoint now) {
  ManifestSet live;
  live.connectors.reserve(view.connectors.size());
  view.connectors.for_each([&](const ConnectorFacts& c) { live.connectors.push_back(c); });
  live.connect_clusters = view.connect_clusters;
  return check_manifests(std::move(live), registry, now, CheckedAs::Running);
}

std::vector<AuditEvent> AuditEventThrottle::due(const std::vector<Violation>& violations, TimePoint now) {
  // One Event per object and rule: the first violation's message, and how
  // many more the rule found on that object (two paths, say).
  std::map<std::string, std::pair<const Violation*, std::size_t>> current;
  for (const auto& v : violations) {
    auto [it, fresh] = current.try_emplace(throttle_key(v), &v, 0);
    if (!fresh) ++it->second.second;
  }
  std::erase_if(state_, [&](const auto& entry) { return !current.contains(entry.first); });

  std::vector<AuditEvent> events;
  for (const auto& [key, found] : current) {
    const Violation& v = *found.first;
    auto it = state_.find(key);
    if (it == state_.end()) {
      it = state_.emplace(key, Sent{}).first;
      it->second.first_seen = now;
      it->second.event_name = event_name(v.subject.substr(v.subject.find('/') + 1), key, now);
    } else if (it->second.count > 0 && now - it->second.last_sent < interval_) {
      continue;
    }
    AuditEvent event;
    event.object_kind = v.subject_kind;
    const auto slash = v.subject.find('/');
    event.namespace_name = v.subject.substr(0, slash);
    event.object_name = slash == std::string::npos ? v.subject : v.subject.substr(slash + 1);
    event.rule = v.rule;
    event.note = v.message;
    if (found.second > 0) event.note += " (and " + std::to_string(found.second) + " more)";
    event.event_name = it->second.event_name;
    event.first_seen = it->second.first_seen;
    event.count = it->second.count + 1;
    events.push_back(std::move(event));
  }
  return events;
}

void AuditEventThrottle::sent(const AuditEvent& event, TimePoint now) {
  const std::string key =
      event.object_kind + "\n" + event.namespace_name + "/" + event.object_name + "\n" + event.rule;
  const auto it = state_.find(key);
  if (it == state_.end() || it->second.event_name != event.event_name) return;  // forgotten since
  it->second.count = event.count;
  it->second.last_sent = now;
}

std::map<std::string, std::size_t> violations_by_rule(const std::vector<Violation>& violations) {
  std::map<std::string, std::size_t> counts;
  for (const auto id : rule::all()) counts.emplace(std::string(id), 0);
  for (const auto& v : violations) ++counts[v.rule];
  return counts;
}

}  // namespace cdcguard
