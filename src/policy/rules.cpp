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
  return "\"" + std::string(s) + "\"";
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

std::string suggested_history_topic(const ConnectorFacts& s, const Registry& reg) {
  std::string t = expand_history_topic_template(reg.rules.schema_history_topic_template, s);
  if (t.empty()) t = expand_history_topic_template("schema-history.{prefix}", s);
  if (t.empty()) t = "schema-history." + s.namespace_name + "-" + s.name;
  return t;
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

// --- topics -----------------------------------------------------------------

void topic_prefix_missing(const ConnectorFacts& s, const EvaluationContext&, std::vector<Violation>& out) {
  if (!s.is_debezium() || s.topic_prefix.present()) return;
  out.push_back(
      make(rule::kTopicPrefixMissing, s, "spec.config.topic.prefix", s.location.line,
           "Debezium connector has no topic.prefix (1.x: database.server.name), which names all its "
           "topics",
           "set spec.config.topic.prefix to a name no other connector uses, e.g. " +
               quoted(s.namespace_name + "-" + s.name)));
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

void schema_history_topic_missing(const ConnectorFacts& s, const EvaluationContext& ctx,
                                  std::vector<Violation>& out) {
  if (!s.reads_binlog() || !s.kafka_schema_history() || s.history_topic.present()) return;
  out.push_back(make(
      rule::kSchemaHistoryTopicMissing, s, "spec.config.schema.history.internal.kafka.topic", s.location.line,
      "Kafka-backed schema history needs schema.history.internal.kafka.topic (1.x: "
      "database.history.kafka.topic)",
      "set it to a topic no other connector uses, e.g. " + quoted(suggested_history_topic(s, ctx.reg()))));
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
  out.push_back(
      make(rule::kSchemaHistoryTopicShared, s, history_path(s), s.history_topic.line,
           "schema history topic " + quoted(h) + filled + " is also used by " +
               list_parties(party_names(shared, entries), shared.total + entries.total) +
               ": a shared history topic mixes DDL of two databases and breaks "
               "recovery",
           "give this connector its own history topic, e.g. " + quoted(h + "." + s.name) + entry_fix(entries),
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
  const std::string suggested = suggested_history_topic(s, ctx.reg());
  out.push_back(
      make(rule::kSchemaHistoryTopicCollides, s, history_path(s), s.history_topic.line,
           "schema history topic " + quoted(h) + " lies inside the data-topic namespace of " +
               list_parties(parties, hits.total + entries.total + (own ? 1 : 0)),
           "move it outside every connector's prefix, e.g. " +
               quoted(suggested == h ? "schema-history." + s.namespace_name + "-" + s.name : suggested) +
               entry_fix(entries),
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
    ConnectorRule{rule::kTopicPrefixMissing, topic_prefix_missing},
    ConnectorRule{rule::kTopicPrefixDuplicate, topic_prefix_duplicate},
    ConnectorRule{rule::kTopicPrefixOverlap, topic_prefix_overlap},
    ConnectorRule{rule::kSchemaHistoryTopicMissing, schema_history_topic_missing},
    ConnectorRule{rule::kSchemaHistoryTopicShared, schema_history_topic_shared},
    ConnectorRule{rule::kSchemaHistoryTopicCollides, schema_history_topic_collides},
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
  for (auto& v : violations) v.action = registry.action_for(v.rule);
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
  facts.history_topic.key = "schema.history.internal.kafka.topic";
  facts.history_topic.line = 0;
  facts.history_topic.from_template = true;
  return facts;
}

}  // namespace cdcguard
