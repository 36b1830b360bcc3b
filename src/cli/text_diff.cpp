#include "cli/text_diff.hpp"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace cdcguard::cli {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto end = text.find('\n', start);
    if (end == std::string::npos) {
      lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

struct Edit {
  char op;                  // ' ', '-', '+'
  std::size_t before_line;  // 0-based in `before` (for ' ' and '-')
  std::size_t after_line;   // 0-based in `after` (for ' ' and '+')
};

// The edit script: common prefix and suffix kept, the middle by a longest
// common subsequence (quadratic in the middle only, which for a registry an
// import appends to is small); a middle too large for that is shown as
// replaced whole, which is still a correct diff.
std::vector<Edit> edits(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::size_t prefix = 0;
  while (prefix < a.size() && prefix < b.size() && a[prefix] == b[prefix]) ++prefix;
  std::size_t suffix = 0;
  while (suffix < a.size() - prefix && suffix < b.size() - prefix &&
         a[a.size() - 1 - suffix] == b[b.size() - 1 - suffix])
    ++suffix;
  std::vector<Edit> out;
  for (std::size_t i = 0; i < prefix; ++i) out.push_back({' ', i, i});
  const std::size_t n = a.size() - prefix - suffix;
  const std::size_t m = b.size() - prefix - suffix;
  if (n * m <= 4'000'000) {
    // lcs[i][j]: the LCS of a[prefix+i..] and b[prefix+j..].
    std::vector<std::vector<std::uint32_t>> lcs(n + 1, std::vector<std::uint32_t>(m + 1, 0));
    for (std::size_t i = n; i-- > 0;)
      for (std::size_t j = m; j-- > 0;)
        lcs[i][j] =
            a[prefix + i] == b[prefix + j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    std::size_t i = 0;
    std::size_t j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && a[prefix + i] == b[prefix + j]) {
        out.push_back({' ', prefix + i, prefix + j});
        ++i;
        ++j;
      } else if (i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1])) {
        out.push_back({'-', prefix + i, prefix + j});  // removals before additions, as diff -u
        ++i;
      } else {
        out.push_back({'+', prefix + i, prefix + j});
        ++j;
      }
    }
  } else {
    for (std::size_t i = 0; i < n; ++i) out.push_back({'-', prefix + i, prefix});
    for (std::size_t j = 0; j < m; ++j) out.push_back({'+', prefix + n, prefix + j});
  }
  for (std::size_t k = 0; k < suffix; ++k) out.push_back({' ', prefix + n + k, prefix + m + k});
  return out;
}

std::string range(std::size_t start, std::size_t count) {
  // diff -u: a hunk's start is 1-based; an empty side names the line before it.
  return std::to_string(count == 0 ? start : start + 1) + "," + std::to_string(count);
}

}  // namespace

std::string unified_diff(const std::string& before, const std::string& after, const std::string& before_name,
                         const std::string& after_name, int context) {
  if (before == after) return "";
  const auto a = lines_of(before);
  const auto b = lines_of(after);
  const auto script = edits(a, b);
  const auto ctx = static_cast<std::size_t>(context);
  std::string out = "--- " + before_name + "\n+++ " + after_name + "\n";
  std::size_t k = 0;
  while (k < script.size()) {
    // The next change, and its hunk: up to `ctx` unchanged lines before, and
    // on until `2 * ctx` unchanged lines in a row end it.
    while (k < script.size() && script[k].op == ' ') ++k;
    if (k == script.size()) break;
    std::size_t start = k >= ctx ? k - ctx : 0;
    std::size_t end = k;
    std::size_t unchanged = 0;
    while (end < script.size()) {
      if (script[end].op == ' ') {
        if (++unchanged > 2 * ctx) break;
      } else {
        unchanged = 0;
      }
      ++end;
    }
    std::size_t trailing = 0;  // unchanged lines at the end of the hunk: keep `ctx` of them
    while (trailing < end - k && script[end - 1 - trailing].op == ' ') ++trailing;
    if (trailing > ctx) end -= trailing - ctx;
    std::size_t a_count = 0;
    std::size_t b_count = 0;
    for (std::size_t i = start; i < end; ++i) {
      if (script[i].op != '+') ++a_count;
      if (script[i].op != '-') ++b_count;
    }
    out += "@@ -" + range(script[start].before_line, a_count) + " +" +
           range(script[start].after_line, b_count) + " @@\n";
    for (std::size_t i = start; i < end; ++i) {
      const auto& e = script[i];
      out += e.op;
      out += e.op == '+' ? b[e.after_line] : a[e.before_line];
      out += "\n";
    }
    k = end;
  }
  return out;
}

}  // namespace cdcguard::cli
