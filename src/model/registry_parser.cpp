#include "cdcguard/model/registry_parser.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

#include "cdcguard/model/manifest.hpp"
#include "cdcguard/model/names.hpp"
#include "cdcguard/model/rule_ids.hpp"
#include "cdcguard/model/yaml_document.hpp"

namespace cdcguard {

namespace {

std::string join_problems(const std::string& headline, const std::vector<std::string>& problems) {
  std::string s = headline;
  for (const auto& p : problems) s += "\n  " + p;
  return s;
}

// The checks across a whole registry: teams, reservations, live entries.
// `problem(line, message)` takes each; `line_ref(line)` is how a message
// points at the other entry involved (" (line 12)", or "" for a registry in
// memory, whose lines mean nothing).
template <class Problem, class LineRef>
void check_consistency(const Registry& r, const Problem& problem, const LineRef& line_ref) {
  std::set<std::string_view> names;
  std::unordered_map<std::string_view, const Team*> namespace_owner;
  for (const auto& t : r.teams) {
    if (!t.name.empty() && !names.insert(t.name).second)
      problem(t.line, "team " + t.name + " is listed twice");
    for (const auto& ns : t.namespaces) {
      auto [it, fresh] = namespace_owner.emplace(ns, &t);
      if (!fresh && it->second != &t) {
        problem(t.line,
                "namespace " + ns + " belongs to both team " + it->second->name + " and team " + t.name);
      }
    }
    if (t.range && !(r.rules.range.contains(t.range->from) && r.rules.range.contains(t.range->to))) {
      problem(t.line, "team " + t.name + " range " + t.range->str() + " is outside the registry range " +
                          r.rules.range.str());
    }
  }
  for (std::size_t i = 0; i < r.teams.size(); ++i) {
    for (std::size_t j = i + 1; j < r.teams.size(); ++j) {
      const auto& a = r.teams[i];
      const auto& b = r.teams[j];
      if (a.range && b.range && a.range->overlaps(*b.range)) {
        problem(b.line, "team " + b.name + " range " + b.range->str() + " overlaps team " + a.name +
                            " range " + a.range->str());
      }
    }
  }
  std::set<std::uint32_t> reserved_ids;
  for (const auto& res : r.reserved) {
    if (!reserved_ids.insert(res.server_id).second) {
      problem(res.line, "server id " + std::to_string(res.server_id) + " is reserved twice");
    }
  }
  // Live by status (a Pending claim's expiry depends on "now", which the parser does not know).
  std::unordered_map<std::uint32_t, const RegistryEntry*> live_by_id;
  std::unordered_map<std::string_view, const RegistryEntry*> live_by_connector;
  live_by_id.reserve(r.entries.size());
  live_by_connector.reserve(r.entries.size());
  for (const auto& e : r.entries) {
    if (e.status == EntryStatus::Decommissioned) continue;
    auto [by_id, fresh_id] = live_by_id.emplace(e.server_id, &e);
    if (!fresh_id) {
      problem(e.line, "server id " + std::to_string(e.server_id) + " is held by two live entries: " +
                          by_id->second->connector + line_ref(by_id->second->line) + " and " + e.connector);
    }
    auto [by_conn, fresh_conn] = live_by_connector.emplace(e.connector, &e);
    if (!fresh_conn) {
      problem(e.line, "connector " + e.connector +
                          " holds two live ids: " + std::to_string(by_conn->second->server_id) +
                          line_ref(by_conn->second->line) + " and " + std::to_string(e.server_id));
    }
  }
}

constexpr int kMaxEmbargoDays = 36500;

// The optional fields of an entry that have a shape: topics, uid, cluster.
// Allocates nothing for an entry without them.
std::vector<std::string> entry_field_problems(const RegistryEntry& e) {
  std::vector<std::string> out;
  const auto add = [&](std::string p) {
    if (!p.empty()) out.push_back(std::move(p));
  };
  if (!e.topic_prefix.empty()) add(kafka_topic_problem(e.topic_prefix, "topicPrefix"));
  if (!e.topic_delimiter.empty()) add(kafka_topic_problem(e.topic_delimiter, "topicDelimiter"));
  if (!e.schema_history_topic.empty()) add(kafka_topic_problem(e.schema_history_topic, "schemaHistoryTopic"));
  if (!e.uid.empty()) add(entry_uid_problem(e.uid));
  if (!e.cluster.empty()) add(cluster_name_problem(e.cluster));
  return out;
}

const std::string kDecommissionTimeNeeded =
    "a Decommissioned entry needs decommissionedAt (the embargo runs from it)";

bool lacks_decommission_time(const RegistryEntry& e) {
  return e.status == EntryStatus::Decommissioned && !e.decommissioned_at && !e.date;
}

class RegistryReader {
 public:
  RegistryReader(std::string file, int line_offset) : file_(std::move(file)), offset_(line_offset) {}

