#include "cdcguard/policy/rules.hpp"

#include <algorithm>
#include <array>
#include <set>
#include <tuple>

#include "cdcguard/model/rule_ids.hpp"

namespace cdcguard {
namespace {

constexpr std::size_t kNamedParties = 3;  // more than this are counted, not listed

std::string quoted(std::string_view s) {
  // Appended, not "\"" + std::string(s): GCC 12 at -O3 sees a false -Wrestrict in that.
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  out += s;
  out += '"';
  return out;
}

std::string where(const SourceLocation& loc) {
  if (loc.file.empty()) return {};
  return loc.line > 0 ? loc.file + ":" + std::to_string(loc.line) : loc.file;
}

std::string describe(const ConnectorFacts& c) {
  const std::string at = where(c.location);
  return at.empty() ? c.key() : c.key() + " (" + at + ")";
}

std::string describe(const RegistryEntry& e) {
  std::string s = e.connector + " (" + std::string(to_string(e.status));
  if (e.status == EntryStatus::Pending) {
    s += " claim";
    if (e.expires_at) s += " until " + format_timestamp(*e.expires_at);
  } else if (e.date) {
    s += " since " + format_date(*e.date);
  }
  return s + ")";
}

// "a (f:1), b (f:2) and 3 more": `named` are listed, the rest of `total` counted.
std::string list_parties(const std::vector<std::string>& named, std::size_t total) {
  std::string s;
  const std::size_t shown = std::min(named.size(), kNamedParties);
  total = std::max(total, shown);
  for (std::size_t i = 0; i < shown; ++i) {
    if (i > 0) s += (i + 1 == shown && total == shown) ? " and " : ", ";
    s += named[i];
  }
  if (total > shown) s += " and " + std::to_string(total - shown) + " more";
  return s;
}

Violation make(std::string_view rule_id, const ConnectorFacts& subject, std::string path, int line,
               std::string what, std::string fix, std::string other = {}) {
  Violation v;
  v.rule = std::string(rule_id);
  v.subject = subject.key();
  v.subject_kind = "KafkaConnector";
  v.path = std::move(path);
  v.location = subject.at(line);
  v.message = what + "; " + fix;
  v.fix = std::move(fix);
  v.other = std::move(other);
  return v;
}

bool has_key(const ConnectorFacts& c, std::string_view key) {
  return key.size() == c.namespace_name.size() + 1 + c.name.size() && key.starts_with(c.namespace_name) &&
         key[c.namespace_name.size()] == '/' && key.ends_with(c.name);
}

bool same_object(const ConnectorFacts& a, const ConnectorFacts& b) {
  return a.namespace_name == b.namespace_name && a.name == b.name;
}

bool key_less(const ConnectorFacts* a, const ConnectorFacts* b) {
  return std::tie(a->namespace_name, a->name) < std::tie(b->namespace_name, b->name);
}

bool key_less(const RegistryEntry* a, const RegistryEntry* b) {
  return a->connector < b->connector;
}

// The other parties in some index lists (connectors, or registry entries):
// the first kNamedParties by namespace/name, and how many there are. One pass
// without allocating per party, so hundreds of connectors sharing one id stay
// linear each.
template <class T>
struct Parties {
  std::vector<const T*> named;  // sorted, at most kNamedParties
  std::size_t total = 0;
  bool empty() const { return total == 0; }
  const T& first() const { return *named.front(); }

