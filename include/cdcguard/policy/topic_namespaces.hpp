#pragma once

#include <algorithm>
#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "cdcguard/model/connector.hpp"

// The two lookups the prefix rules make over a prefix-ordered map, shared by
// ConnectorIndex (connectors in view) and RegistryIndex (registry entries), so
// "inside a topic namespace" means the same for both; and FoldedNames, the same
// with names folded as Kafka compares them for collisions.

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

// Prefixes (with their delimiters) and schema history topics keyed as Kafka
// compares topic names for collisions: '.' and '_' are one character
// (fold_topic_name). For topic-name-collision, over connectors in view and
// registry entries alike. Each bucket is sorted by the exact name, so a lookup
// can skip the names equal as written (other rules' business) with a binary
// search, however many share one. `Names` gives an item's prefix, delimiter and
// history topic ("" when it has none that counts); they must not change while
// the item is indexed. Arguments of the lookups are already folded.
template <class T, class Names>
class FoldedNames {
 public:
  using List = std::vector<const T*>;

  void add(const T* item) {
    if (const std::string_view p = Names::prefix(*item); !p.empty()) {
      insert_sorted(by_prefix_[fold_topic_name(p)], item, &Names::prefix);
      ++delimiters_[fold_topic_name(Names::delimiter(*item))];
    }
    if (const std::string_view h = Names::history(*item); !h.empty())
      insert_sorted(by_history_[fold_topic_name(h)], item, &Names::history);
  }

  void remove(const T* item) {
    if (const std::string_view p = Names::prefix(*item);
        !p.empty() && erase(by_prefix_, fold_topic_name(p), item)) {
      auto d = delimiters_.find(fold_topic_name(Names::delimiter(*item)));
      if (d != delimiters_.end() && --d->second == 0) delimiters_.erase(d);
    }
    if (const std::string_view h = Names::history(*item); !h.empty())
      erase(by_history_, fold_topic_name(h), item);
  }

  const List& with_prefix(std::string_view folded) const { return bucket(by_prefix_, folded); }
  const List& with_history_topic(std::string_view folded) const { return bucket(by_history_, folded); }
  // Items whose folded namespace (prefix + delimiter) holds `folded_topic`.
  List namespaces_containing(std::string_view folded_topic) const {
    List out;
    topic_namespaces::namespaces_containing(
        folded_topic, by_prefix_, delimiters_,
        [](const T& t) { return fold_topic_name(Names::delimiter(t)); }, out);
    return out;
  }
  // Items whose prefix (or history topic) folds to `folded_head` + at least one more character.
  List prefixes_extending(std::string_view folded_head) const {
    List out;
    keys_extending(folded_head, by_prefix_, out);
    return out;
  }
  List history_topics_extending(std::string_view folded_head) const {
    List out;
    keys_extending(folded_head, by_history_, out);
    return out;
  }

 private:
  static void insert_sorted(List& list, const T* item, std::string_view (*exact)(const T&)) {
    list.insert(std::upper_bound(list.begin(), list.end(), item,
                                 [&](const T* a, const T* b) { return exact(*a) < exact(*b); }),
                item);
  }
  static bool erase(ByPrefix<T>& map, const std::string& key, const T* item) {
    auto it = map.find(key);
    if (it == map.end()) return false;
    const auto before = it->second.size();
    std::erase(it->second, item);
    const bool erased = it->second.size() != before;
    if (it->second.empty()) map.erase(it);
    return erased;
  }
  static const List& bucket(const ByPrefix<T>& map, std::string_view folded) {
    static const List kNone;
    auto it = map.find(folded);
    return it == map.end() ? kNone : it->second;
  }

  ByPrefix<T> by_prefix_;
  ByPrefix<T> by_history_;
  Delimiters delimiters_;  // folded delimiter -> prefixes using it
};

}  // namespace cdcguard::topic_namespaces
