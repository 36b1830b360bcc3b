#include "cdcguard/yaml_document.hpp"

#include <yaml.h>

#include <algorithm>
#include <map>
#include <memory>
#include <unordered_set>

namespace cdcguard {

const YamlNode* YamlNode::find(std::string_view key) const {
  if (kind_ != Kind::Map) return nullptr;
  for (const auto& [k, v] : entries_) {
    if (k == key) return &v;
  }
  return nullptr;
}

int YamlNode::key_line(std::string_view key) const {
  if (kind_ != Kind::Map) return 0;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].first == key) return i < key_lines_.size() ? key_lines_[i] : line_;
  }
  return 0;
}

YamlNode YamlNode::make_null(int line) {
  YamlNode n;
  n.kind_ = Kind::Null;
  n.line_ = line;
  return n;
}

YamlNode YamlNode::make_scalar(std::string value, int line, bool quoted, bool block) {
  YamlNode n;
  n.kind_ = Kind::Scalar;
  n.scalar_ = std::move(value);
  n.line_ = line;
  n.quoted_ = quoted;
  n.block_ = block;
  return n;
}

YamlNode YamlNode::make_sequence(int line) {
  YamlNode n;
  n.kind_ = Kind::Sequence;
  n.line_ = line;
  return n;
}

YamlNode YamlNode::make_map(int line) {
  YamlNode n;
  n.kind_ = Kind::Map;
  n.line_ = line;
  return n;
}

