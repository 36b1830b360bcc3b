#include <nlohmann/json.hpp>

#include "cdcguard/model/display_text.hpp"
#include "cdcguard/model/manifest.hpp"
#include "cdcguard/model/registry_parser.hpp"
#include "cdcguard/policy/check.hpp"
#include "cli/commands.hpp"
#include "cli/file_inputs.hpp"

namespace cdcguard::cli {
namespace {

constexpr const char* kCheckHelp = R"(Usage: cdc-guard check [options] PATH...

Checks every Strimzi KafkaConnector (kafka.strimzi.io/v1, v1beta2) and KafkaConnect
found in PATH against each other and the registry: server ids, topic prefixes,
schema history topics, Connect group ids and storage topics.

PATH is a file, a directory (recursive: *.yaml, *.yml, *.json; hidden entries
skipped, symlinked directories followed) or - for stdin. Files may hold several
YAML documents, JSON, or a kind: List. What cannot be read is an error: an
unreadable file, a directory that cannot be listed, and in a directory a
dangling or looping symlink, a FIFO or a device with a manifest name.

Options:
  --registry FILE      registry YAML, or a ConfigMap manifest with data.registry.yaml
                       (default: range 184000-184999, 30-day embargo, no entries)
  --namespace NS       namespace for objects without one (default: default)
  --now TIME           evaluate as of this RFC 3339 time or date (default: now)
  --output text|json   text: file:line: error: [rule-id] message (default)
  -h, --help           this help

Text output escapes control characters from the inputs (\x1b, \n, \u2028, ...).

Exit codes: 0 nothing at deny level, 1 deny-level violations, 2 usage, read, parse or registry errors.
)";

struct InputError {
  std::string file;
  int line = 0;
  std::string message;
};

// "file:12: message" -> {file, 12, message}; anything else is all message.
InputError split_problem(const std::string& problem) {
  for (std::size_t colon = problem.find(':'); colon != std::string::npos;
       colon = problem.find(':', colon + 1)) {
    std::size_t end = colon + 1;
    while (end < problem.size() && problem[end] >= '0' && problem[end] <= '9') ++end;
    if (end > colon + 1 && end - colon <= 10 && problem.compare(end, 2, ": ") == 0) {
      return {problem.substr(0, colon), std::stoi(problem.substr(colon + 1, end - colon - 1)),
              problem.substr(end + 2)};
    }
  }
  const auto colon = problem.find(": ");
  if (colon == std::string::npos) return {"", 0, problem};
  return {problem.substr(0, colon), 0, problem.substr(colon + 2)};
}

nlohmann::ordered_json summary_json(const CheckReport& r, std::size_t files) {
  return {{"files", files},
          {"connectors", r.summary.connectors},
          {"connectClusters", r.summary.connect_clusters},
          {"errors", r.summary.errors},
          {"warnings", r.summary.warnings},
          {"exempted", r.summary.exempted}};
}

void print_json(const CheckReport& report, const std::vector<InputError>& input_errors, std::size_t files,
                std::ostream& out) {
  nlohmann::ordered_json violations = nlohmann::ordered_json::array();
  for (const auto& v : report.violations) {
    violations.push_back({{"rule", v.rule},
                          {"severity", to_string(severity_of(v.action))},
                          {"action", std::string(to_string(v.action))},
                          {"connector", v.subject},
                          {"kind", v.subject_kind},
                          {"path", v.path},
                          {"message", v.message},
                          {"other", v.other},
                          {"fix", v.fix},
                          {"file", v.location.file},
                          {"line", v.location.line}});
  }
  nlohmann::ordered_json doc{{"violations", std::move(violations)}, {"summary", summary_json(report, files)}};
  if (!input_errors.empty()) {
    nlohmann::ordered_json errors = nlohmann::ordered_json::array();
    for (const auto& e : input_errors)
      errors.push_back({{"file", e.file}, {"line", e.line}, {"message", e.message}});
    doc["errors"] = std::move(errors);
  }
  // ASCII only: DEL, C1 controls and bidi overrides are escaped too (JSON itself
  // escapes only C0), so the report is safe to cat; the values parse back the same.
  out << doc.dump(2, ' ', true, nlohmann::ordered_json::error_handler_t::replace) << "\n";
}

void print_text(const CheckReport& report, const std::vector<InputError>& input_errors, std::size_t files,
                std::ostream& out, std::ostream& err) {
  // Names, paths and values come from the inputs: escaped, so a manifest can
  // neither drive the terminal nor forge or split a line.
  for (const auto& e : input_errors) {
    err << escape_for_display(e.file);
    if (e.line > 0) err << ":" << e.line;
    err << ": error: " << escape_for_display(e.message) << "\n";
  }
  for (const auto& v : report.violations) {
    out << escape_for_display(v.location.file) << ":" << v.location.line << ": "
        << to_string(severity_of(v.action)) << ": [" << v.rule << "] " << escape_for_display(v.subject) << " "
        << escape_for_display(v.path) << ": " << escape_for_display(v.message);
    if (v.action == Action::Audit) out << " (audit)";
    out << "\n";
  }
  out << "checked " << report.summary.connectors << " connector"
      << (report.summary.connectors == 1 ? "" : "s") << " and " << report.summary.connect_clusters
      << " KafkaConnect" << (report.summary.connect_clusters == 1 ? "" : "s") << " in " << files << " file"
      << (files == 1 ? "" : "s") << ": " << report.summary.errors << " error"
      << (report.summary.errors == 1 ? "" : "s") << ", " << report.summary.warnings << " warning"
      << (report.summary.warnings == 1 ? "" : "s");
  if (report.summary.exempted > 0) out << ", " << report.summary.exempted << " exempted";
  out << "\n";
}

}  // namespace

