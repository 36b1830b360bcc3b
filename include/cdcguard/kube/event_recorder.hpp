#pragma once

#include <functional>
#include <string>

#include "cdcguard/kube/kube_client.hpp"
#include "cdcguard/model/time.hpp"
#include "cdcguard/policy/audit.hpp"

// Warning Events about the objects the audit finds at fault
// (events.k8s.io/v1, what `kubectl describe` and `kubectl events` show).
namespace cdcguard::kube {

class EventRecorder {
 public:
  virtual ~EventRecorder() = default;
  // Writes `event` at `now`; throws (ApiError, std::runtime_error) when the
  // API server did not take it, so the caller can try it again later.
  virtual void record(const AuditEvent& event, TimePoint now) = 0;
};

// The events.k8s.io/v1 body of `event`: type Warning, reason the rule id,
// note the message (cut to the API's 1 KB at a character boundary), action
// "Audit", regarding the object, eventTime its first sighting and, from the
// second time on, series {count, lastObservedTime: now}.
std::string event_body(const AuditEvent& event, TimePoint now, const std::string& reporting_controller,
                       const std::string& reporting_instance, const std::string& regarding_api_version);

class KubeEventRecorder final : public EventRecorder {
 public:
  // `api_version_of(kind)`: the apiVersion to name the object by
  // ("kafka.strimzi.io/v1"), the version the cluster cache uses.
  KubeEventRecorder(KubeClient& client, std::string reporting_instance,
                    std::function<std::string(const std::string& kind)> api_version_of);
  // A new Event is created (POST). A recurring one is patched (merge patch of
  // its series); if it is gone (the API server keeps Events for --event-ttl,
  // an hour by default, about as long as one interval) it is created again,
  // with its series.
  void record(const AuditEvent& event, TimePoint now) override;

  static constexpr const char* kReportingController = "cdc-guard.io/reconciler";

 private:
  KubeClient& client_;
  std::string reporting_instance_;
  std::function<std::string(const std::string&)> api_version_of_;
};

}  // namespace cdcguard::kube