  Registry read(const YamlNode& root) {
    Registry r;
    if (!root.is_map()) {
      problem(root.line(), "the registry must be a map with rules, teams, reserved, entries, exceptions");
      return r;
    }
    known_keys(root, {"rules", "exceptions", "teams", "reserved", "entries"}, "registry");
    if (const YamlNode* n = root.find("rules")) read_rules(*n, r.rules);
    if (const YamlNode* n = root.find("teams")) read_teams(*n, r);
    if (const YamlNode* n = root.find("reserved")) read_reserved(*n, r);
    if (const YamlNode* n = root.find("entries")) read_entries(*n, r);
    if (const YamlNode* n = root.find("exceptions")) read_exceptions(*n, r);
    check_consistency(
        r, [this](int line, const std::string& message) { problem(line, message); },
        [this](int line) { return " (line " + std::to_string(line + offset_) + ")"; });
    return r;
  }

  std::vector<std::string>& problems() { return problems_; }

  void problem(int line, const std::string& message) {
    problems_.push_back(file_ + ":" + std::to_string(line + offset_) + ": " + message);
  }

 private:
  void known_keys(const YamlNode& map, std::initializer_list<std::string_view> keys,
                  const std::string& where) {
    for (std::size_t i = 0; i < map.entries().size(); ++i) {
      const auto& key = map.entries()[i].first;
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
        std::string list;
        for (const auto k : keys) list += (list.empty() ? "" : ", ") + std::string(k);
        problem(map.key_line(key), "unknown key \"" + key + "\" in " + where + " (known: " + list + ")");
      }
    }
  }

  bool is_map(const YamlNode& n, const std::string& what) {
    if (n.is_map()) return true;
    problem(n.line(), what + " must be a map");
    return false;
  }

  bool is_list(const YamlNode& n, const std::string& what) {
    if (n.is_sequence() || n.is_null()) return true;
    problem(n.line(), what + " must be a list");
    return false;
  }

  std::optional<std::uint64_t> integer(const YamlNode& n, const std::string& what, std::uint64_t max) {
    bool ok = n.is_scalar() && !n.scalar().empty() && n.scalar().size() <= 12;
    std::uint64_t v = 0;
    if (ok) {
      for (const char c : n.scalar()) {
        if (c < '0' || c > '9') {
          ok = false;
          break;
        }
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
      }
    }
    if (!ok || v > max) {
      problem(n.line(), what + " must be an integer in 0.." + std::to_string(max) + ", got \"" +
                            (n.is_scalar() ? n.scalar() : std::string("<not a scalar>")) + "\"");
      return std::nullopt;
    }
    return v;
  }

  std::optional<std::uint32_t> server_id(const YamlNode& n, const std::string& what) {
    const auto v = integer(n, what, 4294967295ULL);
    if (!v) return std::nullopt;
    if (*v == 0) {
      problem(n.line(), what + " must be in 1..4294967295, got 0");
      return std::nullopt;
    }
    return static_cast<std::uint32_t>(*v);
  }

  std::optional<bool> boolean(const YamlNode& n, const std::string& what) {
    if (n.is_scalar() && !n.quoted()) {
      const auto& s = n.scalar();
      if (s == "true" || s == "True" || s == "TRUE") return true;
      if (s == "false" || s == "False" || s == "FALSE") return false;
    }
    problem(n.line(), what + " must be true or false");
    return std::nullopt;
  }

