#include "cdcguard/policy/check.hpp"

#include <algorithm>
#include <tuple>
#include <unordered_map>

#include "cdcguard/policy/connector_index.hpp"
#include "cdcguard/policy/registry_index.hpp"
#include "cdcguard/policy/rules.hpp"
#include "cdcguard/policy/server_id_allocator.hpp"

namespace cdcguard {

CheckReport check_manifests(ManifestSet manifests, const Registry& registry, TimePoint now) {
  return check_manifests(std::move(manifests), registry, now, CheckedAs::Manifests);
}

CheckReport check_manifests(ManifestSet manifests, const Registry& registry, TimePoint now, CheckedAs as) {
  CheckReport report;
  ConnectorIndex index;
  std::unordered_map<std::string, SourceLocation> first_seen;
  for (auto& c : manifests.connectors) {
    auto [it, fresh] = first_seen.emplace(c.key(), c.location);
    if (!fresh) {
      report.input_errors.push_back(
          {c.location, "KafkaConnector " + c.key() + " is defined twice (first at " + it->second.file + ":" +
                           std::to_string(it->second.line) + "); check rendered manifests, one per object"});
      continue;
    }
    index.upsert(as == CheckedAs::Manifests ? with_mutation_defaults(std::move(c), registry) : std::move(c));
  }
  manifests.connectors.clear();
  const RegistryIndex registry_index(registry);
  const ServerIdAllocator allocator(registry_index, index, now);
  const FixHints hints(allocator);
  const EvaluationContext ctx{registry_index, index, hints, now};

  index.for_each([&](const ConnectorFacts& c) {
    auto found = find_connector_violations(c, ctx);
    report.violations.insert(report.violations.end(), std::make_move_iterator(found.begin()),
                             std::make_move_iterator(found.end()));
    report.checked.push_back({"KafkaConnector", c.key(), c.location});
  });
  report.summary.connectors = index.size();

  ConnectClusterIndex connects;
  std::unordered_map<std::string, SourceLocation> connect_seen;
  std::vector<const ConnectClusterFacts*> unique_connects;
  for (const auto& c : manifests.connect_clusters) {
    auto [it, fresh] = connect_seen.emplace(c.key(), c.location);
    if (!fresh) {
      report.input_errors.push_back({c.location, "KafkaConnect " + c.key() + " is defined twice (first at " +
                                                     it->second.file + ":" + std::to_string(it->second.line) +
                                                     ")"});
      continue;
    }
    connects.add(c);
    unique_connects.push_back(&c);
  }
  for (const auto* c : unique_connects) {
    report.checked.push_back({"KafkaConnect", c->key(), c->location});
    auto found = find_connect_violations(*c, connects);
    report.violations.insert(report.violations.end(), std::make_move_iterator(found.begin()),
                             std::make_move_iterator(found.end()));
  }
  report.summary.connect_clusters = unique_connects.size();

  report.summary.exempted = apply_enforcement(report.violations, registry, now);
  for (const auto& v : report.violations) {
    if (v.action == Action::Deny) {
      ++report.summary.errors;
    } else {
      ++report.summary.warnings;
    }
  }
  std::sort(report.violations.begin(), report.violations.end(), [](const Violation& a, const Violation& b) {
    if (a.location.file != b.location.file) return a.location.file < b.location.file;
    if (a.location.line != b.location.line) return a.location.line < b.location.line;
    if (a.subject != b.subject) return a.subject < b.subject;
    return a.rule < b.rule;
  });
  std::sort(report.checked.begin(), report.checked.end(), [](const CheckedObject& a, const CheckedObject& b) {
    return std::tie(a.location.file, a.location.line, a.kind, a.subject) <
           std::tie(b.location.file, b.location.line, b.kind, b.subject);
  });
  return report;
}

}  // namespace cdcguard