  void add(const T* c) {
    ++total;
    if (named.size() == kNamedParties && !key_less(c, named.back())) return;
    named.insert(std::upper_bound(named.begin(), named.end(), c,
                                  [](const T* a, const T* b) { return key_less(a, b); }),
                 c);
    if (named.size() > kNamedParties) named.pop_back();
  }
};
using Others = Parties<ConnectorFacts>;
using EntryParties = Parties<RegistryEntry>;

// The index lists hold each connector once (lists from different indexes are
// disjoint), so only the subject and `skip` need leaving out.
Others others(const ConnectorFacts& subject, std::initializer_list<const ConnectorIndex::List*> lists,
              std::string_view skip = {}) {
  Others o;
  for (const auto* list : lists) {
    for (const ConnectorFacts* c : *list) {
      if (same_object(*c, subject) || (!skip.empty() && has_key(*c, skip))) continue;
      o.add(c);
    }
  }
  return o;
}

// The live registry entries of other connectors in some RegistryIndex lists
// (disjoint, like the connector lists). An entry whose connector is in view is
// left out: that connector is judged from its live facts, which are newer than
// what its entry recorded, and it is never reported twice. So a standalone
// webhook (nothing in view) judges against every registered connector, and
// `check` against the registered connectors its manifests do not hold.
EntryParties registered(const ConnectorFacts& subject, const EvaluationContext& ctx,
                        std::initializer_list<const RegistryIndex::Entries*> lists) {
  EntryParties o;
  for (const auto* list : lists) {
    for (const RegistryEntry* e : *list) {
      if (has_key(subject, e->connector) || !e->is_live(ctx.now) || ctx.connectors.find(e->connector))
        continue;
      o.add(e);
    }
  }
  return o;
}

// A registry entry as the other party of a topic rule: "registry entry
// ecommerce/orders-cdc (server id 184001)", with its status unless Active.
std::string describe_party(const RegistryEntry& e) {
  std::string s = "registry entry " + e.connector + " (server id " + std::to_string(e.server_id);
  if (e.status == EntryStatus::Reserved) {
    s += ", Reserved";
  } else if (e.status == EntryStatus::Pending) {
    s += ", Pending claim";
    if (e.expires_at) s += " until " + format_timestamp(*e.expires_at);
  }
  return s + ")";
}

// The parties of one finding, connectors in view first; `detail` adds what
// each one has ("with prefix ...").
template <class ConnectorDetail, class EntryDetail>
std::vector<std::string> party_names(const Others& connectors, const EntryParties& entries,
                                     ConnectorDetail connector_detail, EntryDetail entry_detail) {
  std::vector<std::string> out;
  for (const ConnectorFacts* c : connectors.named) out.push_back(describe(*c) + connector_detail(*c));
  for (const RegistryEntry* e : entries.named) out.push_back(describe_party(*e) + entry_detail(*e));
  return out;
}

std::vector<std::string> party_names(const Others& connectors, const EntryParties& entries) {
  return party_names(
      connectors, entries, [](const ConnectorFacts&) { return std::string(); },
      [](const RegistryEntry&) { return std::string(); });
}

std::vector<std::string> party_names_with_prefix(const Others& connectors, const EntryParties& entries) {
  return party_names(
      connectors, entries,
      [](const ConnectorFacts& c) { return " with prefix " + quoted(c.topic_prefix.value); },
      [](const RegistryEntry& e) { return " with prefix " + quoted(e.topic_prefix); });
}

// Violation::other: the first connector in view, else the first entry's.
std::string first_party(const Others& connectors, const EntryParties& entries) {
  return connectors.empty() ? entries.first().connector : connectors.first().key();
}

// An entry outlives its connector when nothing decommissions it (standalone,
// or a connector deleted while the webhook was off), and then holds its topics
// for ever: the fix says how to free them, as fits the entry's status.
std::string entry_fix(const EntryParties& entries) {
  if (entries.empty()) return {};
  if (entries.total > 1) return ", or free the registry entries of connectors that no longer exist";
  const RegistryEntry& e = entries.first();
  switch (e.status) {
    case EntryStatus::Reserved:
      return ", or, if " + e.connector + " is no longer planned, remove its Reserved registry entry";
    case EntryStatus::Pending:
      return ", or, if " + e.connector + " is never created, wait for its claim to lapse" +
             (e.expires_at ? " at " + format_timestamp(*e.expires_at) : std::string());
    default:
      return ", or, if " + e.connector + " no longer exists, mark its registry entry Decommissioned";
  }
}

const std::string kServerIdPath = "spec.config.database.server.id";

std::string id_text(const ConnectorFacts& s) {
  return std::to_string(s.server_id.id);
}

bool has_valid_id(const ConnectorFacts& s) {
  return s.reads_binlog() && s.server_id.state == ServerIdValue::State::Valid;
}

std::string prefix_path(const ConnectorFacts& s) {
  return "spec.config." + (s.topic_prefix.present() ? s.topic_prefix.key : std::string("topic.prefix"));
}

std::string history_path(const ConnectorFacts& s) {
  return "spec.config." + (s.history_topic.present() ? s.history_topic.key
                                                     : std::string("schema.history.internal.kafka.topic"));
}

// --- server id --------------------------------------------------------------

void server_id_missing(const ConnectorFacts& s, const EvaluationContext& ctx, std::vector<Violation>& out) {
  if (!s.reads_binlog()) return;
  const auto state = s.server_id.state;
  if (state != ServerIdValue::State::Missing && state != ServerIdValue::State::Auto) return;
  const bool auto_assign = ctx.reg().rules.auto_assign;
  if (auto_assign && !ctx.after_mutation) return;  // /mutate will fill it in
  const std::string hint = ctx.hints.next_free_id(s, ctx.registry, ctx.now);
  if (auto_assign) {
    // /mutate runs before the API server generates a name (metadata.generateName)
    // and assigns nothing to a connector it cannot key by namespace/name.
    out.push_back(make(rule::kServerIdMissing, s, kServerIdPath, s.server_id_line,
                       std::string(state == ServerIdValue::State::Auto ? "database.server.id is \"auto\""
                                                                       : "MySQL/MariaDB connector has no "
                                                                         "database.server.id") +
                           " and none was assigned: rules.autoAssign assigns one only to a connector "
                           "that has its metadata.name when the mutating webhook sees it (not one named "
                           "by metadata.generateName)",
                       "set metadata.name, or set spec.config.database.server.id (" + hint + ")"));
    return;
  }
  const std::string what =
      state == ServerIdValue::State::Auto
          ? "database.server.id is \"auto\" but the registry does not auto-assign ids "
            "(rules.autoAssign is false)"
          : "MySQL/MariaDB connector has no database.server.id (Debezium 1.x would pick a "
            "random id that can clash with another client)";
  out.push_back(make(rule::kServerIdMissing, s, kServerIdPath, s.server_id_line, what,
                     "set spec.config.database.server.id (" + hint + ")"));
}

void server_id_invalid(const ConnectorFacts& s, const EvaluationContext& ctx, std::vector<Violation>& out) {
  if (!s.reads_binlog() || s.server_id.state != ServerIdValue::State::Invalid) return;
  out.push_back(make(rule::kServerIdInvalid, s, kServerIdPath, s.server_id_line,
                     "database.server.id " + quoted(s.server_id.text) +
                         " is not a plain decimal integer in 1..4294967295 (MySQL server_id is 32-bit; 0 is "
                         "not a replica id)",
                     ctx.hints.next_free_id(s, ctx.registry, ctx.now)));
}

void server_id_unresolvable(const ConnectorFacts& s, const EvaluationContext& ctx,
                            std::vector<Violation>& out) {
  if (!s.reads_binlog() || s.server_id.state != ServerIdValue::State::Placeholder) return;
  out.push_back(make(rule::kServerIdUnresolvable, s, kServerIdPath, s.server_id_line,
                     "database.server.id " + quoted(s.server_id.text) +
                         " is a config provider placeholder, so its uniqueness cannot be checked",
                     "write the id itself in spec.config (" +
                         ctx.hints.next_free_id(s, ctx.registry, ctx.now) +
                         "), or set rules.allowPlaceholders to make this a warning"));
}

void server_id_out_of_range(const ConnectorFacts& s, const EvaluationContext& ctx,
                            std::vector<Violation>& out) {
  if (!has_valid_id(s)) return;
  const IdRange& range = ctx.reg().rules.range;
  if (range.contains(s.server_id.id)) return;
  out.push_back(make(rule::kServerIdOutOfRange, s, kServerIdPath, s.server_id_line,
                     "server.id " + id_text(s) + " is outside the registry range " + range.str(),
                     ctx.hints.next_free_id(s, ctx.registry, ctx.now)));
}

void server_id_outside_team_range(const ConnectorFacts& s, const EvaluationContext& ctx,
                                  std::vector<Violation>& out) {
  if (!has_valid_id(s)) return;
  const Team* team = ctx.registry.team_for_namespace(s.namespace_name);
  if (!team || !team->range || team->range->contains(s.server_id.id)) return;
  out.push_back(make(rule::kServerIdOutsideTeamRange, s, kServerIdPath, s.server_id_line,
                     "server.id " + id_text(s) + " is outside team " + team->name + "'s range " +
                         team->range->str() + " (namespace " + s.namespace_name + ")",
                     ctx.hints.next_free_id(s, ctx.registry, ctx.now)));
}

void server_id_reserved(const ConnectorFacts& s, const EvaluationContext& ctx, std::vector<Violation>& out) {
  if (!has_valid_id(s)) return;
  const Reservation* r = ctx.registry.reservation(s.server_id.id);
  if (!r) return;
  out.push_back(
      make(rule::kServerIdReserved, s, kServerIdPath, s.server_id_line,
           "server.id " + id_text(s) + " is reserved" + (r->reason.empty() ? "" : " (" + r->reason + ")"),
           ctx.hints.next_free_id(s, ctx.registry, ctx.now)));
}

void server_id_duplicate(const ConnectorFacts& s, const EvaluationContext& ctx, std::vector<Violation>& out) {
  if (!has_valid_id(s)) return;
  const std::uint32_t id = s.server_id.id;
  const RegistryEntry* own = ctx.registry.live_entry_of(s.key(), ctx.now);
  const bool registered_owner = own && own->server_id == id;
  const RegistryEntry* holder = ctx.registry.live_holder(id, s.key(), ctx.now);
  std::vector<std::string> parties;
  std::size_t total = 0;
  std::string first;
  if (holder) {
    parties.push_back(describe(*holder));
    first = holder->connector;
    ++total;
  }
  // The connector the registry gives the id to keeps it: the others are at fault.
  if (!registered_owner) {
    const ConnectorIndex::List& same_id = ctx.connectors.with_server_id(id);
    const Others o = others(s, {&same_id}, holder ? std::string_view(holder->connector) : std::string_view{});
    for (const ConnectorFacts* c : o.named) parties.push_back(describe(*c));
    if (first.empty() && !o.empty()) first = o.first().key();
    total += o.total;
  }
  if (total == 0) return;
  out.push_back(
      make(rule::kServerIdDuplicate, s, kServerIdPath, s.server_id_line,
           "server.id " + id_text(s) + " is held by " + list_parties(parties, total) +
               ": two replication clients with one server_id on a MySQL server disconnect each other",
           ctx.hints.next_free_id(s, ctx.registry, ctx.now), first));
}

void server_id_embargoed(const ConnectorFacts& s, const EvaluationContext& ctx, std::vector<Violation>& out) {
  if (!has_valid_id(s)) return;
  const RegistryEntry* e = ctx.registry.embargo_on(s.server_id.id, s.key(), ctx.now);
  if (!e) return;
  const int days = ctx.reg().rules.embargo_days;
  const TimePoint end = *e->embargo_end(days);
  const std::string since =
      e->decommissioned_at ? format_date(date_of(*e->decommissioned_at)) : format_date(*e->date);
  out.push_back(
      make(rule::kServerIdEmbargoed, s, kServerIdPath, s.server_id_line,
           "server.id " + id_text(s) + " was released by " + e->connector + " on " + since +
               " and rests for " + std::to_string(days) + " days (reusable from " +
               (end == TimePoint{date_of(end)} ? format_date(date_of(end)) : format_timestamp(end)) +
               "): its old replication session may linger",
           ctx.hints.next_free_id(s, ctx.registry, ctx.now), e->connector));
}

void server_id_unregistered(const ConnectorFacts& s, const EvaluationContext& ctx,
                            std::vector<Violation>& out) {
  if (!has_valid_id(s) || !ctx.reg().rules.require_registration) return;
  const RegistryEntry* own = ctx.registry.live_entry_of(s.key(), ctx.now);
  if (own && own->server_id == s.server_id.id) return;
  std::string what = "server.id " + id_text(s) + " is not registered to " + s.key() +
                     " (rules.requireRegistration: document the id before deployment)";
  std::string fix;
  if (own) {
    what += "; the registry gives it " + std::to_string(own->server_id);
    fix = "use its registered id " + std::to_string(own->server_id);
  } else {
    // Suggest registering the id it has only when no other rule objects to it.
    std::vector<Violation> objections;
    for (const auto check : {server_id_out_of_range, server_id_outside_team_range, server_id_reserved,
                             server_id_duplicate, server_id_embargoed}) {
      check(s, ctx, objections);
    }
    const std::uint32_t suggested = objections.empty() ? s.server_id.id : ctx.hints.next_free_number(s);
    fix = "add {connector: " + s.key() +
          ", serverId: " + (suggested == 0 ? std::string("<id>") : std::to_string(suggested)) +
          ", status: Reserved} to the registry entries before deploying";
  }
  out.push_back(make(rule::kServerIdUnregistered, s, kServerIdPath, s.server_id_line, what, fix));
}

// --- topic names ---------------------------------------------------------------

constexpr std::size_t kMaxTopicName = 249;  // Kafka's limit
constexpr std::size_t kMaxIdentifier = 64;  // MySQL's limit on database and table names

// A value Strimzi's config providers fill in later: not judged offline.
bool placeholder(std::string_view v) {
  return v.find("${") != std::string_view::npos;
}

bool topic_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-';
}

// The characters of `name` Kafka (and Debezium's topic.prefix check) refuse,
// each once, as `' '`, `'/'`...; "" when there are none.
std::string refused_chars(std::string_view name) {
  std::vector<std::string> found;
  for (const char c : name) {
    if (topic_char(c)) continue;
    const auto u = static_cast<unsigned char>(c);
    std::string what = c == ' '                ? "' ' (a space)"
                       : u >= 0x80             ? "non-ASCII characters"
                       : u < 0x20 || u == 0x7f ? "control characters"
                                               : "'" + std::string(1, c) + "'";
    if (std::find(found.begin(), found.end(), what) == found.end()) found.push_back(std::move(what));
  }
  return list_parties(found, found.size());
}

// `name` with each refused character made '_', for the fix.
std::string sanitized(std::string_view name) {
  std::string out;
  for (const char c : name) out += topic_char(c) ? c : '_';
  if (out == "." || out == "..") out = "topics";
  if (out.size() > kMaxTopicName) out.resize(kMaxTopicName);
  return out;
}

// Why Kafka refuses `name` as a topic name (Kafka's own words in quotes), ""
// when it takes it.
std::string kafka_refuses(std::string_view name) {
  if (name == "." || name == "..")
    return "Kafka refuses the topic names \".\" and \"..\" (InvalidTopicException: Topic name cannot be "
           "\".\" or "
           "\"..\")";
  if (name.size() > kMaxTopicName)
    return "it is " + std::to_string(name.size()) +
           " characters long and Kafka refuses topic names longer than " + std::to_string(kMaxTopicName) +
           " (\"Topic name is illegal, it can't be longer than 249 characters\")";
  if (const std::string bad = refused_chars(name); !bad.empty())
    return "it holds " + bad +
           ", and Kafka topic names take only ASCII letters, digits, '.', '_' and '-' (\"it contains a "
           "character "
           "other than ASCII alphanumerics, '.', '_' and '-'\")";
  return {};
}

struct IncludeListLength {
  std::size_t longest = 0;  // the longest name it lets through, as far as known
  bool known = true;        // false: an entry is a pattern, counted at the MySQL limit
};

// The longest name an include list (comma-separated regular expressions)
// admits: plain names count as written ("\." read as "."), patterns at the
// MySQL identifier limit per name part (`parts` of them).
IncludeListLength longest_included(std::string_view list, std::size_t parts) {
  IncludeListLength r;
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t end = list.find(',', start);
    if (end == std::string_view::npos) end = list.size();
    std::string_view entry = list.substr(start, end - start);
    while (!entry.empty() && entry.front() == ' ') entry.remove_prefix(1);
    while (!entry.empty() && entry.back() == ' ') entry.remove_suffix(1);
    start = end + 1;
    if (entry.empty()) continue;
    std::size_t length = 0;
    bool pattern = false;
    for (std::size_t i = 0; i < entry.size(); ++i) {
      if (entry[i] == '\\' && i + 1 < entry.size() && entry[i + 1] == '.') {
        ++length;
        ++i;
      } else if (std::string_view("*+?[](){}|^$\\").find(entry[i]) != std::string_view::npos) {
        pattern = true;
        break;
      } else {
        ++length;
      }
    }
    if (pattern) {
      r.known = false;
      length = parts * kMaxIdentifier + (parts - 1);
    }
    r.longest = std::max(r.longest, length);
  }
  return r;
}