  std::string text(const YamlNode* n, const std::string& what) {
    if (!n || n->is_null()) return {};
    if (n->is_scalar()) return n->scalar();
    problem(n->line(), what + " must be a string");
    return {};
  }

  std::optional<Date> date(const YamlNode* n, const std::string& what) {
    if (!n || n->is_null()) return std::nullopt;
    if (n->is_scalar()) {
      if (auto d = parse_date(n->scalar())) return d;
      // A timestamp is accepted where a day is meant; the day is kept.
      if (auto t = parse_timestamp(n->scalar())) return date_of(*t);
    }
    problem(n->line(),
            what + " must be a date (YYYY-MM-DD), got \"" + (n->is_scalar() ? n->scalar() : "") + "\"");
    return std::nullopt;
  }

  std::optional<TimePoint> timestamp(const YamlNode* n, const std::string& what) {
    if (!n || n->is_null()) return std::nullopt;
    if (n->is_scalar()) {
      if (auto t = parse_timestamp(n->scalar())) return t;
    }
    problem(n->line(), what + " must be a date or an RFC 3339 time, got \"" +
                           (n->is_scalar() ? n->scalar() : "") + "\"");
    return std::nullopt;
  }

  std::optional<IdRange> range(const YamlNode& n, const std::string& what) {
    if (!is_map(n, what)) return std::nullopt;
    known_keys(n, {"from", "to"}, what);
    const YamlNode* from = n.find("from");
    const YamlNode* to = n.find("to");
    if (!from || !to) {
      problem(n.line(), what + " needs both from and to");
      return std::nullopt;
    }
    const auto f = server_id(*from, what + ".from");
    const auto t = server_id(*to, what + ".to");
    if (!f || !t) return std::nullopt;
    if (*f > *t) {
      problem(n.line(),
              what + " is empty: from " + std::to_string(*f) + " is above to " + std::to_string(*t));
      return std::nullopt;
    }
    return IdRange{*f, *t};
  }

  void read_rules(const YamlNode& n, RegistryRules& rules) {
    if (n.is_null() || !is_map(n, "rules")) return;
    known_keys(n,
               {"range", "embargoDays", "requireRegistration", "allowPlaceholders", "autoAssign",
                "schemaHistoryTopicTemplate", "enforcement", "historyDays"},
               "rules");
    if (const YamlNode* v = n.find("range")) {
      if (auto r = range(*v, "rules.range")) rules.range = *r;
    }
    if (const YamlNode* v = n.find("embargoDays")) {
      if (auto d = integer(*v, "rules.embargoDays", kMaxEmbargoDays))
        rules.embargo_days = static_cast<int>(*d);
    }
    if (const YamlNode* v = n.find("historyDays")) {
      if (auto d = integer(*v, "rules.historyDays", kMaxEmbargoDays))
        rules.history_days = static_cast<int>(*d);
    }
    if (const YamlNode* v = n.find("requireRegistration")) {
      if (auto b = boolean(*v, "rules.requireRegistration")) rules.require_registration = *b;
    }
    if (const YamlNode* v = n.find("allowPlaceholders")) {
      if (auto b = boolean(*v, "rules.allowPlaceholders")) rules.allow_placeholders = *b;
    }
    if (const YamlNode* v = n.find("autoAssign")) {
      if (auto b = boolean(*v, "rules.autoAssign")) rules.auto_assign = *b;
    }
    if (const YamlNode* v = n.find("schemaHistoryTopicTemplate")) {
      rules.schema_history_topic_template = text(v, "rules.schemaHistoryTopicTemplate");
    }
    if (const YamlNode* v = n.find("enforcement"); v && !v->is_null() && is_map(*v, "rules.enforcement")) {
      for (const auto& [rule_id, action] : v->entries()) {
        const int line = v->key_line(rule_id);
        if (!rule::is_known(rule_id)) {
          problem(line, "rules.enforcement: unknown rule \"" + rule_id + "\"");
          continue;
        }
        const auto a = action.is_scalar() ? parse_action(action.scalar()) : std::nullopt;
        if (!a) {
          problem(line, "rules.enforcement." + rule_id + " must be deny, warn or audit");
          continue;
        }
        rules.enforcement[rule_id] = *a;
      }
    }
  }

