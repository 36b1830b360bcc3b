#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "cdcguard/model/manifest.hpp"
#include "cdcguard/model/registry.hpp"
#include "cdcguard/model/violation.hpp"

namespace cdcguard {

struct CheckSummary {
  std::size_t connectors = 0;        // KafkaConnectors checked
  std::size_t connect_clusters = 0;  // KafkaConnects checked
  std::size_t errors = 0;            // deny-level violations
  std::size_t warnings = 0;          // warn- and audit-level violations
  std::size_t exempted = 0;          // dropped by an active exception
};

// An object the check looked at, with or without violations: reports that
// list what passed (JUnit's test cases) need every one.
struct CheckedObject {
  std::string kind;     // "KafkaConnector" or "KafkaConnect", as Violation::subject_kind
  std::string subject;  // "namespace/name", as Violation::subject
  SourceLocation location;
};

struct CheckReport {
  std::vector<Violation> violations;        // sorted by file, line, rule
  std::vector<CheckedObject> checked;       // sorted by file, line, kind, subject; duplicates left out
  std::vector<ManifestError> input_errors;  // e.g. one connector defined twice
  CheckSummary summary;
  bool has_errors() const { return summary.errors > 0; }
};

// `check`: every connector against all the others and the registry, every
// KafkaConnect against the others. The same rules /validate runs. Takes the
// set by value: move it in to spare a copy of every connector.
CheckReport check_manifests(ManifestSet manifests, const Registry& registry, TimePoint now);

// What the objects are: manifests about to be applied (the mutating webhook
// would fill in a schema history topic from rules.schemaHistoryTopicTemplate,
// so check judges them as admitted), or objects as they run (the audit).
enum class CheckedAs { Manifests, Running };
CheckReport check_manifests(ManifestSet manifests, const Registry& registry, TimePoint now, CheckedAs as);

}  // namespace cdcguard
