#include "cli/report_formats.hpp"

#include <cctype>
#include <nlohmann/json.hpp>

#include "cdcguard/model/display_text.hpp"

namespace cdcguard::cli {
namespace {

std::string plural(std::size_t n, std::string_view word) {
  return std::to_string(n) + " " + std::string(word) + (n == 1 ? "" : "s");
}

nlohmann::ordered_json summary_json(const CheckReport& r, std::size_t files) {
  return {{"files", files},
          {"connectors", r.summary.connectors},
          {"connectClusters", r.summary.connect_clusters},
          {"errors", r.summary.errors},
          {"warnings", r.summary.warnings},
          {"exempted", r.summary.exempted}};
}

}  // namespace

std::optional<OutputFormat> parse_output_format(std::string_view name) {
  if (name == "text") return OutputFormat::Text;
  if (name == "json") return OutputFormat::Json;
  if (name == "sarif") return OutputFormat::Sarif;
  if (name == "junit") return OutputFormat::Junit;
  if (name == "github") return OutputFormat::Github;
  return std::nullopt;
}

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

std::string object_name(std::string_view kind, std::string_view subject) {
  std::string name;
  for (const char c : kind) name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!name.empty()) name += '/';
  name += subject;
  return name;
}

std::string summary_line(const CheckSummary& summary, std::size_t files, ReportSource source) {
  std::string line = "checked " + plural(summary.connectors, "connector") + " and " +
                     plural(summary.connect_clusters, "KafkaConnect");
  line += source == ReportSource::Files ? " in " + plural(files, "file") : std::string(" in the cluster");
  line += ": " + plural(summary.errors, "error") + ", " + plural(summary.warnings, "warning");
  if (summary.exempted > 0) line += ", " + std::to_string(summary.exempted) + " exempted";
  return line;
}

std::string finding_fingerprint(const Violation& v) {
  // FNV-1a, 64 bits: the same everywhere, unlike std::hash. Fields joined
  // with NUL, which none of them holds, so ("a", "bc") and ("ab", "c") differ.
  std::uint64_t hash = 14695981039346656037ULL;
  const auto mix_byte = [&](unsigned char c) {
    hash ^= c;
    hash *= 1099511628211ULL;
  };
  const auto mix = [&](std::string_view field) {
    for (const char c : field) mix_byte(static_cast<unsigned char>(c));
    mix_byte(0);
  };
  mix(v.rule);
  mix(v.subject_kind);
  mix(v.subject);
  mix(v.path);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, hash >>= 4) out[static_cast<std::size_t>(i)] = kHex[hash & 0xfu];
  return out;
}

void write_json(const CheckReport& report, const std::vector<InputError>& input_errors, std::size_t files,
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

void write_text(const CheckReport& report, const std::vector<InputError>& input_errors, std::size_t files,
                const ReportContext& context, std::ostream& out, std::ostream& err) {
  // Names, paths and values come from the inputs: escaped, so a manifest can
  // neither drive the terminal nor forge or split a line.
  for (const auto& e : input_errors) {
    if (!e.file.empty()) {
      err << escape_for_display(e.file);
      if (e.line > 0) err << ":" << e.line;
      err << ": ";
    }
    err << "error: " << escape_for_display(e.message) << "\n";
  }
  for (const auto& v : report.violations) {
    // An object from a cluster has no file: the object is where to look.
    if (v.location.file.empty()) {
      out << escape_for_display(object_name(v.subject_kind, v.subject));
    } else {
      out << escape_for_display(v.location.file) << ":" << v.location.line;
    }
    out << ": " << to_string(severity_of(v.action)) << ": [" << v.rule << "] "
        << escape_for_display(v.subject) << " " << escape_for_display(v.path) << ": "
        << escape_for_display(v.message);
    if (v.action == Action::Audit) out << " (audit)";
    out << "\n";
  }
  out << summary_line(report.summary, files, context.source) << "\n";
}

void write_report(OutputFormat format, const CheckReport& report, const std::vector<InputError>& input_errors,
                  std::size_t files, const ReportContext& context, std::ostream& out, std::ostream& err) {
  switch (format) {
    case OutputFormat::Text:
      write_text(report, input_errors, files, context, out, err);
      return;
    case OutputFormat::Json:
      write_json(report, input_errors, files, out);
      return;
    case OutputFormat::Sarif:
      write_sarif(report, input_errors, context, out);
      return;
    case OutputFormat::Junit:
      write_junit(report, input_errors, context, out);
      return;
    case OutputFormat::Github:
      write_github(report, input_errors, files, context, out);
      return;
  }
}

}  // namespace cdcguard::cli
