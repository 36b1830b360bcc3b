#include "cdcguard/model/display_text.hpp"
#include "cdcguard/model/manifest.hpp"
#include "cdcguard/model/registry_parser.hpp"
#include "cdcguard/policy/check.hpp"
#include "cli/commands.hpp"
#include "cli/file_inputs.hpp"
#include "cli/report_formats.hpp"

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
  --output FORMAT      text|json|sarif|junit|github: what stdout gets (default: text)
                         text    file:line: error: [rule-id] message, one line per
                                 finding, then a summary; input errors on stderr
                         json    violations, summary and errors as one JSON document
                         sarif   SARIF 2.1.0 for code scanning (GitHub: upload-sarif),
                                 with every rule's help from docs/rules.md
                         junit   JUnit XML for CI test reports (GitLab:
                                 artifacts:reports:junit): a test case per object
                         github  GitHub Actions ::error/::warning annotations, then
                                 the summary
  -h, --help           this help

Text output escapes control characters from the inputs (\x1b, \n, \u2028, ...).

Exit codes: 0 nothing at deny level, 1 deny-level violations, 2 usage, read, parse or registry errors.
)";

}  // namespace

int run_check(const std::vector<std::string>& args, Streams io) {
  ParsedArgs parsed;
  TimePoint now;
  OutputFormat format = OutputFormat::Text;
  try {
    parsed = parse_args(args, {"--registry", "--namespace", "--now", "--output"});
    if (parsed.help) {
      io.out << kCheckHelp;
      return kExitOk;
    }
    now = resolve_now(parsed);
    const auto chosen =
        parse_output_format(parsed.flags.contains("--output") ? parsed.flags["--output"] : "text");
    if (!chosen) throw UsageError("--output must be one of " + std::string(kOutputFormatNames));
    format = *chosen;
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
      // The other formats are read by machines: they get the problems too.
      if (format != OutputFormat::Text) {
        std::vector<InputError> errors;
        for (const auto& p : e.problems()) errors.push_back(split_problem(p));
        write_report(format, CheckReport{}, errors, 0, ReportContext{}, io.out, io.err);
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

  write_report(format, report, input_errors, files.size(), ReportContext{}, io.out, io.err);
  if (!input_errors.empty()) return kExitUsage;
  return report.has_errors() ? kExitViolations : kExitOk;
}

}  // namespace cdcguard::cli
