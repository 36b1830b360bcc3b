#pragma once

#include <functional>

#include "cdcguard/admission_review.hpp"
#include "cdcguard/registry_store.hpp"
#include "cdcguard/time.hpp"

// The webhook's decisions, apart from HTTP: /validate and /mutate for one
// AdmissionReview request, with claims written through a RegistryStore. The
// view of other connectors is the registry (standalone mode); a cluster cache
// comes with the Kubernetes integration.
namespace cdcguard::admission {

class AdmissionHandler {
 public:
  using Clock = std::function<TimePoint()>;
  AdmissionHandler(RegistryStore& store, Clock clock) : store_(store), clock_(std::move(clock)) {}

  // CREATE and UPDATE are judged; an UPDATE that changes none of the facts the
  // rules read is allowed with its violations as warnings (ratcheting). An
  // admitted connector's id is recorded as an Active entry (unless dryRun);
  // a changed id puts the old one into embargo.
  Response validate(const Request& request);
  // Fills a missing (or "auto") server id with the next free one, and a missing
  // schema history topic from the template, when rules.autoAssign is on. The
  // claim is written (unless dryRun), so retries get the same id.
  Response mutate(const Request& request);

 private:
  RegistryStore& store_;
  Clock clock_;
};

}  // namespace cdcguard::admission
