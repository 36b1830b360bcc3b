#include "cli/rule_docs.hpp"

#include <cctype>

#include "cdcguard/rules_markdown.hpp"

namespace cdcguard::cli {
namespace {

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const auto end = text.find('\n');
    lines.push_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return lines;
}

bool is_blank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

bool is_fence(std::string_view line) {
  return line.starts_with("```");
}

// "### `server-id-missing`" -> "server-id-missing"; "" for any other line.
std::string_view rule_heading(std::string_view line) {
  constexpr std::string_view kOpen = "### `";
  if (!line.starts_with(kOpen)) return {};
  line.remove_prefix(kOpen.size());
  while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.remove_suffix(1);
  if (line.size() < 2 || line.back() != '`') return {};
  line.remove_suffix(1);
  return line.find('`') == std::string_view::npos ? line : std::string_view{};
}

// GitHub's heading anchors: lower case, spaces to '-', punctuation but '-' and '_' dropped.
std::string github_anchor(std::string_view heading) {
  std::string anchor;
  for (const char c : heading) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_') {
      anchor += static_cast<char>(std::tolower(u));
    } else if (c == ' ') {
      anchor += '-';
    }
  }
  return anchor;
}

// Up to the first ". " that ends a sentence (not the one of "e.g. ").
std::string first_sentence(const std::string& paragraph) {
  for (std::size_t dot = paragraph.find(". "); dot != std::string::npos;
       dot = paragraph.find(". ", dot + 1)) {
    const std::string_view before = std::string_view(paragraph).substr(0, dot);
    if (before.ends_with("e.g") || before.ends_with("i.e")) continue;
    return paragraph.substr(0, dot + 1);
  }
  return paragraph;
}

std::string join(const std::vector<std::string_view>& lines, std::size_t from, std::size_t to,
                 std::string_view separator) {
  std::string out;
  for (std::size_t i = from; i < to; ++i) {
    if (i > from) out += separator;
    out += lines[i];
  }
  return out;
}

RuleDoc make_doc(std::string_view id, const std::vector<std::string_view>& body) {
  RuleDoc doc;
  doc.id = std::string(id);
  doc.anchor = github_anchor(id);
  std::size_t first = 0;
  std::size_t last = body.size();
  while (first < last && is_blank(body[first])) ++first;
  while (last > first && is_blank(body[last - 1])) --last;
  doc.markdown = join(body, first, last, "\n");

  std::size_t paragraph_end = first;
  while (paragraph_end < last && !is_blank(body[paragraph_end]) && !is_fence(body[paragraph_end])) {
    ++paragraph_end;
  }
  doc.description = markdown_to_text(join(body, first, paragraph_end, " "));
  doc.summary = first_sentence(doc.description);

  for (std::size_t i = first; i < last; ++i) {
    if (is_fence(body[i])) continue;
    if (!doc.text.empty()) doc.text += '\n';
    doc.text += markdown_to_text(body[i]);
  }
  return doc;
}

}  // namespace

std::string markdown_to_text(std::string_view markdown) {
  std::string out;
  out.reserve(markdown.size());
  for (std::size_t i = 0; i < markdown.size(); ++i) {
    const char c = markdown[i];
    if (c == '`') continue;
    if (c == '*' && i + 1 < markdown.size() && markdown[i + 1] == '*') {
      ++i;
      continue;
    }
    // [text](target) -> text
    if (c == ']' && i + 1 < markdown.size() && markdown[i + 1] == '(') {
      const auto close = markdown.find(')', i + 2);
      const auto open = out.rfind('[');
      if (close != std::string_view::npos && open != std::string::npos) {
        out.erase(open, 1);
        i = close;
        continue;
      }
    }
    out += c;
  }
  return out;
}

std::vector<RuleDoc> parse_rule_docs(std::string_view markdown) {
  const auto lines = split_lines(markdown);
  std::vector<RuleDoc> docs;
  std::string_view id;
  std::vector<std::string_view> body;
  bool in_fence = false;
  const auto close_section = [&] {
    if (!id.empty()) docs.push_back(make_doc(id, body));
    id = {};
    body.clear();
  };
  for (const auto line : lines) {
    if (is_fence(line)) in_fence = !in_fence;
    if (!in_fence && line.starts_with("#")) {
      close_section();
      id = rule_heading(line);
      continue;
    }
    if (!id.empty()) body.push_back(line);
  }
  close_section();
  return docs;
}

const RuleDoc* find_rule_doc(std::string_view rule_id) {
  static const std::vector<RuleDoc> docs = parse_rule_docs(kRulesMarkdown);
  for (const auto& d : docs) {
    if (d.id == rule_id) return &d;
  }
  return nullptr;
}

}  // namespace cdcguard::cli
