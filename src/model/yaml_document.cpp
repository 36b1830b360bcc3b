#include "cdcguard/model/yaml_document.hpp"

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

// The children of one collection while it is built. The first kSmall wait on
// a stack shared by all the collections being built (a nested collection's are
// gone from it before its parent adds its next child), so a small collection
// (nearly all are) gets one allocation of its final size. Past kSmall they go
// to the collection's own vector, grown as usual: moving a big collection once
// more would double its peak.
template <class T>
class Children {
 public:
  Children(std::vector<T>& stack, std::vector<T>& own) : stack_(stack), own_(own), base_(stack.size()) {}

  template <class... Args>
  void add(Args&&... args) {
    if (!spilled_ && stack_.size() - base_ == kSmall) spill();
    (spilled_ ? own_ : stack_).emplace_back(std::forward<Args>(args)...);
  }
  void finish() {
    if (!spilled_) spill();
  }
  std::size_t size() const { return spilled_ ? own_.size() : stack_.size() - base_; }
  const T& operator[](std::size_t i) const { return spilled_ ? own_[i] : stack_[base_ + i]; }

 private:
  static constexpr std::size_t kSmall = 32;
  void spill() {
    const auto first = stack_.begin() + static_cast<std::ptrdiff_t>(base_);
    own_.assign(std::make_move_iterator(first), std::make_move_iterator(stack_.end()));
    stack_.erase(first, stack_.end());
    spilled_ = true;
  }
  std::vector<T>& stack_;
  std::vector<T>& own_;
  std::size_t base_;
  bool spilled_ = false;
};

// The keys of the map being built, for the duplicate check: a scan while the
// map is small (most are), a hash set of copies beyond.
class MapKeys {
 public:
  explicit MapKeys(const Children<std::pair<std::string, YamlNode>>& entries) : entries_(entries) {}
  bool contains(const std::string& key) {
    const std::size_t n = entries_.size();
    if (n <= kScan) {
      for (std::size_t i = 0; i < n; ++i) {
        if (entries_[i].first == key) return true;
      }
      return false;
    }
    for (std::size_t i = index_.size(); i < n; ++i) index_.insert(entries_[i].first);
    return index_.contains(key);
  }

 private:
  static constexpr std::size_t kScan = 24;
  const Children<std::pair<std::string, YamlNode>>& entries_;
  std::unordered_set<std::string> index_;  // the first index_.size() keys of the map
};

class TreeBuilder {
 public:
  TreeBuilder(std::string_view text, const YamlItemStream* stream) : text_(text), stream_(stream) {
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
        Children<YamlNode> items(item_scratch_, n.mutable_items());
        for (;;) {
          EventGuard ev;
          next(ev);
          if (ev.event.type == YAML_SEQUENCE_END_EVENT) break;
          items.add(node_from(ev.event, depth + 1));
        }
        items.finish();
        remember(event.data.sequence_start.anchor, n);
        return n;
      }
      case YAML_MAPPING_START_EVENT:
        return map_from(event, depth);
      default:
        fail("unexpected YAML event", event.start_mark);
    }
  }

  YamlNode map_from(const yaml_event_t& event, int depth) {
    YamlNode n = YamlNode::make_map(static_cast<int>(event.start_mark.line) + 1);
    Children<std::pair<std::string, YamlNode>> entries(entry_scratch_, n.mutable_entries());
    Children<int> key_lines(key_line_scratch_, n.mutable_key_lines());
    MapKeys seen(entries);
    std::vector<YamlNode> merges;
    for (;;) {
      EventGuard key;
      next(key);
      if (key.event.type == YAML_MAPPING_END_EVENT) break;
      const int key_line = static_cast<int>(key.event.start_mark.line) + 1;
      std::string key_text = key_of(key.event, depth + 1);
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
      if (seen.contains(key_text)) fail("duplicate key \"" + key_text + "\"", key.event.start_mark);
      EventGuard value_event;
      next(value_event);
      YamlNode value = depth == 0 && streamed(key_text, value_event.event)
                           ? stream_items(value_event.event, depth + 1)
                           : node_from(value_event.event, depth + 1);
      entries.add(std::move(key_text), std::move(value));
      key_lines.add(key_line);
    }
    for (auto& source : merges) {
      for (std::size_t i = 0; i < source.entries().size(); ++i) {
        auto& [merged_key, merged_value] = source.mutable_entries()[i];
        if (seen.contains(merged_key)) continue;
        const auto& lines = source.mutable_key_lines();
        const int merged_line = i < lines.size() ? lines[i] : source.line();
        entries.add(std::move(merged_key), std::move(merged_value));
        key_lines.add(merged_line);
      }
    }
    entries.finish();
    key_lines.finish();
    remember(event.data.mapping_start.anchor, n);
    return n;
  }

  // The text of a mapping key. Keys are scalars; a plain one without an anchor
  // (nearly all of them) is taken from the event without building a node.
  std::string key_of(const yaml_event_t& key, int depth) {
    if (key.type == YAML_SCALAR_EVENT && key.data.scalar.anchor == nullptr) {
      if (depth > kMaxDepth) fail("YAML nested too deeply", key.start_mark);
      return {reinterpret_cast<const char*>(key.data.scalar.value), key.data.scalar.length};
    }
    YamlNode k = node_from(key, depth);
    if (!k.is_scalar() && !k.is_null()) fail("mapping keys must be scalars", key.start_mark);
    if (k.is_null() && key.type == YAML_SCALAR_EVENT) {
      return {reinterpret_cast<const char*>(key.data.scalar.value), key.data.scalar.length};
    }
    return k.scalar();
  }

  bool streamed(const std::string& key, const yaml_event_t& value) const {
    return stream_ && key == stream_->key && value.type == YAML_SEQUENCE_START_EVENT &&
           value.data.sequence_start.anchor == nullptr;
  }

  // A sequence whose items go to the stream's visitor, one at a time; what
  // stays in the tree is the empty sequence.
  YamlNode stream_items(const yaml_event_t& start, int depth) {
    if (depth > kMaxDepth) fail("YAML nested too deeply", start.start_mark);
    YamlNode list = YamlNode::make_sequence(static_cast<int>(start.start_mark.line) + 1);
    for (;;) {
      EventGuard ev;
      next(ev);
      if (ev.event.type == YAML_SEQUENCE_END_EVENT) break;
      stream_->visit_item(node_from(ev.event, depth + 1));
    }
    return list;
  }

  std::string_view text_;
  const YamlItemStream* stream_;
  std::vector<std::pair<std::string, YamlNode>>
      entry_scratch_;                   // entries of the maps being built, innermost last
  std::vector<int> key_line_scratch_;   // their key lines
  std::vector<YamlNode> item_scratch_;  // items of the sequences being built
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
  TreeBuilder builder(text, nullptr);
  builder.run(visit);
}

void for_each_yaml_document(std::string_view text, const std::function<void(const YamlDocument&)>& visit,
                            const YamlItemStream& stream) {
  TreeBuilder builder(text, &stream);
  builder.run(visit);
}

}  // namespace cdcguard