// The length of the longest data topic <prefix><d><db><d><table>, and how it
// was counted.
struct DataTopicLength {
  std::size_t n = 0;
  enum class How { Tables, TablePatterns, Databases, DatabasePatterns, Unknown } how = How::Unknown;
  std::string text() const {
    const std::string limit = std::to_string(kMaxIdentifier);
    switch (how) {
      case How::Tables:
        return "the longest table in table.include.list";
      case How::TablePatterns:
        return "table.include.list patterns counted at MySQL's " + limit + "-character names";
      case How::Databases:
        return "the longest database in database.include.list and a table name of " + limit +
               " characters (MySQL's limit)";
      case How::DatabasePatterns:
        return "database and table names of " + limit + " characters (MySQL's limit)";
      case How::Unknown:
        break;
    }
    return "database and table names of " + limit +
           " characters (MySQL's limit; set table.include.list to count the tables it captures)";
  }
};

// The length of the longest data topic <prefix><d><db><d><table>, and how it
// was counted (no allocation: this runs for every connector).
DataTopicLength longest_data_topic(const ConnectorFacts& s) {
  using How = DataTopicLength::How;
  const std::size_t head = s.topic_prefix.value.size() + s.topic_delimiter.size();
  if (!s.table_include_list.empty()) {
    const auto tables = longest_included(s.table_include_list, 2);  // "db.table"
    // The '.' between database and table becomes the delimiter.
    return {head + tables.longest - 1 + s.topic_delimiter.size(),
            tables.known ? How::Tables : How::TablePatterns};
  }
  const std::size_t rest = s.topic_delimiter.size() + kMaxIdentifier;
  if (!s.database_include_list.empty()) {
    const auto dbs = longest_included(s.database_include_list, 1);
    return {head + dbs.longest + rest, dbs.known ? How::Databases : How::DatabasePatterns};
  }
  return {head + kMaxIdentifier + rest, How::Unknown};
}

// Violation::advisory findings: a warning whatever rules.enforcement says.
Violation advisory(Violation v) {
  v.advisory = true;
  return v;
}

// --- topics -----------------------------------------------------------------

// The 1.x names a 2.x config holds without their 2.x names, as "a, b and c".
std::string legacy_names(const ConnectorFacts& s) {
  std::vector<std::string> names;
  for (const auto& k : s.legacy_keys) names.push_back(k.key);
  return list_parties(names, names.size());
}

std::string generation_reason(const ConnectorFacts& s) {
  if (s.generation_marker.starts_with("class "))
    return "the MariaDB connector exists only since Debezium 2.5";
  return "it sets " + s.generation_marker + ", a Debezium 2.x name";
}

void config_generation_mixed(const ConnectorFacts& s, const EvaluationContext&, std::vector<Violation>& out) {
  if (!s.is_debezium() || s.legacy_keys.empty()) return;
  const LegacyConfigKey& first = s.legacy_keys.front();
  const bool several = s.legacy_keys.size() > 1;
  std::string what = "this config mixes Debezium generations: " + generation_reason(s) +
                     ", so it runs as a 2.x+ connector, and 2.x ignores the 1.x name" +
                     (several ? "s " : " ") + legacy_names(s);
  std::vector<std::string> lost;
  if (s.legacy_key("database.server.name"))
    lost.push_back("it has no topic.prefix, which 2.x requires, so it fails validation");
  if (s.legacy_key("database.history.kafka.topic") && s.kafka_schema_history())
    lost.push_back("its schema history has no schema.history.internal.kafka.topic");
  if (const auto* cls = s.legacy_key("database.history"))
    lost.push_back("its schema history class " + quoted(cls->value) +
                   " is not used (2.x keeps the history in Kafka)");
  if (lost.empty()) lost.push_back(several ? "those settings are lost" : "that setting is lost");
  what += ": " + list_parties(lost, lost.size());
  // The reverse mix: a 1.x deployment would not know topic.prefix either.
  const bool reverse = s.generation_marker == "topic.prefix" && !s.legacy_key("database.server.name") &&
                       s.connector_class != kMariaDbConnectorClass;
  if (reverse)
    what +=
        " (and Debezium 1.x, which reads those names, knows no topic.prefix and needs database.server.name)";
  std::vector<std::string> renames;
  for (const auto& k : s.legacy_keys) {
    std::string r = k.key + " to " + k.renamed;
    if (k.key == "database.history" && !k.value.empty()) {
      const std::string cls = schema_history_class_in_2x(k.value);
      if (cls != k.value) r += " (value " + cls + ")";
    }
    renames.push_back(std::move(r));
  }
  std::string fix = "rename " + list_parties(renames, renames.size());
  if (reverse) fix += " (on Debezium 1.x instead, rename topic.prefix to database.server.name)";
  out.push_back(make(rule::kConfigGenerationMixed, s, "spec.config." + first.key, first.line, what, fix));
}

