// SARIF 2.1.0 (OASIS), as GitHub code scanning and other SARIF viewers read
// it: tests/consumers/ validates it against the official schema.
#include <nlohmann/json.hpp>

#include "cdcguard/model/rule_ids.hpp"
#include "cli/report_formats.hpp"
#include "cli/rule_docs.hpp"

namespace cdcguard::cli {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::string_view kSarifSchema = "https://json.schemastore.org/sarif-2.1.0.json";
// A key of our own in partialFingerprints; "/v1" so a change of what it hashes
// can be a new key instead of silently moving every alert.
constexpr std::string_view kFingerprintKey = "cdcGuardFinding/v1";
// stdin has no path a viewer could open.
constexpr std::string_view kStdinName = "<stdin>";

const char* sarif_level(Action action) {
  return severity_of(action) == Severity::Error ? "error" : "warning";
}

Json rule_descriptor(std::string_view id) {
  Json rule{{"id", id}};
  if (const RuleDoc* doc = find_rule_doc(id)) {
    rule["shortDescription"] = {{"text", doc->summary}};
    rule["fullDescription"] = {{"text", doc->description}};
    rule["help"] = {{"text", doc->text}, {"markdown", doc->markdown}};
    rule["helpUri"] = std::string(kRulesDocUri) + "#" + doc->anchor;
  } else {
    // report_formats_test fails first; a report is still better than none.
    rule["shortDescription"] = {{"text", id}};
    rule["helpUri"] = std::string(kRulesDocUri);
  }
  // Every rule denies unless the registry's rules.enforcement says otherwise.
  rule["defaultConfiguration"] = {{"level", "error"}};
  return rule;
}

// nullopt when there is no file a viewer could open (a cluster object, stdin).
std::optional<Json> physical_location(const std::string& file, int line) {
  if (file.empty() || file == kStdinName) return std::nullopt;
  const ArtifactUri artifact = artifact_uri(file);
  Json location{{"artifactLocation", {{"uri", artifact.uri}}}};
  if (artifact.relative) location["artifactLocation"]["uriBaseId"] = "%SRCROOT%";
  if (line > 0) location["region"] = {{"startLine", line}};
  return location;
}

Json logical_location(std::string_view kind, std::string_view subject) {
  const std::string name = object_name(kind, subject);
  return {{"name", name}, {"fullyQualifiedName", name}, {"kind", "resource"}};
}

Json object_location(std::string_view kind, std::string_view subject, const SourceLocation& where) {
  Json location = Json::object();
  if (auto physical = physical_location(where.file, where.line)) location["physicalLocation"] = *physical;
  location["logicalLocations"] = Json::array({logical_location(kind, subject)});
  return location;
}

const CheckedObject* find_checked(const CheckReport& report, std::string_view kind,
                                  std::string_view subject) {
  for (const auto& o : report.checked) {
    if (o.kind == kind && o.subject == subject) return &o;
  }
  return nullptr;
}

Json result(const Violation& v, const CheckReport& report) {
  Json r{{"ruleId", v.rule}};
  const auto ids = rule::all();
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] == v.rule) r["ruleIndex"] = i;
  }
  r["level"] = sarif_level(v.action);
  std::string text = v.subject + " " + v.path + ": " + v.message;
  if (v.action == Action::Audit) text += " (audit)";
  r["message"] = {{"text", text}};
  r["locations"] = Json::array({object_location(v.subject_kind, v.subject, v.location)});
  if (!v.other.empty()) {
    // The other party is of the subject's kind: a connector's rival is a connector.
    const CheckedObject* other = find_checked(report, v.subject_kind, v.other);
    Json related = object_location(v.subject_kind, v.other, other ? other->location : SourceLocation{});
    related["id"] = 1;
    related["message"] = {{"text", object_name(v.subject_kind, v.other)}};
    r["relatedLocations"] = Json::array({std::move(related)});
  }
  r["partialFingerprints"] = {{kFingerprintKey, finding_fingerprint(v)}};
  r["properties"] = {{"action", std::string(to_string(v.action))}, {"path", v.path}, {"fix", v.fix}};
  return r;
}

Json notification(const InputError& e) {
  Json n{{"level", "error"}};
  auto physical = physical_location(e.file, e.line);
  std::string text = e.message;
  if (!physical && !e.file.empty())
    text = e.file + (e.line > 0 ? ":" + std::to_string(e.line) : "") + ": " + text;
  n["message"] = {{"text", text}};
  if (physical) n["locations"] = Json::array({Json{{"physicalLocation", *physical}}});
  return n;
}

}  // namespace

ArtifactUri artifact_uri(std::string_view path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  ArtifactUri artifact;
  if (path.starts_with('/')) {
    artifact.relative = false;
    artifact.uri = "file://";
  } else {
    // "./a.yaml" and "a.yaml" are one file to a viewer that resolves against the repository root.
    while (path.starts_with("./")) {
      path.remove_prefix(2);
      while (path.starts_with('/')) path.remove_prefix(1);
    }
  }
  for (const char c : path) {
    const auto u = static_cast<unsigned char>(c);
    const bool unreserved = (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') ||
                            c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved || c == '/') {
      artifact.uri += c;
    } else {
      artifact.uri += '%';
      artifact.uri += kHex[u >> 4];
      artifact.uri += kHex[u & 0xfu];
    }
  }
  return artifact;
}

void write_sarif(const CheckReport& report, const std::vector<InputError>& input_errors,
                 const ReportContext& context, std::ostream& out) {
  Json rules = Json::array();
  for (const auto id : rule::all()) rules.push_back(rule_descriptor(id));
  Json driver{{"name", "cdc-guard"}};
  if (!context.tool_version.empty()) {
    driver["version"] = context.tool_version;
    driver["semanticVersion"] = context.tool_version;
  }
  driver["informationUri"] = kProjectUri;
  driver["rules"] = std::move(rules);

  Json results = Json::array();
  for (const auto& v : report.violations) results.push_back(result(v, report));

  Json invocation{{"executionSuccessful", input_errors.empty()}};
  if (!input_errors.empty()) {
    Json notifications = Json::array();
    for (const auto& e : input_errors) notifications.push_back(notification(e));
    invocation["toolExecutionNotifications"] = std::move(notifications);
  }

  Json run{{"tool", {{"driver", std::move(driver)}}},
           {"invocations", Json::array({std::move(invocation)})},
           {"results", std::move(results)}};
  Json log{{"$schema", kSarifSchema}, {"version", "2.1.0"}, {"runs", Json::array({std::move(run)})}};
  out << log.dump(2, ' ', true, Json::error_handler_t::replace) << "\n";
}

}  // namespace cdcguard::cli
