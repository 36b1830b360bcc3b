#include "cdcguard/model/names.hpp"

namespace cdcguard {
namespace {

bool lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// One dot-free part: [a-z0-9]([-a-z0-9]*[a-z0-9])?
bool label_chars(std::string_view s) {
  if (s.empty() || !lower_alnum(s.front()) || !lower_alnum(s.back())) return false;
  for (const char c : s) {
    if (!lower_alnum(c) && c != '-') return false;
  }
  return true;
}

std::string too_long(std::size_t size, std::size_t max) {
  return "it has " + std::to_string(size) + " characters, at most " + std::to_string(max) + " are allowed";
}

// The text as a message shows it: quoted, control bytes escaped, long ones cut.
std::string shown(std::string_view text) {
  constexpr std::size_t kShown = 80;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s = "\"";
  for (std::size_t i = 0; i < text.size() && i < kShown; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f || c >= 0x80 || c == '"' || c == '\\') {
      s += "\\x";
      s += kHex[c >> 4];
      s += kHex[c & 0xf];
    } else {
      s += static_cast<char>(c);
    }
  }
  if (text.size() > kShown) s += "...";
  return s + "\"";
}

}  // namespace

std::string dns1123_label_problem(std::string_view text) {
  if (text.empty()) return "it is empty";
  if (text.size() > kMaxLabelLength) return too_long(text.size(), kMaxLabelLength);
  if (!label_chars(text))
    return "it must consist of lowercase letters, digits and '-', and start and end with a letter or digit";
  return {};
}

std::string dns1123_subdomain_problem(std::string_view text) {
  if (text.empty()) return "it is empty";
  if (text.size() > kMaxSubdomainLength) return too_long(text.size(), kMaxSubdomainLength);
  std::size_t start = 0;
  for (;;) {
    const std::size_t dot = text.find('.', start);
    const std::string_view part = text.substr(start, dot == std::string_view::npos ? text.npos : dot - start);
    if (!label_chars(part))
      return "it must consist of lowercase letters, digits, '-' and '.', and each dot-separated part must "
             "start and end with a letter or digit";
    if (dot == std::string_view::npos) return {};
    start = dot + 1;
  }
}

std::string connector_key_problem(std::string_view namespace_name, std::string_view name) {
  if (const std::string p = dns1123_label_problem(namespace_name); !p.empty())
    return "namespace " + shown(namespace_name) +
           " is not a valid Kubernetes namespace name (DNS-1123 label): " + p;
  if (const std::string p = dns1123_subdomain_problem(name); !p.empty())
    return "name " + shown(name) + " is not a valid Kubernetes object name (DNS-1123 subdomain): " + p;
  return {};
}

std::string connector_key_problem(std::string_view key) {
  const std::size_t slash = key.find('/');
  if (slash == std::string_view::npos) return "connector " + shown(key) + " is not \"namespace/name\"";
  const std::string problem = connector_key_problem(key.substr(0, slash), key.substr(slash + 1));
  return problem.empty() ? problem : "connector " + shown(key) + ": " + problem;
}

namespace {

bool topic_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-';
}

std::string charset_problem(std::string_view text, std::string_view what, std::size_t max) {
  if (text.empty()) return std::string(what) + " must not be empty";
  if (text.size() > max)
    return std::string(what) + " is " + std::to_string(text.size()) + " characters long, at most " +
           std::to_string(max) + " are allowed";
  for (const char c : text) {
    if (!topic_char(c)) return std::string(what) + " may hold only letters, digits, '.', '_' and '-'";
  }
  return "";
}

}  // namespace

std::string kafka_topic_problem(std::string_view text, std::string_view what) {
  return charset_problem(text, what, kMaxTopicLength);
}

std::string token_problem(std::string_view text, std::string_view what, std::size_t max) {
  return charset_problem(text, what, max);
}

std::string entry_uid_problem(std::string_view text) {
  return token_problem(text, "uid", kMaxEntryUidLength);
}

std::string cluster_name_problem(std::string_view text) {
  return token_problem(text, "cluster", kMaxClusterNameLength);
}

}  // namespace cdcguard