void topic_prefix_missing(const ConnectorFacts& s, const EvaluationContext&, std::vector<Violation>& out) {
  if (!s.is_debezium() || s.topic_prefix.present()) return;
  if (const auto* legacy = s.legacy_key("database.server.name")) {
    out.push_back(make(rule::kTopicPrefixMissing, s, "spec.config.database.server.name", legacy->line,
                       "Debezium 2.x+ connector has no topic.prefix: its database.server.name " +
                           quoted(legacy->value) + " is the 1.x name, which 2.x ignores",
                       "rename spec.config.database.server.name to topic.prefix"));
    return;
  }
  out.push_back(
      make(rule::kTopicPrefixMissing, s, "spec.config.topic.prefix", s.location.line,
           "Debezium connector has no topic.prefix (1.x: database.server.name), which names all its "
           "topics",
           "set spec.config.topic.prefix to a name no other connector uses, e.g. " +
               quoted(s.namespace_name + "-" + s.name)));
}

void topic_prefix_invalid(const ConnectorFacts& s, const EvaluationContext&, std::vector<Violation>& out) {
  if (!s.is_debezium()) return;
  // The delimiter: Debezium checks it like the prefix (a 1.x config has none).
  if (s.generation != ConfigGeneration::V1 && s.topic_delimiter != "." && !placeholder(s.topic_delimiter)) {
    if (const std::string bad = refused_chars(s.topic_delimiter); !bad.empty()) {
      out.push_back(
          make(rule::kTopicPrefixInvalid, s, "spec.config.topic.delimiter", s.topic_delimiter_line,
               "topic.delimiter " + quoted(s.topic_delimiter) + " holds " + bad +
                   ": Debezium refuses it (\"has invalid format (only the underscore, hyphen, dot and "
                   "alphanumeric characters are allowed)\") and Kafka would refuse every data topic",
               "use '.', '_' or '-' as the delimiter"));
    }
  }
  if (!s.topic_prefix.present() || placeholder(s.topic_prefix.value)) return;
  const std::string& p = s.topic_prefix.value;
  const std::string path = prefix_path(s);
  if (const std::string bad = refused_chars(p); !bad.empty()) {
    out.push_back(
        make(rule::kTopicPrefixInvalid, s, path, s.topic_prefix.line,
             "topic prefix " + quoted(p) + " holds " + bad + ": Debezium refuses it (\"" + p +
                 " has invalid format (only the underscore, hyphen, dot and alphanumeric characters are "
                 "allowed)\"), as Kafka refuses such topic names",
             "use only ASCII letters, digits, '.', '_' and '-', e.g. " + quoted(sanitized(p))));
    return;
  }
  if (const std::string why = kafka_refuses(p); !why.empty()) {
    out.push_back(make(
        rule::kTopicPrefixInvalid, s, path, s.topic_prefix.line,
        "topic prefix " + quoted(p) +
            " cannot name the schema-change topic, which is exactly the "
            "prefix: " +
            why,
        "choose a prefix Kafka takes as a topic name, e.g. " +
            quoted(p.size() > kMaxTopicName ? sanitized(p).substr(0, 60) : s.namespace_name + "-" + s.name)));
    return;
  }
  std::vector<std::string> warnings;
  bool too_long = false;
  if (const DataTopicLength longest = longest_data_topic(s); longest.n > kMaxTopicName) {
    warnings.push_back("its longest data topic <prefix>" + s.topic_delimiter + "<db>" + s.topic_delimiter +
                       "<table> would be " + std::to_string(longest.n) + " characters (with " +
                       longest.text() +
                       "), and Kafka refuses topic names longer than 249, so that table's changes cannot be "
                       "written");
    too_long = true;
  }
  if (p.starts_with("__")) {
    warnings.push_back(
        "it starts with \"__\", which Kafka keeps for internal topics (__consumer_offsets, "
        "__transaction_state): tools hide or protect such topics");
  }
  if (warnings.empty()) return;
  std::string suggestion = s.namespace_name + "-" + s.name;
  if (p.starts_with("__") && p.size() > 2 && p.size() - 2 <= 60) suggestion = p.substr(2);
  out.push_back(advisory(make(rule::kTopicPrefixInvalid, s, path, s.topic_prefix.line,
                              "topic prefix " + quoted(p) + ": " + list_parties(warnings, warnings.size()),
                              "choose a " + std::string(too_long ? "shorter " : "") + "prefix" +
                                  (p.starts_with("__") ? " that does not start with \"__\"" : "") +
                                  ", e.g. " + quoted(suggestion))));
}

void topic_prefix_duplicate(const ConnectorFacts& s, const EvaluationContext& ctx,
                            std::vector<Violation>& out) {
  if (!s.is_debezium() || !s.topic_prefix.present()) return;
  const std::string& p = s.topic_prefix.value;
  const Others dups = others(s, {&ctx.connectors.with_prefix(p)});
  const EntryParties entries = registered(s, ctx, {&ctx.registry.entries_with_prefix(p)});
  if (dups.empty() && entries.empty()) return;
  out.push_back(
      make(rule::kTopicPrefixDuplicate, s, prefix_path(s), s.topic_prefix.line,
           "topic prefix " + quoted(p) + " is also used by " +
               list_parties(party_names(dups, entries), dups.total + entries.total) +
               ": both would write the same change-event topics",
           "give this connector its own prefix, e.g. " + quoted(p + "-" + s.name) + entry_fix(entries),
           first_party(dups, entries)));
}

void topic_prefix_overlap(const ConnectorFacts& s, const EvaluationContext& ctx,
                          std::vector<Violation>& out) {
  if (!s.is_debezium() || !s.topic_prefix.present()) return;
  const std::string& p = s.topic_prefix.value;
  const auto shorter = ctx.connectors.namespaces_containing(p);
  const auto longer = ctx.connectors.prefixes_extending(p, s.topic_delimiter);
  const Others overlaps = others(s, {&shorter, &longer});
  const auto shorter_entries = ctx.registry.namespaces_containing(p);
  const auto longer_entries = ctx.registry.prefixes_extending(p, s.topic_delimiter);
  const EntryParties entries = registered(s, ctx, {&shorter_entries, &longer_entries});
  if (overlaps.empty() && entries.empty()) return;
  out.push_back(
      make(rule::kTopicPrefixOverlap, s, prefix_path(s), s.topic_prefix.line,
           "topic prefix " + quoted(p) + " overlaps " +
               list_parties(party_names_with_prefix(overlaps, entries), overlaps.total + entries.total) +
               ": one is the other plus the delimiter, so their topic names can collide",
           "choose prefixes where neither is the other followed by the topic delimiter" + entry_fix(entries),
           first_party(overlaps, entries)));
}

// --- house-convention fixes ------------------------------------------------------

// What a name is to a rule: a connector's (or registry entry's) topic prefix,
// delimiter and Kafka schema history topic ("" when it has none).
struct TopicNames {
  std::string_view prefix;
  std::string_view delimiter;
  std::string_view history;
};

// A name Kafka takes, as written (not a placeholder): only those can collide.
bool judgeable(std::string_view name) {
  return !name.empty() && !placeholder(name) && kafka_refuses(name).empty();
}

// A name's parts: what topic-name-collision and the suggestions compare. A name
// Kafka refuses, or a placeholder, is left out (other rules report it).
TopicNames names_of(const ConnectorFacts& c) {
  TopicNames n;
  if (!c.is_debezium()) return n;
  if (c.topic_prefix.present() && judgeable(c.topic_prefix.value) &&
      refused_chars(c.topic_delimiter).empty()) {
    n.prefix = c.topic_prefix.value;
    n.delimiter = c.topic_delimiter;
  }
  if (c.history_topic.present() && c.kafka_schema_history() && judgeable(c.history_topic.value))
    n.history = c.history_topic.value;
  return n;
}