  void read_teams(const YamlNode& n, Registry& r) {
    if (!is_list(n, "teams")) return;
    for (const auto& item : n.items()) {
      if (!is_map(item, "a team")) continue;
      known_keys(item, {"name", "namespaces", "range"}, "a team");
      Team t;
      t.line = item.line();
      t.name = text(item.find("name"), "team name");
      if (t.name.empty()) problem(item.line(), "a team needs a name");
      const std::string what = "team " + t.name;
      if (const YamlNode* ns = item.find("namespaces"); ns && is_list(*ns, what + " namespaces")) {
        for (const auto& x : ns->items()) {
          if (x.is_scalar() && !x.scalar().empty()) {
            t.namespaces.push_back(x.scalar());
          } else {
            problem(x.line(), what + ": namespaces must be strings");
          }
        }
      }
      if (const YamlNode* rg = item.find("range")) t.range = range(*rg, what + " range");
      r.teams.push_back(std::move(t));
    }
  }

  void read_reserved(const YamlNode& n, Registry& r) {
    if (!is_list(n, "reserved")) return;
    for (const auto& item : n.items()) {
      if (!is_map(item, "a reserved id")) continue;
      known_keys(item, {"serverId", "reason"}, "a reserved id");
      const YamlNode* id = item.find("serverId");
      if (!id) {
        problem(item.line(), "a reserved id needs serverId");
        continue;
      }
      if (auto v = server_id(*id, "reserved serverId")) {
        r.reserved.push_back({*v, text(item.find("reason"), "reason"), item.line()});
      }
    }
  }

  void read_entries(const YamlNode& n, Registry& r) {
    if (!is_list(n, "entries")) return;
    for (const auto& item : n.items()) {
      if (!is_map(item, "an entry")) continue;
      known_keys(
          item,
          {"connector", "serverId", "database", "status", "owner", "date", "decommissionedAt", "claimUid",
           "expiresAt", "topicPrefix", "topicDelimiter", "schemaHistoryTopic", "uid", "cluster"},
          "an entry");
      RegistryEntry e;
      e.line = item.line();
      bool ok = true;
      e.connector = text(item.find("connector"), "connector");
      if (const std::string p = connector_key_problem(e.connector); !p.empty()) {
        problem(item.line(), "entry " + p);
        ok = false;
      }
      const std::string what = "entry " + e.connector;
      if (const YamlNode* id = item.find("serverId")) {
        if (auto v = server_id(*id, what + ": serverId")) {
          e.server_id = *v;
        } else {
          ok = false;
        }
      } else {
        problem(item.line(), what + " needs serverId");
        ok = false;
      }
      const std::string status = text(item.find("status"), what + ": status");
      if (auto s = parse_entry_status(status)) {
        e.status = *s;
      } else {
        const YamlNode* st = item.find("status");
        problem(st ? st->line() : item.line(),
                what + ": unknown status \"" + status + "\" (Reserved, Pending, Active or Decommissioned)");
        ok = false;
      }
      e.database = text(item.find("database"), what + ": database");
      e.owner = text(item.find("owner"), what + ": owner");
      e.date = date(item.find("date"), what + ": date");
      e.decommissioned_at = timestamp(item.find("decommissionedAt"), what + ": decommissionedAt");
      e.claim_uid = text(item.find("claimUid"), what + ": claimUid");
      e.expires_at = timestamp(item.find("expiresAt"), what + ": expiresAt");
      e.topic_prefix = text(item.find("topicPrefix"), what + ": topicPrefix");
      e.topic_delimiter = text(item.find("topicDelimiter"), what + ": topicDelimiter");
      e.schema_history_topic = text(item.find("schemaHistoryTopic"), what + ": schemaHistoryTopic");
      e.uid = text(item.find("uid"), what + ": uid");
      e.cluster = text(item.find("cluster"), what + ": cluster");
      for (const std::string& p : entry_field_problems(e)) {
        problem(item.line(), what + ": " + p);
        ok = false;
      }
      if (ok && lacks_decommission_time(e)) {
        problem(item.line(), what + ": " + kDecommissionTimeNeeded);
        ok = false;
      }
      if (ok) r.entries.push_back(std::move(e));
    }
  }

