#include "cdcguard/policy/claim_confirmation.hpp"

namespace cdcguard {
namespace {

bool confirmed(const RegistryEntry& e, const ConnectorIndex& cluster, TimePoint now) {
  if (e.status != EntryStatus::Pending || !e.is_live(now)) return false;
  const ConnectorFacts* seen = cluster.find(e.connector);
  return seen && seen->reads_binlog() && seen->server_id.state == ServerIdValue::State::Valid &&
         seen->server_id.id == e.server_id;
}

}  // namespace

std::size_t confirmable_claims(const Registry& registry, const ConnectorIndex& cluster, TimePoint now) {
  std::size_t n = 0;
  for (const auto& e : registry.entries) n += confirmed(e, cluster, now) ? 1 : 0;
  return n;
}

std::size_t confirm_claims(Registry& registry, const ConnectorIndex& cluster, TimePoint now) {
  std::size_t n = 0;
  for (auto& e : registry.entries) {
    if (!confirmed(e, cluster, now)) continue;
    e.status = EntryStatus::Active;
    e.claim_uid.clear();
    e.expires_at.reset();
    ++n;
  }
  return n;
}

}  // namespace cdcguard