TopicNames names_of(const RegistryEntry& e) {
  TopicNames n;
  if (judgeable(e.topic_prefix) && refused_chars(e.delimiter()).empty()) {
    n.prefix = e.topic_prefix;
    n.delimiter = e.delimiter();
  }
  if (judgeable(e.schema_history_topic)) n.history = e.schema_history_topic;
  return n;
}

// `topic` is taken for a schema history topic: someone's history topic or
// schema-change topic (exact or folded), or inside someone's data-topic
// namespace (this connector's own included). Returns who, "" when free.
std::string taken_by(std::string_view topic, const ConnectorFacts& s, const EvaluationContext& ctx) {
  const std::string t(topic);
  const std::string folded = fold_topic_name(topic);
  // This connector's own namespace, folded or not.
  if (s.topic_prefix.present()) {
    const std::string own = fold_topic_name(s.topic_prefix.value + s.topic_delimiter);
    if (folded == fold_topic_name(s.topic_prefix.value) ||
        (folded.size() > own.size() && folded.starts_with(own)))
      return "this connector's own topics";
  }
  auto clash = [&](const TopicNames& n) {
    if (!n.history.empty() && fold_topic_name(n.history) == folded) return true;
    if (n.prefix.empty()) return false;
    if (fold_topic_name(n.prefix) == folded) return true;
    const std::string ns = fold_topic_name(std::string(n.prefix) + std::string(n.delimiter));
    return folded.size() > ns.size() && folded.starts_with(ns);
  };
  const ConnectorIndex::List* lists[] = {&ctx.connectors.folded().with_history_topic(folded),
                                         &ctx.connectors.folded().with_prefix(folded)};
  const ConnectorIndex::List inside = ctx.connectors.folded().namespaces_containing(folded);
  for (const auto* list : {lists[0], lists[1], &inside}) {
    for (const ConnectorFacts* c : *list) {
      if (!same_object(*c, s) && clash(names_of(*c))) return c->key();
    }
  }
  const RegistryIndex::Entries entry_inside = ctx.registry.folded().namespaces_containing(folded);
  for (const auto* list : {&ctx.registry.folded().with_history_topic(folded),
                           &ctx.registry.folded().with_prefix(folded), &entry_inside}) {
    for (const RegistryEntry* e : *list) {
      if (has_key(s, e->connector) || !e->is_live(ctx.now) || ctx.connectors.find(e->connector)) continue;
      if (clash(names_of(*e))) return "registry entry " + e->connector;
    }
  }
  return {};
}

// The prefix a suggestion builds on: topic.prefix, or the database.server.name
// a 2.x config is to rename.
ConnectorFacts with_intended_prefix(const ConnectorFacts& s) {
  ConnectorFacts f = s;
  if (!f.topic_prefix.present()) {
    if (const auto* legacy = s.legacy_key("database.server.name")) {
      f.topic_prefix.value = legacy->value;
      f.topic_prefix.key = "topic.prefix";
    }
  }
  return f;
}

// The house name for this connector's schema history topic:
// rules.schemaHistoryTopicTemplate applied to its prefix (default
// schema-history.{prefix}).
std::string convention_history_topic(const ConnectorFacts& s, const Registry& reg) {
  const ConnectorFacts f = with_intended_prefix(s);
  std::string t = expand_history_topic_template(reg.rules.schema_history_topic_template, f);
  if (t.empty()) t = expand_history_topic_template("schema-history.{prefix}", f);
  if (t.empty()) t = "schema-history." + s.namespace_name + "-" + s.name;
  return t;
}

// "e.g. \"schema-history.mysql_users\"" (the house name), or, when that is
// taken, says so and gives the first free name after it ("...-2", ...).
std::string suggest_history_topic(const ConnectorFacts& s, const EvaluationContext& ctx) {
  const std::string base = convention_history_topic(s, ctx.reg());
  const std::string who = kafka_refuses(base).empty() ? taken_by(base, s, ctx) : "Kafka (not a topic name)";
  if (who.empty()) return "e.g. " + quoted(base);
  // Numbered after the house name, unless that lies in this connector's own
  // topics (a template like "{prefix}.history"), where numbers cannot help.
  const std::string stem = who == "this connector's own topics" || !kafka_refuses(base).empty()
                               ? "schema-history." + s.namespace_name + "-" + s.name
                               : base;
  std::string next = stem;
  for (int n = 2; n < 100 && !taken_by(next, s, ctx).empty(); ++n) next = stem + "-" + std::to_string(n);
  return "e.g. " + quoted(next) + " (the house name " + quoted(base) +
         " from rules.schemaHistoryTopicTemplate is taken by " + who + ")";
}

void schema_history_topic_missing(const ConnectorFacts& s, const EvaluationContext& ctx,
                                  std::vector<Violation>& out) {
  if (!s.reads_binlog() || !s.kafka_schema_history() || s.history_topic.present()) return;
  if (const auto* legacy = s.legacy_key("database.history.kafka.topic")) {
    out.push_back(
        make(rule::kSchemaHistoryTopicMissing, s, "spec.config.database.history.kafka.topic", legacy->line,
             "Kafka-backed schema history of this Debezium 2.x+ connector has no "
             "schema.history.internal.kafka.topic: database.history.kafka.topic " +
                 quoted(legacy->value) + " is the 1.x name, which 2.x ignores",
             "rename spec.config.database.history.kafka.topic to schema.history.internal.kafka.topic"));
    return;
  }
  const bool v1 = s.generation == ConfigGeneration::V1;
  out.push_back(make(
      rule::kSchemaHistoryTopicMissing, s,
      v1 ? "spec.config.database.history.kafka.topic" : "spec.config.schema.history.internal.kafka.topic",
      s.location.line,
      "Kafka-backed schema history needs schema.history.internal.kafka.topic (1.x: "
      "database.history.kafka.topic)",
      "set it to a topic no other connector uses, " + suggest_history_topic(s, ctx)));
}

void schema_history_topic_invalid(const ConnectorFacts& s, const EvaluationContext& ctx,
                                  std::vector<Violation>& out) {
  if (!s.is_debezium() || !s.history_topic.present() || !s.kafka_schema_history()) return;
  const std::string& h = s.history_topic.value;
  if (placeholder(h)) return;
  if (const std::string why = kafka_refuses(h); !why.empty()) {
    out.push_back(make(rule::kSchemaHistoryTopicInvalid, s, history_path(s), s.history_topic.line,
                       "schema history topic " + quoted(h) + " is no Kafka topic name: " + why +
                           ", so the connector cannot create or read its schema history",
                       "use a valid name, " + suggest_history_topic(s, ctx)));
    return;
  }
  if (h.starts_with("__")) {
    out.push_back(
        advisory(make(rule::kSchemaHistoryTopicInvalid, s, history_path(s), s.history_topic.line,
                      "schema history topic " + quoted(h) +
                          " starts with \"__\", which Kafka keeps for internal topics "
                          "(__consumer_offsets, __transaction_state): tools hide or protect such topics",
                      "use a name without the leading \"__\", e.g. " + quoted(h.substr(2)))));
  }
}

// "give this connector its own history topic, e.g. ..." for a shared topic:
// the house name, unless this connector already has it, when the others are
// the ones to move.
std::string shared_history_fix(const ConnectorFacts& s, const EvaluationContext& ctx, const Others& shared,
                               const EntryParties& entries) {
  const std::string mine = convention_history_topic(s, ctx.reg());
  if (mine != s.history_topic.value)
    return "give this connector its own history topic, " + suggest_history_topic(s, ctx);
  // This connector follows the house convention: the other party moves.
  std::string theirs;
  if (!shared.empty()) {
    const ConnectorFacts& o = shared.first();
    const std::string name = convention_history_topic(o, ctx.reg());
    if (name != s.history_topic.value) theirs = ", e.g. " + quoted(name) + " for " + o.key();
  } else if (!entries.empty() && !entries.first().topic_prefix.empty()) {
    ConnectorFacts o;
    const std::string& key = entries.first().connector;
    o.namespace_name = key.substr(0, key.find('/'));
    o.name = key.substr(key.find('/') + 1);
    o.topic_prefix.value = entries.first().topic_prefix;
    o.topic_prefix.key = "topic.prefix";
    const std::string name = convention_history_topic(o, ctx.reg());
    if (name != s.history_topic.value)
      theirs = ", e.g. " + quoted(name) + " for " + entries.first().connector;
  }
  return "keep " + quoted(mine) +
         " (rules.schemaHistoryTopicTemplate gives it to this connector) and give the "
         "other connector" +
         std::string(shared.total + entries.total > 1 ? "s" : "") + " their own" + theirs;
}

