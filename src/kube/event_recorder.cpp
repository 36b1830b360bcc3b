#include "cdcguard/kube/event_recorder.hpp"

#include <nlohmann/json.hpp>

namespace cdcguard::kube {
namespace {

constexpr std::size_t kNoteLimit = 1024;  // the API refuses a longer note

// MicroTime, as the API parses it (RFC 3339 with exactly six fraction digits).
std::string micro_time(TimePoint at) {
  std::string text = format_timestamp(at);  // "...T10:00:00Z"
  text.insert(text.size() - 1, ".000000");
  return text;
}

// At most `limit` bytes, not splitting a UTF-8 sequence.
std::string cut_utf8(const std::string& text, std::size_t limit) {
  if (text.size() <= limit) return text;
  std::size_t end = limit - 3;  // room for "..."
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end) + "...";
}

std::string events_path(const std::string& namespace_name) {
  return "/apis/events.k8s.io/v1/namespaces/" + namespace_name + "/events";
}

}  // namespace

std::string event_body(const AuditEvent& event, TimePoint now, const std::string& reporting_controller,
                       const std::string& reporting_instance, const std::string& regarding_api_version) {
  nlohmann::json regarding{{"apiVersion", regarding_api_version},
                           {"kind", event.object_kind},
                           {"namespace", event.namespace_name},
                           {"name", event.object_name}};
  if (!event.object_uid.empty()) regarding["uid"] = event.object_uid;
  nlohmann::json body{{"apiVersion", "events.k8s.io/v1"},
                      {"kind", "Event"},
                      {"metadata", {{"name", event.event_name}, {"namespace", event.namespace_name}}},
                      {"eventTime", micro_time(event.first_seen)},
                      {"reportingController", reporting_controller},
                      {"reportingInstance", reporting_instance.substr(0, 128)},
                      {"action", "Audit"},
                      {"reason", event.rule},
                      {"type", "Warning"},
                      {"regarding", std::move(regarding)},
                      {"note", cut_utf8(event.note, kNoteLimit)}};
  if (event.count > 1) body["series"] = {{"count", event.count}, {"lastObservedTime", micro_time(now)}};
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

KubeEventRecorder::KubeEventRecorder(KubeClient& client, std::string reporting_instance,
                                     std::function<std::string(const std::string& kind)> api_version_of)
    : client_(client),
      reporting_instance_(reporting_instance.empty() ? std::string("cdc-guard")
                                                     : std::move(reporting_instance)),
      api_version_of_(std::move(api_version_of)) {}

void KubeEventRecorder::record(const AuditEvent& event, TimePoint now) {
  const auto fail = [&](const HttpResponse& response, const char* verb) {
    throw ApiError(std::string(verb) + " Event " + event.namespace_name + "/" + event.event_name + ": " +
                   std::to_string(response.status) + " " + status_message(response));
  };
  if (event.count > 1) {
    const nlohmann::json patch{{"series", {{"count", event.count}, {"lastObservedTime", micro_time(now)}}}};
    const auto response = client_.request("PATCH", events_path(event.namespace_name) + "/" + event.event_name,
                                          patch.dump(), "application/merge-patch+json");
    if (response.status == 200) return;
    if (response.status != 404) fail(response, "PATCH");
  }
  const auto response = client_.post(
      events_path(event.namespace_name),
      event_body(event, now, kReportingController, reporting_instance_, api_version_of_(event.object_kind)));
  // 409: an earlier try was written although its answer was lost.
  if (response.status != 201 && response.status != 200 && response.status != 409) fail(response, "POST");
}

}  // namespace cdcguard::kube
