#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "cdcguard/policy/check.hpp"
#include "cdcguard/version.hpp"

// The reports of `check` (and of any command that judges a set of objects
// with the same engine): text, JSON, SARIF 2.1.0, JUnit XML and GitHub Actions
// workflow commands. Pure: a report in, bytes out; the command picks the format.
namespace cdcguard::cli {

enum class OutputFormat { Text, Json, Sarif, Junit, Github };
inline constexpr std::string_view kOutputFormatNames = "text|json|sarif|junit|github";
// "sarif" -> Sarif; nullopt for a name not in kOutputFormatNames.
std::optional<OutputFormat> parse_output_format(std::string_view name);

// What kept the inputs from being checked (exit code 2): an unreadable file, a
// YAML syntax error, an invalid registry, an object defined twice.
struct InputError {
  std::string file;  // "" when there is none
  int line = 0;      // 0 when unknown
  std::string message;
};
// "file:12: message" -> {file, 12, message}; "file: message" -> {file, 0, message}.
InputError split_problem(const std::string& problem);

// Where the objects judged came from: files (check), or a live cluster
// (audit), whose violations have no file and name the object only.
enum class ReportSource { Files, Cluster };

struct ReportContext {
  std::string_view command = "check";         // the JUnit suite is "cdc-guard <command>"
  std::string_view tool_version = kVersion;   // SARIF tool.driver.version
  ReportSource source = ReportSource::Files;  // Cluster: the summary names no file count
};

// Writes `report` in `format`. `files` is the number of files read (the
// summaries count them). Text output sends input errors to `err`, the other
// formats put everything in `out`. Exit codes are the caller's.
void write_report(OutputFormat format, const CheckReport& report, const std::vector<InputError>& input_errors,
                  std::size_t files, const ReportContext& context, std::ostream& out, std::ostream& err);

// The formats one by one (write_report picks among them).
// file:line: error: [rule-id] namespace/name field.path: message
void write_text(const CheckReport& report, const std::vector<InputError>& input_errors, std::size_t files,
                const ReportContext& context, std::ostream& out, std::ostream& err);
// {"violations": [...], "summary": {...}, "errors": [...]}, ASCII only.
void write_json(const CheckReport& report, const std::vector<InputError>& input_errors, std::size_t files,
                std::ostream& out);
// SARIF 2.1.0: one run, every rule with its docs/rules.md help, one result per violation.
void write_sarif(const CheckReport& report, const std::vector<InputError>& input_errors,
                 const ReportContext& context, std::ostream& out);
// JUnit XML: one test case per object checked, a failure per deny-level violation.
void write_junit(const CheckReport& report, const std::vector<InputError>& input_errors,
                 const ReportContext& context, std::ostream& out);
// ::error file=F,line=L,title=RULE::message per finding, then the summary line.
void write_github(const CheckReport& report, const std::vector<InputError>& input_errors, std::size_t files,
                  const ReportContext& context, std::ostream& out);

// ---------------------------------------------------------------------------
// Building blocks, shared by the formats and tested on their own.

// An object as kubectl names it: ("KafkaConnector", "ns/name") -> "kafkaconnector/ns/name".
std::string object_name(std::string_view kind, std::string_view subject);

// "checked 5 connectors and 1 KafkaConnect in 4 files: 4 errors, 2 warnings"
std::string summary_line(const CheckSummary& summary, std::size_t files, ReportSource source);

// Stable across runs, machines and line moves: the same finding (rule, object,
// field) keeps its fingerprint, so code scanning tracks one alert.
std::string finding_fingerprint(const Violation& v);

// A file name as a SARIF artifactLocation.uri (RFC 3986): relative paths stay
// relative (leading "./" dropped, every byte outside unreserved and '/'
// percent-encoded); absolute ones become file:// URIs.
struct ArtifactUri {
  std::string uri;
  bool relative = true;  // then uriBaseId is %SRCROOT%
};
ArtifactUri artifact_uri(std::string_view path);

// XML 1.0 character data and attribute values: &<>"' as entities; tab, LF and
// CR kept (as character references in attributes, and CR in text, so parsers
// do not normalise them away); other C0 controls, U+FFFE and U+FFFF dropped
// (XML 1.0 cannot hold them); bytes that are not UTF-8 become U+FFFD.
std::string xml_text(std::string_view text);
std::string xml_attribute(std::string_view text);

// GitHub Actions workflow-command escaping. Data (the message): % CR LF as
// %25 %0D %0A. Property values (file, title): also : and , as %3A and %2C.
// Other C0 controls and DEL are shown as %XX (the runner leaves them as
// typed), so a finding stays one line and cannot drive the log viewer.
std::string workflow_data(std::string_view text);
std::string workflow_property(std::string_view text);

}  // namespace cdcguard::cli