void schema_history_topic_shared(const ConnectorFacts& s, const EvaluationContext& ctx,
                                 std::vector<Violation>& out) {
  if (!s.is_debezium() || !s.history_topic.present() || !s.kafka_schema_history()) return;
  const std::string& h = s.history_topic.value;
  const Others shared = others(s, {&ctx.connectors.with_history_topic(h)});
  const EntryParties entries = registered(s, ctx, {&ctx.registry.entries_with_history_topic(h)});
  if (shared.empty() && entries.empty()) return;
  const std::string filled =
      s.history_topic.from_template ? " (filled from rules.schemaHistoryTopicTemplate)" : "";
  out.push_back(make(rule::kSchemaHistoryTopicShared, s, history_path(s), s.history_topic.line,
                     "schema history topic " + quoted(h) + filled + " is also used by " +
                         list_parties(party_names(shared, entries), shared.total + entries.total) +
                         ": a shared history topic mixes DDL of two databases and breaks "
                         "recovery",
                     shared_history_fix(s, ctx, shared, entries) + entry_fix(entries),
                     first_party(shared, entries)));
}

// This connector's history topic inside a data-topic namespace: its own, a
// connector's in view, or a registered connector's.
void history_topic_inside_a_namespace(const ConnectorFacts& s, const EvaluationContext& ctx,
                                      std::vector<Violation>& out) {
  if (!s.history_topic.present() || !s.kafka_schema_history()) return;
  const std::string& h = s.history_topic.value;
  const auto inside = ctx.connectors.namespaces_containing(h);
  const auto& exact = ctx.connectors.with_prefix(h);  // the schema-change topic is exactly <prefix>
  // The subject's own namespace counts too.
  const bool own =
      s.topic_prefix.present() &&
      (h == s.topic_prefix.value || (h.size() > s.topic_prefix.value.size() + s.topic_delimiter.size() &&
                                     h.starts_with(s.topic_prefix.value + s.topic_delimiter)));
  const Others hits = others(s, {&inside, &exact});
  const auto inside_entries = ctx.registry.namespaces_containing(h);
  const EntryParties entries = registered(s, ctx, {&inside_entries, &ctx.registry.entries_with_prefix(h)});
  if (hits.empty() && entries.empty() && !own) return;
  std::vector<std::string> parties;
  if (own) parties.push_back("this connector's own prefix " + quoted(s.topic_prefix.value));
  for (std::string& p : party_names_with_prefix(hits, entries)) parties.push_back(std::move(p));
  out.push_back(
      make(rule::kSchemaHistoryTopicCollides, s, history_path(s), s.history_topic.line,
           "schema history topic " + quoted(h) + " lies inside the data-topic namespace of " +
               list_parties(parties, hits.total + entries.total + (own ? 1 : 0)),
           "move it outside every connector's prefix, " + suggest_history_topic(s, ctx) + entry_fix(entries),
           hits.empty() && entries.empty() ? s.key() : first_party(hits, entries)));
}

// A registered connector's history topic inside this connector's data-topic
// namespace (or equal to its prefix, the schema-change topic). Registry entries
// only: a connector in view is a subject itself (in `check` and the audit) and
// reports its own history topic, above. A registered connector that is not in
// view (a standalone webhook, a pull request holding one file) is judged by
// nobody but this connector, so the clash is found here or not at all.
void registered_history_topic_inside_prefix(const ConnectorFacts& s, const EvaluationContext& ctx,
                                            std::vector<Violation>& out) {
  if (!s.topic_prefix.present()) return;
  const std::string& p = s.topic_prefix.value;
  const auto inside = ctx.registry.history_topics_extending(p, s.topic_delimiter);
  const EntryParties entries = registered(s, ctx, {&inside, &ctx.registry.entries_with_history_topic(p)});
  if (entries.empty()) return;
  std::vector<std::string> parties;
  for (const RegistryEntry* e : entries.named)
    parties.push_back(quoted(e->schema_history_topic) + " of " + describe_party(*e));
  out.push_back(make(rule::kSchemaHistoryTopicCollides, s, prefix_path(s), s.topic_prefix.line,
                     "the data-topic namespace of topic prefix " + quoted(p) +
                         " holds schema history topic " + list_parties(parties, entries.total),
                     "choose a prefix whose namespace holds no other connector's history topic, e.g. " +
                         quoted(p + "-" + s.name) + entry_fix(entries),
                     entries.first().connector));
}

void schema_history_topic_collides(const ConnectorFacts& s, const EvaluationContext& ctx,
                                   std::vector<Violation>& out) {
  if (!s.is_debezium()) return;
  history_topic_inside_a_namespace(s, ctx, out);
  registered_history_topic_inside_prefix(s, ctx, out);
}

// --- topic-name-collision ----------------------------------------------------------

// Two topic names Kafka cannot hold side by side: different, yet equal once
// '.' and '_' are one character ("Topic 'shop_orders' collides with existing
// topics: shop.orders"). `mine` is this connector's, `theirs` the other's.
struct FoldedClash {
  std::string mine;
  std::string theirs;
};

bool folds_alike(std::string_view a, std::string_view b) {
  if (a.size() != b.size() || a == b) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const char x = a[i] == '.' ? '_' : a[i];
    const char y = b[i] == '.' ? '_' : b[i];
    if (x != y) return false;
  }
  return true;
}

// `topic` lies in the folded namespace `ns` (prefix + delimiter) without lying
// in it as written: a topic of that namespace folds like `topic`. Returns that
// topic, or "".
std::string folded_inside(std::string_view topic, std::string_view ns) {
  if (topic.size() <= ns.size() || topic.starts_with(ns)) return {};
  if (!folds_alike(topic.substr(0, ns.size()), ns)) return {};
  return std::string(ns) + std::string(topic.substr(ns.size()));
}

// The first clash between this connector's prefix namespace (`p`, `d`) and the
// other party's names. Exact clashes are other rules' (topic-prefix-duplicate,
// -overlap, schema-history-topic-collides) and are left to them.
std::optional<FoldedClash> prefix_clash(std::string_view p, std::string_view d, const TopicNames& them) {
  const std::string my_ns = std::string(p) + std::string(d);
  if (!them.prefix.empty()) {
    if (folds_alike(p, them.prefix)) return FoldedClash{std::string(p), std::string(them.prefix)};
    const std::string their_ns = std::string(them.prefix) + std::string(them.delimiter);
    if (std::string t = folded_inside(p, their_ns); !t.empty()) return FoldedClash{std::string(p), t};
    if (std::string t = folded_inside(them.prefix, my_ns); !t.empty())
      return FoldedClash{t, std::string(them.prefix)};
  }
  if (!them.history.empty()) {
    if (folds_alike(p, them.history)) return FoldedClash{std::string(p), std::string(them.history)};
    if (std::string t = folded_inside(them.history, my_ns); !t.empty())
      return FoldedClash{t, std::string(them.history)};
  }
  return std::nullopt;
}

// The first clash between this connector's history topic `h` and the other
// party's names.
std::optional<FoldedClash> history_clash(std::string_view h, const TopicNames& them) {
  if (!them.history.empty() && folds_alike(h, them.history))
    return FoldedClash{std::string(h), std::string(them.history)};
  if (!them.prefix.empty()) {
    if (folds_alike(h, them.prefix)) return FoldedClash{std::string(h), std::string(them.prefix)};
    const std::string their_ns = std::string(them.prefix) + std::string(them.delimiter);
    if (std::string t = folded_inside(h, their_ns); !t.empty()) return FoldedClash{std::string(h), t};
  }
  return std::nullopt;
}

std::string what_clashes(const TopicNames& them, const FoldedClash& c) {
  if (!them.history.empty() && c.theirs == them.history)
    return "schema history topic " + quoted(them.history);
  return "prefix " + quoted(them.prefix);
}

