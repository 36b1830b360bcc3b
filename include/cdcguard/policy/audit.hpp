#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "cdcguard/model/registry.hpp"
#include "cdcguard/model/time.hpp"
#include "cdcguard/model/violation.hpp"
#include "cdcguard/policy/check.hpp"
#include "cdcguard/policy/cluster_view.hpp"

// The audit (DESIGN.md "The reconciler"): the rules of `check` over what a
// cluster runs, and which of its violations become Warning Events. Pure: the
// cluster is a ClusterView, `now` an argument. `cdc-guard audit` and the
// reconciler's leader call the same function, so they agree with `check`.
namespace cdcguard {

// Every connector and KafkaConnect in `view` against each other and the
// registry, as they run: unlike check_manifests, no mutation default is
// filled in (a live connector without a history topic really has none).
CheckReport audit_cluster(const ClusterView& view, const Registry& registry, TimePoint now);

// One Warning Event to send: about one object and one rule. `count` is 1 for
// a new Event and counts the hours the violation has lasted for a recurring
// one (the Event's `series.count`, as the API aggregates repeated events).
struct AuditEvent {
  std::string object_kind;     // "KafkaConnector" or "KafkaConnect"
  std::string namespace_name;  // of the object, and so of the Event
  std::string object_name;
  std::string object_uid;  // not known to the throttle: the caller fills it in from its view
  std::string rule;        // the Event's reason
  std::string note;  // the violation's message (with " (and N more)" when the rule fired more than once)
  std::string event_name;  // stable for the life of the violation
  TimePoint first_seen;    // when the violation was first reported (the Event's eventTime)
  int count = 1;
};

// At most one Event per object and rule an `interval` (an hour by default):
// a violation seen for the first time is due at once (a new Event); one that
// lasts is due again once `interval` has passed since it was last sent (the
// same Event, its series count one higher); one that is gone is forgotten, so
// if it comes back it gets a new Event.
class AuditEventThrottle {
 public:
  explicit AuditEventThrottle(std::chrono::seconds interval = std::chrono::hours(1)) : interval_(interval) {}

  // The Events due now for `violations` (one audit pass). Forgets the
  // violations that are no longer there. Changes nothing else: call sent()
  // for each Event that was written, so a failed one is due again next pass.
  std::vector<AuditEvent> due(const std::vector<Violation>& violations, TimePoint now);
  void sent(const AuditEvent& event, TimePoint now);
  // Forget everything (this replica stopped leading: the next leader starts afresh).
  void clear() { state_.clear(); }
  std::size_t tracked() const { return state_.size(); }

 private:
  struct Sent {
    std::string event_name;
    TimePoint first_seen;
    TimePoint last_sent;
    int count = 0;  // 0: never written yet
  };
  std::chrono::seconds interval_;
  std::map<std::string, Sent> state_;  // by kind, namespace/name and rule
};

// Violations by rule id, every known rule present (0 when none): the
// cdcguard_violations{rule} gauges.
std::map<std::string, std::size_t> violations_by_rule(const std::vector<Violation>& violations);

}  // namespace cdcguard
