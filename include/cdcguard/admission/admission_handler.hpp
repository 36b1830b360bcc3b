#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "cdcguard/admission/admission_review.hpp"
#include "cdcguard/model/time.hpp"
#include "cdcguard/policy/cluster_view.hpp"
#include "cdcguard/store/registry_store.hpp"

// The webhook's decisions, apart from HTTP: /validate and /mutate for one
// AdmissionReview request, with claims written through a RegistryStore. The
// other connectors are those of a ClusterView (in a cluster) or none (standalone:
// the registry stands for them).
namespace cdcguard::admission {

// What to do when the registry cannot be reached or written (the API server
// is down): deny, or admit what the last registry seen and the cluster cache
// allow, with a warning that no claim was recorded. A known duplicate is
// denied either way.
enum class OnApiError { Deny, AllowFromCache };

struct HandlerOptions {
  // The cluster's connectors; null: standalone.
  std::function<std::shared_ptr<const ClusterView>()> cluster;
  // In a cluster an admitted id is claimed as Pending (claimUid, expiresAt)
  // until the reconciler sees the connector; standalone nothing would confirm
  // it, so it is recorded Active.
  bool pending_claims = false;
  std::chrono::seconds claim_ttl{300};
  // --cluster-name in cluster mode, written into every claim (DESIGN.md "The
  // reconciler": only that cluster's reconciler may confirm or expire it); "" standalone.
  std::string cluster_name;
  OnApiError on_api_error = OnApiError::Deny;
};

class AdmissionHandler {
 public:
  using Clock = std::function<TimePoint()>;
  AdmissionHandler(RegistryStore& store, Clock clock, HandlerOptions options = {})
      : store_(store), clock_(std::move(clock)), options_(std::move(options)) {}

  // CREATE and UPDATE are judged; an UPDATE that changes none of the facts the
  // rules read is allowed with its violations as warnings (ratcheting). An
  // admitted connector's id is recorded, with its topic facts, as an Active
  // entry (Pending with pending_claims) unless dryRun; an entry that lacks the
  // facts or holds stale ones is brought up to date; a changed id puts the old
  // one into embargo.
  Response validate(const Request& request);
  // Fills a missing (or "auto") server id with the next free one, and a missing
  // schema history topic from the template, when rules.autoAssign is on. The
  // claim is written (unless dryRun), with the topics the patched object will
  // have, so retries get the same id.
  Response mutate(const Request& request);

 private:
  Response validate_connect(const Request& request);
  std::shared_ptr<const ClusterView> cluster() const;

  RegistryStore& store_;
  Clock clock_;
  HandlerOptions options_;
};

}  // namespace cdcguard::admission