template <class T>
void sort_unique(std::vector<const T*>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

// One finding of topic-name-collision: the parties whose names clash with
// `clash_of` (one of this connector's names), found through the folded indexes.
// `fix` is called only when there is something to report.
template <class ClashOf, class Fix>
void report_collision(const ConnectorFacts& s, const EvaluationContext& ctx, ConnectorIndex::List connectors,
                      RegistryIndex::Entries entries, std::optional<FoldedClash> own, ClashOf clash_of,
                      bool history_side, Fix fix, std::vector<Violation>& out) {
  if (connectors.empty() && entries.empty() && !own) return;  // the common case: nothing to build
  sort_unique(connectors);
  sort_unique(entries);
  Others hits;
  std::optional<FoldedClash> example = own;
  for (const ConnectorFacts* c : connectors) {
    if (same_object(*c, s) || !clash_of(names_of(*c))) continue;
    hits.add(c);
  }
  EntryParties entry_hits;
  for (const RegistryEntry* e : entries) {
    if (has_key(s, e->connector) || !e->is_live(ctx.now) || ctx.connectors.find(e->connector)) continue;
    if (clash_of(names_of(*e))) entry_hits.add(e);
  }
  if (hits.empty() && entry_hits.empty() && !own) return;
  std::vector<std::string> parties;
  if (own) parties.push_back("this connector's own prefix " + quoted(s.topic_prefix.value));
  for (const ConnectorFacts* c : hits.named) {
    const auto clash = clash_of(names_of(*c));
    parties.push_back(describe(*c) + " with " + what_clashes(names_of(*c), *clash));
    if (!example) example = clash;
  }
  for (const RegistryEntry* e : entry_hits.named) {
    const auto clash = clash_of(names_of(*e));
    parties.push_back(describe_party(*e) + " with " + what_clashes(names_of(*e), *clash));
    if (!example) example = clash;
  }
  const std::string other = !hits.empty()         ? hits.first().key()
                            : !entry_hits.empty() ? entry_hits.first().connector
                                                  : s.key();
  out.push_back(
      make(rule::kTopicNameCollision, s, history_side ? history_path(s) : prefix_path(s),
           history_side ? s.history_topic.line : s.topic_prefix.line,
           (history_side ? "schema history topic " + quoted(s.history_topic.value)
                         : "topic prefix " + quoted(s.topic_prefix.value)) +
               " collides with " + list_parties(parties, hits.total + entry_hits.total + (own ? 1 : 0)) +
               ": Kafka treats '.' and '_' in topic names as the same character and refuses the second "
               "(\"Topic '" +
               example->mine + "' collides with existing topics: " + example->theirs + "\")",
           fix(), other));
}

// `bucket` (a folded().with_* list, sorted by the exact name) but the items whose
// exact name is `exact`: those are equal as written, other rules' business, and
// skipped with a binary search however many share the name.
template <class T, class ExactOf>
void append_folded(const std::vector<const T*>& bucket, std::string_view exact, ExactOf exact_of,
                   std::vector<const T*>& out) {
  const auto lo = std::lower_bound(bucket.begin(), bucket.end(), exact,
                                   [&](const T* a, std::string_view v) { return exact_of(*a) < v; });
  const auto hi = std::upper_bound(lo, bucket.end(), exact,
                                   [&](std::string_view v, const T* a) { return v < exact_of(*a); });
  out.insert(out.end(), bucket.begin(), lo);
  out.insert(out.end(), hi, bucket.end());
}

std::string_view prefix_of(const ConnectorFacts& c) {
  return c.topic_prefix.value;
}
std::string_view history_of(const ConnectorFacts& c) {
  return c.history_topic.value;
}
std::string_view prefix_of(const RegistryEntry& e) {
  return e.topic_prefix;
}
std::string_view history_of(const RegistryEntry& e) {
  return e.schema_history_topic;
}

void topic_name_collision(const ConnectorFacts& s, const EvaluationContext& ctx,
                          std::vector<Violation>& out) {
  if (!s.is_debezium()) return;
  const TopicNames mine = names_of(s);
  auto prefixes = [](const auto& x) { return prefix_of(x); };
  auto histories = [](const auto& x) { return history_of(x); };
  if (!mine.prefix.empty()) {
    const std::string fp = fold_topic_name(mine.prefix);
    const std::string fns = fold_topic_name(std::string(mine.prefix) + std::string(mine.delimiter));
    ConnectorIndex::List connectors = ctx.connectors.folded().namespaces_containing(fp);
    for (auto&& list : {ctx.connectors.folded().prefixes_extending(fns),
                        ctx.connectors.folded().history_topics_extending(fns)})
      connectors.insert(connectors.end(), list.begin(), list.end());
    append_folded(ctx.connectors.folded().with_prefix(fp), mine.prefix, prefixes, connectors);
    append_folded(ctx.connectors.folded().with_history_topic(fp), mine.prefix, histories, connectors);
    RegistryIndex::Entries entries = ctx.registry.folded().namespaces_containing(fp);
    for (auto&& list :
         {ctx.registry.folded().prefixes_extending(fns), ctx.registry.folded().history_topics_extending(fns)})
      entries.insert(entries.end(), list.begin(), list.end());
    append_folded(ctx.registry.folded().with_prefix(fp), mine.prefix, prefixes, entries);
    append_folded(ctx.registry.folded().with_history_topic(fp), mine.prefix, histories, entries);
    report_collision(
        s, ctx, std::move(connectors), std::move(entries), std::nullopt,
        [&](const TopicNames& them) { return prefix_clash(mine.prefix, mine.delimiter, them); },
        /*history_side=*/false,
        [&] {
          return "use '.' or '_' the same way in every prefix and history topic on this Kafka, or choose a "
                 "prefix whose topics differ from theirs in more than '.' versus '_', e.g. " +
                 quoted(std::string(mine.prefix) + "-" + s.name);
        },
        out);
  }
  if (!mine.history.empty()) {
    const std::string fh = fold_topic_name(mine.history);
    ConnectorIndex::List connectors = ctx.connectors.folded().namespaces_containing(fh);
    append_folded(ctx.connectors.folded().with_history_topic(fh), mine.history, histories, connectors);
    append_folded(ctx.connectors.folded().with_prefix(fh), mine.history, prefixes, connectors);
    RegistryIndex::Entries entries = ctx.registry.folded().namespaces_containing(fh);
    append_folded(ctx.registry.folded().with_history_topic(fh), mine.history, histories, entries);
    append_folded(ctx.registry.folded().with_prefix(fh), mine.history, prefixes, entries);
    const std::optional<FoldedClash> own =
        mine.prefix.empty() ? std::nullopt : history_clash(mine.history, {mine.prefix, mine.delimiter, {}});
    report_collision(
        s, ctx, std::move(connectors), std::move(entries), own,
        [&](const TopicNames& them) { return history_clash(mine.history, them); },
        /*history_side=*/true,
        [&] {
          return "give this connector a history topic no other name folds to, " +
                 suggest_history_topic(s, ctx);
        },
        out);
  }
}

constexpr std::array kConnectorRules{
    ConnectorRule{rule::kServerIdMissing, server_id_missing},
    ConnectorRule{rule::kServerIdInvalid, server_id_invalid},
    ConnectorRule{rule::kServerIdUnresolvable, server_id_unresolvable},
    ConnectorRule{rule::kServerIdOutOfRange, server_id_out_of_range},
    ConnectorRule{rule::kServerIdOutsideTeamRange, server_id_outside_team_range},
    ConnectorRule{rule::kServerIdReserved, server_id_reserved},
    ConnectorRule{rule::kServerIdDuplicate, server_id_duplicate},
    ConnectorRule{rule::kServerIdEmbargoed, server_id_embargoed},
    ConnectorRule{rule::kServerIdUnregistered, server_id_unregistered},
    ConnectorRule{rule::kConfigGenerationMixed, config_generation_mixed},
    ConnectorRule{rule::kTopicPrefixMissing, topic_prefix_missing},
    ConnectorRule{rule::kTopicPrefixInvalid, topic_prefix_invalid},
    ConnectorRule{rule::kTopicPrefixDuplicate, topic_prefix_duplicate},
    ConnectorRule{rule::kTopicPrefixOverlap, topic_prefix_overlap},
    ConnectorRule{rule::kSchemaHistoryTopicMissing, schema_history_topic_missing},
    ConnectorRule{rule::kSchemaHistoryTopicInvalid, schema_history_topic_invalid},
    ConnectorRule{rule::kSchemaHistoryTopicShared, schema_history_topic_shared},
    ConnectorRule{rule::kSchemaHistoryTopicCollides, schema_history_topic_collides},
    ConnectorRule{rule::kTopicNameCollision, topic_name_collision},
};

// --- KafkaConnect -------------------------------------------------------------

std::string describe(const ConnectClusterFacts& c) {
  const std::string at = where(c.location);
  return "KafkaConnect " + (at.empty() ? c.key() : c.key() + " (" + at + ")");
}

std::string shared_broker(const ConnectClusterFacts& a, const ConnectClusterFacts& b) {
  for (const auto& s : a.bootstrap_servers) {
    if (std::binary_search(b.bootstrap_servers.begin(), b.bootstrap_servers.end(), s)) return s;
  }
  return {};
}

Violation make_connect(std::string_view rule_id, const ConnectClusterFacts& s, const ConnectTopicFact& field,
                       std::string what, std::string fix, std::string other) {
  Violation v;
  v.rule = std::string(rule_id);
  v.subject = s.key();
  v.subject_kind = "KafkaConnect";
  v.path = field.path;
  v.location = {s.location.file, field.line > 0 ? field.line : s.location.line};
  v.message = what + "; " + fix;
  v.fix = std::move(fix);
  v.other = std::move(other);
  return v;
}

std::string value_text(const ConnectTopicFact& f) {
  return quoted(f.value) + (f.defaulted ? " (Strimzi's default)" : "");
}

}  // namespace