  void read_exceptions(const YamlNode& n, Registry& r) {
    if (!is_list(n, "exceptions")) return;
    for (const auto& item : n.items()) {
      if (!is_map(item, "an exception")) continue;
      known_keys(item, {"connector", "rules", "reason", "until"}, "an exception");
      RuleException x;
      x.line = item.line();
      x.connector = text(item.find("connector"), "exception connector");
      if (const std::string p = connector_key_problem(x.connector); !p.empty())
        problem(item.line(), "exception " + p);
      const YamlNode* rules = item.find("rules");
      if (!rules || !rules->is_sequence() || rules->items().empty()) {
        problem(item.line(), "exception for " + x.connector + " needs a non-empty list of rules");
      } else {
        for (const auto& rule_node : rules->items()) {
          const std::string id = rule_node.is_scalar() ? rule_node.scalar() : "";
          if (id != "*" && !rule::is_known(id)) {
            problem(rule_node.line(), "exception for " + x.connector + ": unknown rule \"" + id + "\"");
          } else {
            x.rules.push_back(id);
          }
        }
      }
      x.reason = text(item.find("reason"), "exception reason");
      x.until = date(item.find("until"), "exception until");
      r.exceptions.push_back(std::move(x));
    }
  }

  std::string file_;
  int offset_;
  std::vector<std::string> problems_;
};

}  // namespace

RegistryError::RegistryError(std::vector<std::string> problems)
    : RegistryError("invalid registry", std::move(problems)) {}

RegistryError::RegistryError(const std::string& headline, std::vector<std::string> problems)
    : std::runtime_error(join_problems(headline, problems)), problems_(std::move(problems)) {}

namespace {

std::vector<YamlDocument> parse_or_throw(std::string_view text, const std::string& file, int line_offset) {
  try {
    return parse_yaml_documents(text);
  } catch (const YamlParseError& e) {
    throw RegistryError(
        {file + ":" + std::to_string(e.line() + line_offset) + ": malformed YAML: " + e.what()});
  }
}

Registry registry_from_documents(const std::vector<YamlDocument>& docs, const std::string& file,
                                 int line_offset) {
  if (docs.size() > 1) {
    throw RegistryError({file + ":" + std::to_string(docs[1].line + line_offset) +
                         ": a registry is one YAML document, found " + std::to_string(docs.size())});
  }
  // An emptied file or data key (`: > registry.yaml`, a bad merge) must not
  // read as a fresh registry: writing that back would drop every entry, team
  // and reservation. A new registry is made on purpose (`registry init`).
  if (docs.empty()) {
    throw RegistryError({file + ":" + std::to_string(1 + line_offset) + ": " + std::string(kEmptyRegistry)});
  }
  RegistryReader reader(file, line_offset);
  Registry r = reader.read(docs.front().root);
  if (!reader.problems().empty()) throw RegistryError(std::move(reader.problems()));
  return r;
}

}  // namespace

Registry parse_registry(std::string_view text, const std::string& file, int line_offset) {
  return registry_from_documents(parse_or_throw(text, file, line_offset), file, line_offset);
}

Registry parse_registry_document(std::string_view text, const std::string& file) {
  // Parsed once: the same documents are either a ConfigMap carrying the
  // registry or the registry itself.
  const std::vector<YamlDocument> docs = parse_or_throw(text, file, 0);
  const std::vector<RegistryConfigMap> configmaps = find_registry_configmaps(docs, file);
  if (configmaps.size() > 1) {
    throw RegistryError(
        {file + ": holds " + std::to_string(configmaps.size()) + " ConfigMaps with registry.yaml; give one"});
  }
  if (configmaps.size() == 1) {
    const auto& cm = configmaps.front();
    if (cm.line_offset > 0) return parse_registry(cm.text, file, cm.line_offset);
    // A quoted string: its lines do not map onto the file's, so name the key.
    return parse_registry(cm.text, file + " (data.registry.yaml)");
  }
  return registry_from_documents(docs, file, 0);
}