namespace {

// Without aliases a node costs at least one byte of input, and inputs are
// bounded; aliases can multiply that ("billion laughs"), so the nodes they copy
// have a budget of their own, far above what a real manifest repeats.
constexpr std::size_t kMaxAliasNodes = 100'000;
constexpr int kMaxDepth = 256;

struct EventGuard {
  yaml_event_t event{};
  bool live = false;
  ~EventGuard() {
    if (live) yaml_event_delete(&event);
  }
};

class TreeBuilder {
 public:
  explicit TreeBuilder(std::string_view text) : text_(text) {
    yaml_parser_initialize(&parser_);
    yaml_parser_set_input_string(&parser_, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  }
  ~TreeBuilder() { yaml_parser_delete(&parser_); }
  TreeBuilder(const TreeBuilder&) = delete;
  TreeBuilder& operator=(const TreeBuilder&) = delete;

  void run(const std::function<void(const YamlDocument&)>& visit) {
    for (;;) {
      EventGuard ev;
      next(ev);
      switch (ev.event.type) {
        case YAML_STREAM_START_EVENT:
          break;
        case YAML_STREAM_END_EVENT:
          return;
        case YAML_DOCUMENT_START_EVENT: {
          anchors_.clear();
          YamlDocument doc;
          doc.line = static_cast<int>(ev.event.start_mark.line) + 1;
          doc.root = node(0);
          EventGuard end;
          next(end);         // DOCUMENT_END
          alias_nodes_ = 0;  // the alias budget is per document
          if (!doc.root.is_null()) visit(doc);
          break;
        }
        default:
          fail("unexpected YAML event", ev.event.start_mark);
      }
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what, const yaml_mark_t& mark) {
    throw YamlParseError(what, static_cast<int>(mark.line) + 1, static_cast<int>(mark.column) + 1);
  }

  void next(EventGuard& ev) {
    if (!yaml_parser_parse(&parser_, &ev.event)) {
      std::string what = parser_.problem ? parser_.problem : "invalid YAML";
      if (parser_.context) what = std::string(parser_.context) + ": " + what;
      if (parser_.error == YAML_READER_ERROR) {
        // The reader (bad UTF-8, control characters) sets only a byte offset.
        const std::size_t offset = std::min(parser_.problem_offset, text_.size());
        yaml_mark_t mark{};
        mark.line = static_cast<std::size_t>(
            std::count(text_.begin(), text_.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
        const auto line_start = text_.rfind('\n', offset == 0 ? 0 : offset - 1);
        mark.column = line_start == std::string_view::npos ? offset : offset - line_start - 1;
        fail(what, mark);
      }
      // A scanner error inside a token (an unterminated quote) is found at the
      // end of the stream; where the token opened is what helps the user.
      if (parser_.error == YAML_SCANNER_ERROR && parser_.context &&
          parser_.problem_mark.index >= text_.size()) {
        throw YamlParseError(what + " (the token starts on line " +
                                 std::to_string(parser_.context_mark.line + 1) + ", the problem is on line " +
                                 std::to_string(parser_.problem_mark.line + 1) + ")",
                             static_cast<int>(parser_.context_mark.line) + 1,
                             static_cast<int>(parser_.context_mark.column) + 1);
      }
      fail(what, parser_.problem_mark);
    }
    ev.live = true;
  }

  void count_alias(const yaml_mark_t& mark, std::size_t n) {
    alias_nodes_ += n;
    if (alias_nodes_ > kMaxAliasNodes) {
      fail("aliases expand to more than " + std::to_string(kMaxAliasNodes) + " nodes (an alias bomb?)", mark);
    }
  }

  static std::size_t size_of(const YamlNode& n) {
    std::size_t s = 1;
    for (const auto& i : n.items()) s += size_of(i);
    for (const auto& [k, v] : n.entries()) s += size_of(v);
    return s;
  }

  void remember(const unsigned char* anchor, const YamlNode& n) {
    if (anchor) anchors_[reinterpret_cast<const char*>(anchor)] = std::make_shared<YamlNode>(n);
  }

  YamlNode node(int depth) {
    EventGuard ev;
    next(ev);
    return node_from(ev.event, depth);
  }

  // Builds the node that starts with `event`; for collections, reads to their end.
  YamlNode node_from(const yaml_event_t& event, int depth) {
    if (depth > kMaxDepth) fail("YAML nested too deeply", event.start_mark);
    const int line = static_cast<int>(event.start_mark.line) + 1;
    switch (event.type) {
      case YAML_SCALAR_EVENT: {
        const auto& s = event.data.scalar;
        std::string value(reinterpret_cast<const char*>(s.value), s.length);
        const bool plain = s.style == YAML_PLAIN_SCALAR_STYLE || s.style == YAML_ANY_SCALAR_STYLE;
        const bool block = s.style == YAML_LITERAL_SCALAR_STYLE || s.style == YAML_FOLDED_SCALAR_STYLE;
        YamlNode n =
            (plain && s.tag == nullptr &&
             (value.empty() || value == "~" || value == "null" || value == "Null" || value == "NULL"))
                ? YamlNode::make_null(line)
                : YamlNode::make_scalar(std::move(value), line, !plain, block);
        remember(s.anchor, n);
        return n;
      }
      case YAML_ALIAS_EVENT: {
        const auto it = anchors_.find(reinterpret_cast<const char*>(event.data.alias.anchor));
        if (it == anchors_.end()) fail("unknown alias", event.start_mark);
        count_alias(event.start_mark, size_of(*it->second));
        return *it->second;
      }
      case YAML_SEQUENCE_START_EVENT: {
        YamlNode n = YamlNode::make_sequence(line);
        for (;;) {
          EventGuard ev;
          next(ev);
          if (ev.event.type == YAML_SEQUENCE_END_EVENT) break;
          n.mutable_items().push_back(node_from(ev.event, depth + 1));
        }
        remember(event.data.sequence_start.anchor, n);
        return n;
      }
      case YAML_MAPPING_START_EVENT: {
        YamlNode n = YamlNode::make_map(line);
        std::unordered_set<std::string> seen;
        std::vector<YamlNode> merges;
        for (;;) {
          EventGuard key;
          next(key);
          if (key.event.type == YAML_MAPPING_END_EVENT) break;
          const int key_line = static_cast<int>(key.event.start_mark.line) + 1;
          YamlNode k = node_from(key.event, depth + 1);
          if (!k.is_scalar() && !k.is_null()) fail("mapping keys must be scalars", key.event.start_mark);
          std::string key_text = k.scalar();
          if (k.is_null() && key.event.type == YAML_SCALAR_EVENT) {
            key_text.assign(reinterpret_cast<const char*>(key.event.data.scalar.value),
                            key.event.data.scalar.length);
          }
          const bool merge = key_text == "<<" && key.event.type == YAML_SCALAR_EVENT &&
                             (key.event.data.scalar.style == YAML_PLAIN_SCALAR_STYLE ||
                              key.event.data.scalar.style == YAML_ANY_SCALAR_STYLE);
          if (merge) {
            // A merge key (<<: *base, or a list of them), applied as kubectl and
            // Helm apply it: keys written in this map win, then the first source.
            YamlNode value = node(depth + 1);
            if (value.is_map()) {
              merges.push_back(std::move(value));
            } else if (value.is_sequence()) {
              for (auto& item : value.mutable_items()) {
                if (!item.is_map()) fail("a merge key (<<) takes maps", key.event.start_mark);
                merges.push_back(std::move(item));
              }
            } else {
              fail("a merge key (<<) takes a map or a list of maps", key.event.start_mark);
            }
            continue;
          }
          if (!seen.insert(key_text).second) {
            fail("duplicate key \"" + key_text + "\"", key.event.start_mark);
          }
          YamlNode value = node(depth + 1);
          n.mutable_entries().emplace_back(std::move(key_text), std::move(value));
          n.mutable_key_lines().push_back(key_line);
        }
        for (auto& source : merges) {
          for (std::size_t i = 0; i < source.entries().size(); ++i) {
            auto& [merged_key, merged_value] = source.mutable_entries()[i];
            if (!seen.insert(merged_key).second) continue;
            const int merged_line = source.key_line(merged_key);
            n.mutable_entries().emplace_back(merged_key, std::move(merged_value));
            n.mutable_key_lines().push_back(merged_line);
          }
        }
        remember(event.data.mapping_start.anchor, n);
        return n;
      }
      default:
        fail("unexpected YAML event", event.start_mark);
    }
  }

  std::string_view text_;
  yaml_parser_t parser_{};
  std::map<std::string, std::shared_ptr<YamlNode>> anchors_;
  std::size_t alias_nodes_ = 0;
};

}  // namespace

std::vector<YamlDocument> parse_yaml_documents(std::string_view text) {
  std::vector<YamlDocument> docs;
  for_each_yaml_document(text, [&](const YamlDocument& doc) { docs.push_back(doc); });
  return docs;
}

void for_each_yaml_document(std::string_view text, const std::function<void(const YamlDocument&)>& visit) {
  TreeBuilder builder(text);
  builder.run(visit);
}

}  // namespace cdcguard