std::string FixHints::next_free_id(const ConnectorFacts& subject, const RegistryIndex& registry,
                                   TimePoint now) const {
  if (const RegistryEntry* own = registry.live_entry_of(subject.key(), now);
      own &&
      !(subject.server_id.state == ServerIdValue::State::Valid && subject.server_id.id == own->server_id)) {
    return "its registered id: " + std::to_string(own->server_id);
  }
  auto it = by_namespace_.find(subject.namespace_name);
  if (it != by_namespace_.end()) return it->second;
  const Allocation a = allocator_.next_for(subject.namespace_name);
  std::string hint;
  if (!a.id) {
    hint = a.error;
  } else if (a.pool == "the registry range") {
    hint = "next free id in " + a.range.str() + ": " + std::to_string(*a.id);
  } else {
    hint = "next free id for " + a.pool + ": " + std::to_string(*a.id);
  }
  by_namespace_.emplace(subject.namespace_name, hint);
  return hint;
}

std::uint32_t FixHints::next_free_number(const ConnectorFacts& subject) const {
  return allocator_.next_for(subject.namespace_name).id.value_or(0);
}

std::span<const ConnectorRule> connector_rules() {
  return kConnectorRules;
}

std::vector<Violation> find_connector_violations(const ConnectorFacts& subject,
                                                 const EvaluationContext& ctx) {
  std::vector<Violation> out;
  for (const auto& r : kConnectorRules) r.check(subject, ctx, out);
  return out;
}

namespace {

std::string broker_key(const std::string& broker, const std::string& value) {
  return broker + '\n' + value;
}

bool connect_less(const ConnectClusterFacts* a, const ConnectClusterFacts* b) {
  return std::tie(a->namespace_name, a->name) < std::tie(b->namespace_name, b->name);
}

bool same_cluster(const ConnectClusterFacts& a, const ConnectClusterFacts& b) {
  return a.namespace_name == b.namespace_name && a.name == b.name;
}

}  // namespace

void ConnectClusterIndex::add(const ConnectClusterFacts& facts) {
  for (const auto& broker : facts.bootstrap_servers) {
    if (!facts.group_id.value.empty())
      by_broker_group_[broker_key(broker, facts.group_id.value)].push_back(&facts);
    for (const ConnectTopicFact* t : {&facts.offset_topic, &facts.config_topic, &facts.status_topic}) {
      if (!t->value.empty()) by_broker_topic_[broker_key(broker, t->value)].push_back({&facts, t});
    }
  }
}

const ConnectClusterFacts* ConnectClusterIndex::group_peer(const ConnectClusterFacts& s) const {
  const ConnectClusterFacts* best = nullptr;
  if (s.group_id.value.empty()) return best;
  for (const auto& broker : s.bootstrap_servers) {
    auto it = by_broker_group_.find(broker_key(broker, s.group_id.value));
    if (it == by_broker_group_.end()) continue;
    for (const auto* c : it->second) {
      if (!same_cluster(*c, s) && (!best || connect_less(c, best))) best = c;
    }
  }
  return best;
}

std::optional<ConnectClusterIndex::TopicUse> ConnectClusterIndex::topic_peer(const ConnectClusterFacts& s,
                                                                             const std::string& topic) const {
  std::optional<TopicUse> best;
  for (const auto& broker : s.bootstrap_servers) {
    auto it = by_broker_topic_.find(broker_key(broker, topic));
    if (it == by_broker_topic_.end()) continue;
    for (const auto& use : it->second) {
      if (!same_cluster(*use.cluster, s) && (!best || connect_less(use.cluster, best->cluster))) best = use;
    }
  }
  return best;
}

std::vector<Violation> find_connect_violations(const ConnectClusterFacts& s,
                                               const ConnectClusterIndex& index) {
  std::vector<Violation> out;
  if (const ConnectClusterFacts* c = index.group_peer(s)) {
    out.push_back(make_connect(rule::kConnectGroupIdDuplicate, s, s.group_id,
                               "group.id " + value_text(s.group_id) + " is also used by " + describe(*c) +
                                   " on the same Kafka (" + shared_broker(s, *c) +
                                   "): the two clusters would join one Connect group",
                               "set " + s.group_id.path + " to a value unique to this cluster, e.g. " +
                                   quoted(s.namespace_name + "-" + s.name),
                               c->key()));
  }
  const std::pair<const ConnectTopicFact*, const char*> topics[] = {
      {&s.offset_topic, "offsets"}, {&s.config_topic, "configs"}, {&s.status_topic, "status"}};
  for (const auto& [mine, suffix] : topics) {
    if (mine->value.empty()) continue;
    const auto peer = index.topic_peer(s, mine->value);
    if (!peer) continue;
    const ConnectClusterFacts& c = *peer->cluster;
    out.push_back(make_connect(rule::kConnectStorageTopicDuplicate, s, *mine,
                               "storage topic " + value_text(*mine) + " is also " + peer->field->path +
                                   " of " + describe(c) + " on the same Kafka (" + shared_broker(s, c) +
                                   "): the clusters would overwrite each other's offsets, configs or status",
                               "set " + mine->path + " to a topic unique to this cluster, e.g. " +
                                   quoted(s.namespace_name + "-" + s.name + "-" + suffix),
                               c.key()));
  }
  return out;
}

std::size_t apply_enforcement(std::vector<Violation>& violations, const Registry& registry, TimePoint now) {
  const auto before = violations.size();
  std::erase_if(violations, [&](const Violation& v) {
    return registry.exception_for(v.subject, v.rule, now) != nullptr;
  });
  for (auto& v : violations) {
    v.action = registry.action_for(v.rule);
    if (v.advisory && v.action == Action::Deny) v.action = Action::Warn;
  }
  return before - violations.size();
}

std::string expand_history_topic_template(std::string_view templ, const ConnectorFacts& f) {
  std::string out;
  std::size_t i = 0;
  while (i < templ.size()) {
    if (templ[i] == '{') {
      const auto close = templ.find('}', i);
      if (close != std::string_view::npos) {
        const std::string_view var = templ.substr(i + 1, close - i - 1);
        if (var == "prefix") {
          if (!f.topic_prefix.present()) return {};
          out += f.topic_prefix.value;
        } else if (var == "namespace") {
          out += f.namespace_name;
        } else if (var == "name") {
          out += f.name;
        } else {
          out.append(templ.substr(i, close - i + 1));
        }
        i = close + 1;
        continue;
      }
    }
    out += templ[i++];
  }
  return out;
}

ConnectorFacts with_mutation_defaults(ConnectorFacts facts, const Registry& registry) {
  if (!facts.reads_binlog() || !facts.kafka_schema_history() || facts.history_topic.present()) return facts;
  std::string topic = expand_history_topic_template(registry.rules.schema_history_topic_template, facts);
  if (topic.empty()) return facts;
  facts.history_topic.value = std::move(topic);
  // Under the name the connector's generation reads: a 1.x config stays 1.x.
  facts.history_topic.key = facts.generation == ConfigGeneration::V1 ? "database.history.kafka.topic"
                                                                     : "schema.history.internal.kafka.topic";
  facts.history_topic.line = 0;
  facts.history_topic.from_template = true;
  return facts;
}

}  // namespace cdcguard