Registry default_registry() {
  return Registry{};
}

namespace {

// format_date() writes four digits, which parse_date() reads back.
bool writable(Date d) {
  static const Date first{std::chrono::year{0} / 1 / 1};
  static const Date last{std::chrono::year{9999} / 12 / 31};
  return d >= first && d <= last;
}

bool writable(TimePoint t) {
  return writable(date_of(t));
}

}  // namespace

std::vector<std::string> registry_problems(const Registry& r) {
  std::vector<std::string> out;
  const auto problem = [&](int, const std::string& message) { out.push_back(message); };
  const auto check_range = [&](const IdRange& range, const std::string& what) {
    if (range.from == 0 || range.to == 0) {
      problem(0, what + " must be in 1..4294967295, got 0");
    } else if (range.from > range.to) {
      problem(0, what + " is empty: from " + std::to_string(range.from) + " is above to " +
                     std::to_string(range.to));
    }
  };
  const auto check_date = [&](bool ok, const auto& what) {
    if (!ok) problem(0, what() + " lies outside the years 0000-9999");
  };

  check_range(r.rules.range, "rules.range");
  if (r.rules.embargo_days < 0 || r.rules.embargo_days > kMaxEmbargoDays)
    problem(0, "rules.embargoDays must be an integer in 0.." + std::to_string(kMaxEmbargoDays) + ", got " +
                   std::to_string(r.rules.embargo_days));
  if (r.rules.history_days && (*r.rules.history_days < 0 || *r.rules.history_days > kMaxEmbargoDays))
    problem(0, "rules.historyDays must be an integer in 0.." + std::to_string(kMaxEmbargoDays) + ", got " +
                   std::to_string(*r.rules.history_days));
  for (const auto& [rule_id, action] : r.rules.enforcement) {
    if (!rule::is_known(rule_id)) problem(0, "rules.enforcement: unknown rule \"" + rule_id + "\"");
  }
  for (const auto& x : r.exceptions) {
    if (const std::string p = connector_key_problem(x.connector); !p.empty()) problem(0, "exception " + p);
    if (x.rules.empty()) problem(0, "exception for " + x.connector + " needs a non-empty list of rules");
    for (const auto& id : x.rules) {
      if (id != "*" && !rule::is_known(id))
        problem(0, "exception for " + x.connector + ": unknown rule \"" + id + "\"");
    }
    check_date(!x.until || writable(*x.until), [&] { return "exception for " + x.connector + ": until"; });
  }
  for (const auto& t : r.teams) {
    if (t.name.empty()) problem(0, "a team needs a name");
    for (const auto& ns : t.namespaces) {
      if (ns.empty()) problem(0, "team " + t.name + ": namespaces must be strings");
    }
    if (t.range) check_range(*t.range, "team " + t.name + " range");
  }
  for (const auto& res : r.reserved) {
    if (res.server_id == 0) problem(0, "reserved serverId must be in 1..4294967295, got 0");
  }
  // Every claim writes the whole registry, so this loop allocates nothing for an entry without problems.
  for (const auto& e : r.entries) {
    if (const std::string p = connector_key_problem(e.connector); !p.empty()) problem(0, "entry " + p);
    const auto what = [&](const char* field) { return "entry " + e.connector + ": " + field; };
    if (e.server_id == 0) problem(0, what("serverId must be in 1..4294967295, got 0"));
    if (lacks_decommission_time(e)) problem(0, what("") + kDecommissionTimeNeeded);
    check_date(!e.date || writable(*e.date), [&] { return what("date"); });
    check_date(!e.decommissioned_at || writable(*e.decommissioned_at),
               [&] { return what("decommissionedAt"); });
    check_date(!e.expires_at || writable(*e.expires_at), [&] { return what("expiresAt"); });
    for (const std::string& p : entry_field_problems(e)) problem(0, what("") + p);
  }
  check_consistency(r, problem, [](int) { return std::string(); });
  return out;
}

}  // namespace cdcguard
