#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cdcguard/model/connector.hpp"
#include "cdcguard/model/violation.hpp"
#include "cdcguard/policy/connector_index.hpp"
#include "cdcguard/policy/registry_index.hpp"
#include "cdcguard/policy/server_id_allocator.hpp"

// The rules of DESIGN.md as pure functions: facts + view + registry + now ->
// violations. No I/O, no clock.
namespace cdcguard {

// "next free id for team-a: 184004", computed once per pool.
class FixHints {
 public:
  explicit FixHints(const ServerIdAllocator& allocator) : allocator_(allocator) {}
  std::string next_free_id(const ConnectorFacts& subject, const RegistryIndex& registry, TimePoint now) const;
  // The bare number (0 when the pool is exhausted).
  std::uint32_t next_free_number(const ConnectorFacts& subject) const;

 private:
  const ServerIdAllocator& allocator_;
  mutable std::unordered_map<std::string, std::string> by_namespace_;
};

struct EvaluationContext {
  const RegistryIndex& registry;
  const ConnectorIndex& connectors;  // the others; may hold the subject itself (matched by namespace/name)
  const FixHints& hints;
  TimePoint now;
  // /validate judges the object after /mutate: rules.autoAssign no longer
  // excuses a missing id (`check` judges manifests that /mutate has yet to see).
  bool after_mutation = false;
  const Registry& reg() const { return registry.registry(); }
};

using ConnectorRuleFn = void (*)(const ConnectorFacts& subject, const EvaluationContext& ctx,
                                 std::vector<Violation>& out);
struct ConnectorRule {
  std::string_view id;
  ConnectorRuleFn check;
};
// Every KafkaConnector rule, in the order of DESIGN.md's table.
std::span<const ConnectorRule> connector_rules();

// What every connector rule finds, actions not yet applied (all Deny).
std::vector<Violation> find_connector_violations(const ConnectorFacts& subject, const EvaluationContext& ctx);

// KafkaConnect clusters indexed by bootstrap broker.
// KafkaConnect clusters indexed by (bootstrap broker, group.id) and (broker,
// storage topic), so a clash is one probe per broker, not a scan of the peers.
class ConnectClusterIndex {
 public:
  struct TopicUse {
    const ConnectClusterFacts* cluster;
    const ConnectTopicFact* field;
  };
  void add(const ConnectClusterFacts& facts);  // keeps a pointer: `facts` must outlive the index
  // The first other cluster (by namespace/name) on a shared broker with the subject's group.id.
  const ConnectClusterFacts* group_peer(const ConnectClusterFacts& subject) const;
  // The first other cluster on a shared broker using `topic` as any storage topic.
  std::optional<TopicUse> topic_peer(const ConnectClusterFacts& subject, const std::string& topic) const;

 private:
  std::unordered_map<std::string, std::vector<const ConnectClusterFacts*>> by_broker_group_;
  std::unordered_map<std::string, std::vector<TopicUse>> by_broker_topic_;
};

std::vector<Violation> find_connect_violations(const ConnectClusterFacts& subject,
                                               const ConnectClusterIndex& others);

// Sets each violation's action from rules.enforcement and drops those an
// active exception covers. Returns how many were dropped.
std::size_t apply_enforcement(std::vector<Violation>& violations, const Registry& registry, TimePoint now);

// rules.schemaHistoryTopicTemplate with {prefix}, {namespace} and {name}
// filled in; "" when the template needs a prefix the connector lacks.
std::string expand_history_topic_template(std::string_view templ, const ConnectorFacts& facts);

// The facts as /mutate would leave them: a missing Kafka schema history topic
// of a MySQL/MariaDB connector filled from the template.
ConnectorFacts with_mutation_defaults(ConnectorFacts facts, const Registry& registry);

}  // namespace cdcguard