int run_check(const std::vector<std::string>& args, Streams io) {
  ParsedArgs parsed;
  TimePoint now;
  std::string output;
  try {
    parsed = parse_args(args, {"--registry", "--namespace", "--now", "--output"});
    if (parsed.help) {
      io.out << kCheckHelp;
      return kExitOk;
    }
    now = resolve_now(parsed);
    output = parsed.flags.contains("--output") ? parsed.flags["--output"] : "text";
    if (output != "text" && output != "json") throw UsageError("--output must be text or json");
    if (parsed.positional.empty())
      throw UsageError("give at least one PATH (a file, a directory, or - for stdin)");
    if (parsed.flags.contains("--namespace") && parsed.flags["--namespace"].empty()) {
      throw UsageError("--namespace must not be empty");
    }
  } catch (const UsageError& e) {
    io.err << "cdc-guard check: " << e.what() << "\n\n" << kCheckHelp;
    return kExitUsage;
  }

  Registry registry;
  if (parsed.flags.contains("--registry")) {
    try {
      registry = load_registry_file(parsed.flags["--registry"]);
    } catch (const RegistryError& e) {
      for (const auto& p : e.problems()) io.err << escape_for_display(p) << "\n";
      io.err << "cdc-guard check: the registry is not valid; nothing was checked\n";
      if (output == "json") {
        std::vector<InputError> errors;
        for (const auto& p : e.problems()) errors.push_back(split_problem(p));
        print_json(CheckReport{}, errors, 0, io.out);
      }
      return kExitUsage;
    }
  }
  const std::string default_namespace =
      parsed.flags.contains("--namespace") ? parsed.flags["--namespace"] : std::string("default");

  std::vector<InputError> input_errors;
  std::vector<InputProblem> problems;
  const auto files = expand_inputs(parsed.positional, problems);
  for (const auto& p : problems) input_errors.push_back({p.path, 0, p.message});
  ManifestSet manifests;
  for (const auto& path : files) {
    std::string error;
    auto input = read_input(path, io.in, error);
    if (!input) {
      input_errors.push_back({path == "-" ? "<stdin>" : path, 0, error});
      continue;
    }
    parse_manifests(input->text, input->name, default_namespace, manifests);
  }
  for (const auto& e : manifests.errors)
    input_errors.push_back({e.location.file, e.location.line, e.message});

  const CheckReport report = check_manifests(std::move(manifests), registry, now);
  for (const auto& e : report.input_errors)
    input_errors.push_back({e.location.file, e.location.line, e.message});

  if (output == "json") {
    print_json(report, input_errors, files.size(), io.out);
  } else {
    print_text(report, input_errors, files.size(), io.out, io.err);
  }
  if (!input_errors.empty()) return kExitUsage;
  return report.has_errors() ? kExitViolations : kExitOk;
}

}  // namespace cdcguard::cli
