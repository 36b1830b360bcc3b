#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

// The two lookups the prefix rules make over a prefix-ordered map, shared by
// ConnectorIndex (connectors in view) and RegistryIndex (registry entries), so
// "inside a topic namespace" means the same for both.
namespace cdcguard::topic_namespaces {

template <class T>
using ByPrefix = std::map<std::string, std::vector<const T*>, std::less<>>;
using Delimiters = std::map<std::string, std::size_t, std::less<>>;  // delimiter -> prefixes using it

// Appends to `out` whatever in `by_prefix` has a topic namespace that holds
// `topic`: topic == its prefix + its delimiter (`delimiter_of`) + at least one
// more character. A candidate prefix is a leading part of `topic` followed by a
// delimiter some prefix uses; each candidate is one tree probe, so this is
// O(len * delimiters + cuts * log n), never a scan of all prefixes.
template <class T, class DelimiterOf>
void namespaces_containing(std::string_view topic, const ByPrefix<T>& by_prefix, const Delimiters& delimiters,
                           DelimiterOf delimiter_of, std::vector<const T*>& out) {
  for (std::size_t cut = 1; cut < topic.size(); ++cut) {
    const std::string_view rest = topic.substr(cut);
    bool delimiter_here = false;
    for (const auto& [delim, count] : delimiters) {
      if (rest.starts_with(delim)) {
        delimiter_here = true;
        break;
      }
    }
    if (!delimiter_here) continue;
    auto it = by_prefix.find(topic.substr(0, cut));
    if (it == by_prefix.end()) continue;
    for (const T* item : it->second) {
      const auto delim = delimiter_of(*item);  // a string_view, or a string made for the probe
      if (rest.size() > delim.size() && rest.starts_with(delim)) out.push_back(item);
    }
  }
}

// Appends to `out` every item of `by_key` (a map ordered by topic name) whose
// key is `head` followed by at least one more character: a range scan.
template <class T>
void keys_extending(std::string_view head, const ByPrefix<T>& by_key, std::vector<const T*>& out) {
  for (auto it = by_key.lower_bound(head); it != by_key.end(); ++it) {
    if (!std::string_view(it->first).starts_with(head)) break;
    if (it->first.size() == head.size()) continue;  // needs at least one more character
    out.insert(out.end(), it->second.begin(), it->second.end());
  }
}

}  // namespace cdcguard::topic_namespaces
