// GitHub Actions workflow commands: the runner turns each "::error ...::" line
// of a step's output into an annotation on the pull request.
#include "cli/report_formats.hpp"

namespace cdcguard::cli {
namespace {

constexpr std::string_view kStdinName = "<stdin>";

void append_percent(std::string& out, unsigned char c) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  out += '%';
  out += kHex[c >> 4];
  out += kHex[c & 0xfu];
}

std::string workflow_escape(std::string_view text, bool property) {
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '%' || c < 0x20 || c == 0x7f || (property && (c == ':' || c == ','))) {
      append_percent(out, c);
    } else {
      out += ch;
    }
  }
  return out;
}

// "::error file=F,line=L,title=T::message"; file and line only when the
// finding has a file the runner can annotate (not stdin, not a cluster object).
void write_command(std::ostream& out, std::string_view level, const std::string& file, int line,
                   std::string_view title, std::string message) {
  const bool annotates_file = !file.empty() && file != kStdinName;
  if (!annotates_file && !file.empty()) {
    message = file + (line > 0 ? ":" + std::to_string(line) : "") + ": " + message;
  }
  out << "::" << level << " ";
  if (annotates_file) {
    out << "file=" << workflow_property(file) << ",";
    if (line > 0) out << "line=" << line << ",";
  }
  out << "title=" << workflow_property(title) << "::" << workflow_data(message) << "\n";
}

}  // namespace

std::string workflow_data(std::string_view text) {
  return workflow_escape(text, false);
}

std::string workflow_property(std::string_view text) {
  return workflow_escape(text, true);
}

void write_github(const CheckReport& report, const std::vector<InputError>& input_errors, std::size_t files,
                  const ReportContext& context, std::ostream& out) {
  for (const auto& e : input_errors) write_command(out, "error", e.file, e.line, "input error", e.message);
  for (const auto& v : report.violations) {
    // The object leads the message: an annotation shows only its line, and a
    // finding without a file has nothing else to name it.
    std::string message = object_name(v.subject_kind, v.subject) + " " + v.path + ": " + v.message;
    if (v.action == Action::Audit) message += " (audit)";
    const char* level = severity_of(v.action) == Severity::Error ? "error" : "warning";
    write_command(out, level, v.location.file, v.location.line, v.rule, std::move(message));
  }
  out << summary_line(report.summary, files, context.source) << "\n";
}

}  // namespace cdcguard::cli
