#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "cdcguard/model/yaml_document.hpp"

namespace cdcguard::testing_support {

// A YamlNode tree as one line of text (kinds, quoting, keys in order), for
// comparing trees in assertions.
inline std::string yaml_text(const YamlNode& n) {
  switch (n.kind()) {
    case YamlNode::Kind::Null:
      return "~";
    case YamlNode::Kind::Scalar:
      return n.quoted() ? "\"" + n.scalar() + "\"" : n.scalar();
    case YamlNode::Kind::Sequence: {
      std::string out = "[";
      for (const auto& item : n.items()) out += yaml_text(item) + ",";
      return out + "]";
    }
    case YamlNode::Kind::Map: {
      std::vector<std::string> entries;  // key order carries no meaning (lookups are by key)
      for (const auto& [k, v] : n.entries()) entries.push_back(k + ":" + yaml_text(v));
      std::sort(entries.begin(), entries.end());
      std::string out = "{";
      for (const auto& e : entries) out += e + ",";
      return out + "}";
    }
  }
  return "?";
}

}  // namespace cdcguard::testing_support
