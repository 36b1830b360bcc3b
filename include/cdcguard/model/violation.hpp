#pragma once

#include <string>
#include <vector>

#include "cdcguard/model/connector.hpp"
#include "cdcguard/model/registry.hpp"

namespace cdcguard {

// One rule broken by one connector (or KafkaConnect).
struct Violation {
  std::string rule;              // stable id, see rule_ids.hpp
  Action action = Action::Deny;  // from rules.enforcement
  std::string subject;           // "namespace/name" of the object at fault
  std::string subject_kind;      // "KafkaConnector" or "KafkaConnect"
  std::string path;              // field path, e.g. "spec.config.database.server.id"
  std::string message;           // names the other party and ends with the fix
  std::string other;             // the other party: "namespace/name", or "" when none
  std::string fix;               // the fix on its own
  SourceLocation location;
  // A finding that is at most a warning whatever rules.enforcement says (a
  // likely problem, not a certain one): apply_enforcement caps its action at warn.
  bool advisory = false;
};

enum class Severity { Error, Warning };
// deny -> error; warn and audit -> warning.
inline Severity severity_of(Action a) {
  return a == Action::Deny ? Severity::Error : Severity::Warning;
}
inline const char* to_string(Severity s) {
  return s == Severity::Error ? "error" : "warning";
}

}  // namespace cdcguard
