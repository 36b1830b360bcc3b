#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "cdcguard/model/yaml_document.hpp"

// admission.k8s.io/v1 AdmissionReview <-> plain structs, and the JSONPatch the
// mutating webhook returns. Pure: no sockets, no clock.
namespace cdcguard::admission {

struct GroupVersionKind {
  std::string group;
  std::string version;
  std::string kind;
};

struct Request {
  std::string uid;
  GroupVersionKind kind;
  std::string operation;  // CREATE, UPDATE, DELETE, CONNECT
  std::string namespace_name;
  std::string name;
  bool dry_run = false;
  std::string username;
  // The objects as the model reads them (yaml_from_json's tree: every scalar is
  // text), holding only what the rules read: apiVersion, kind, metadata name,
  // namespace, generateName, uid and the strimzi.io/cluster label, spec class,
  // the KafkaConnect topic fields and the spec.config keys is_rule_config_key()
  // names; an object or list elsewhere in those places is kept as an empty one.
  // A null node when absent (oldObject on CREATE, object on DELETE).
  YamlNode object = YamlNode::make_null(0);
  YamlNode old_object = YamlNode::make_null(0);
};

// Why a body is not a usable AdmissionReview. `uid` is set when the envelope was
// readable, so the answer can be an AdmissionReview denial rather than a 400.
struct ParseError {
  int http_status = 400;
  std::string message;
  std::optional<std::string> uid;
};

// Bodies nested deeper than this are refused (Kubernetes objects nest a dozen
// levels).
inline constexpr std::size_t kMaxNestingDepth = 128;
//
// Parsing costs the body plus a few dozen nodes, whatever the body holds:
// nothing outside the fields above is converted.
std::variant<Request, ParseError> parse_review(std::string_view body);
// The same with nlohmann::json alone: what parse_review falls back to for
// anything its fast parser refuses, and what the fuzzer compares it with.
std::variant<Request, ParseError> parse_review_reference(std::string_view body);

struct Response {
  std::string uid;
  bool allowed = true;
  int code = 200;       // status.code when denied (403)
  std::string message;  // status.message when denied
  std::vector<std::string> warnings;
  std::string patch;  // a JSONPatch document (JSON text); empty for none
  // Not sent: the rule ids behind the denial and the warnings, for logs and metrics.
  std::vector<std::string> denied_by;
  std::vector<std::string> warned_by;
};

// {"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{...}};
// the patch is base64-encoded with patchType JSONPatch. Warnings longer than
// kMaxWarningLength are cut (the API server truncates them anyway).
nlohmann::json to_review(const Response& response);
// to_review(response) as JSON text, byte for byte; the common answer (allowed,
// no warnings, no patch) is written without building a document.
std::string to_review_text(const Response& response);
inline constexpr std::size_t kMaxWarningLength = 120;

// The object as the model's parsers read it: every scalar becomes text (Strimzi
// passes config values on as strings), no lines.
YamlNode yaml_from_json(const nlohmann::json& value);

// "~" -> "~0", "/" -> "~1" (RFC 6901).
std::string json_pointer_escape(std::string_view key);

// The JSONPatch that sets spec.config.database.server.id to `server_id` (as a
// string) and, when given, a missing schema history topic under `history_key`
// (the name of the connector's Debezium generation). Adds /spec and
// /spec/config first when they are absent; touches nothing else.
nlohmann::json server_id_patch(const YamlNode& object, std::uint32_t server_id,
                               const std::optional<std::string>& history_topic,
                               std::string_view history_key = "schema.history.internal.kafka.topic");

std::string base64_encode(std::string_view bytes);

}  // namespace cdcguard::admission
