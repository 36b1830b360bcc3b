// JUnit XML, as GitLab (artifacts:reports:junit), Jenkins and other CI test
// report views read it: tests/consumers/ validates it against the Jenkins
// xUnit plugin's junit-10.xsd.
#include <map>
#include <utility>

#include "cdcguard/model/display_text.hpp"
#include "cli/report_formats.hpp"

namespace cdcguard::cli {
namespace {

// One <testcase>: an object, with what was found about it.
struct ObjectCase {
  std::string kind;
  std::string subject;
  SourceLocation location;
  std::vector<const Violation*> failures;  // deny level
  std::vector<const Violation*> warnings;  // warn and audit
};

// "ns/name" -> "ns"
std::string_view namespace_of(std::string_view subject) {
  return subject.substr(0, subject.find('/'));
}

// Where a finding is: "file:line", or the object itself when it came from a cluster.
std::string where(const std::string& kind, const std::string& subject, const SourceLocation& location) {
  if (location.file.empty()) return object_name(kind, subject);
  return location.file + (location.line > 0 ? ":" + std::to_string(location.line) : "");
}

// Every object checked, in the report's order, then any object that only a
// violation names (a report put together by hand may list none).
std::vector<ObjectCase> object_cases(const CheckReport& report) {
  std::vector<ObjectCase> cases;
  std::map<std::pair<std::string, std::string>, std::size_t> index;
  for (const auto& o : report.checked) {
    if (index.emplace(std::pair(o.kind, o.subject), cases.size()).second) {
      cases.push_back({o.kind, o.subject, o.location, {}, {}});
    }
  }
  for (const auto& v : report.violations) {
    auto [it, fresh] = index.emplace(std::pair(v.subject_kind, v.subject), cases.size());
    if (fresh) cases.push_back({v.subject_kind, v.subject, {v.location.file, 0}, {}, {}});
    auto& c = cases[it->second];
    (v.action == Action::Deny ? c.failures : c.warnings).push_back(&v);
  }
  return cases;
}

void write_object_case(const ObjectCase& c, std::ostream& out) {
  // classname groups the cases: by file for manifests, by namespace for a cluster.
  const std::string classname =
      c.location.file.empty() ? std::string(namespace_of(c.subject)) : c.location.file;
  out << "    <testcase classname=\"" << xml_attribute(classname) << "\" name=\""
      << xml_attribute(object_name(c.kind, c.subject)) << "\"";
  if (c.failures.empty() && c.warnings.empty()) {
    out << "/>\n";
    return;
  }
  out << ">\n";
  for (const Violation* v : c.failures) {
    const std::string body = where(v->subject_kind, v->subject, v->location) + ": " + v->path + ": " +
                             v->message + "\nfix: " + v->fix;
    out << "      <failure message=\"" << xml_attribute(v->message) << "\" type=\"" << xml_attribute(v->rule)
        << "\">" << xml_text(body) << "</failure>\n";
  }
  if (!c.warnings.empty()) {
    std::string lines;
    for (const Violation* v : c.warnings) {
      lines += where(v->subject_kind, v->subject, v->location) + ": warning: [" + v->rule + "] " + v->path +
               ": " + v->message + (v->action == Action::Audit ? " (audit)" : "") + "\n";
    }
    out << "      <system-out>" << xml_text(lines) << "</system-out>\n";
  }
  out << "    </testcase>\n";
}

void write_input_error_case(const InputError& e, std::ostream& out) {
  const std::string at =
      e.file.empty() ? std::string("input") : e.file + (e.line > 0 ? ":" + std::to_string(e.line) : "");
  out << "    <testcase classname=\"" << xml_attribute(e.file.empty() ? "input" : e.file) << "\" name=\""
      << xml_attribute(at) << "\">\n"
      << "      <error message=\"" << xml_attribute(e.message) << "\" type=\"input-error\">"
      << xml_text(at + ": " + e.message) << "</error>\n"
      << "    </testcase>\n";
}

}  // namespace

void write_junit(const CheckReport& report, const std::vector<InputError>& input_errors,
                 const ReportContext& context, std::ostream& out) {
  const auto cases = object_cases(report);
  std::size_t failed = 0;
  for (const auto& c : cases) failed += c.failures.empty() ? 0 : 1;
  // JUnit counts test cases: `failures` of them failed, `errors` could not run.
  const std::string counts = "tests=\"" + std::to_string(cases.size() + input_errors.size()) +
                             "\" failures=\"" + std::to_string(failed) + "\" errors=\"" +
                             std::to_string(input_errors.size()) + "\"";
  const std::string suite = "cdc-guard " + std::string(context.command);
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<testsuites name=\"" << xml_attribute(suite) << "\" " << counts << ">\n"
      << "  <testsuite name=\"" << xml_attribute(suite) << "\" " << counts << " skipped=\"0\">\n";
  for (const auto& c : cases) write_object_case(c, out);
  for (const auto& e : input_errors) write_input_error_case(e, out);
  out << "  </testsuite>\n</testsuites>\n";
}

namespace {

// Appends the code point `cp` as UTF-8.
void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

std::string xml_escape(std::string_view text, bool attribute) {
  constexpr std::uint32_t kReplacement = 0xfffd;
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      switch (c) {
        case '&':
          out += "&amp;";
          break;
        case '<':
          out += "&lt;";
          break;
        case '>':  // always: keeps "]]>" out of text
          out += "&gt;";
          break;
        case '"':
          out += attribute ? "&quot;" : "\"";
          break;
        case '\'':
          out += attribute ? "&apos;" : "'";
          break;
        // An attribute's tab and newlines become spaces when parsed, and a CR
        // anywhere becomes LF, unless written as references.
        case '\t':
          out += attribute ? "&#9;" : "\t";
          break;
        case '\n':
          out += attribute ? "&#10;" : "\n";
          break;
        case '\r':
          out += "&#13;";
          break;
        default:
          if (c >= 0x20) out += static_cast<char>(c);  // other C0 controls: not XML 1.0 characters
      }
      continue;
    }
    std::uint32_t cp = 0;
    const std::size_t length = display_text_detail::utf8_sequence(text.substr(i), cp);
    if (length == 0) {
      append_utf8(out, kReplacement);
      ++i;
      continue;
    }
    if (cp != 0xfffe && cp != 0xffff) out.append(text.substr(i, length));
    i += length;
  }
  return out;
}

}  // namespace

std::string xml_text(std::string_view text) {
  return xml_escape(text, false);
}

std::string xml_attribute(std::string_view text) {
  return xml_escape(text, true);
}

}  // namespace cdcguard::cli
