#include "cdcguard/rules.hpp"

#include <algorithm>
#include <array>
#include <set>

#include "cdcguard/rule_ids.hpp"

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

// "a (f:1), b (f:2) and 3 more"
std::string list_parties(const std::vector<std::string>& parties) {
  std::string s;
  const std::size_t shown = std::min(parties.size(), kNamedParties);
  for (std::size_t i = 0; i < shown; ++i) {
    if (i > 0) s += (i + 1 == shown && parties.size() == shown) ? " and " : ", ";
    s += parties[i];
  }
  if (parties.size() > shown) s += " and " + std::to_string(parties.size() - shown) + " more";
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

// Unique by key, in the order found, never the subject itself.
std::vector<const ConnectorFacts*> others(const ConnectorFacts& subject, ConnectorIndex::List list) {
  std::vector<const ConnectorFacts*> out;
  std::set<std::string> seen{subject.key()};
  for (const ConnectorFacts* f : list) {
    if (seen.insert(f->key()).second) out.push_back(f);
  }
  std::sort(out.begin(), out.end(),
            [](const ConnectorFacts* a, const ConnectorFacts* b) { return a->key() < b->key(); });
  return out;
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
  if (!s.reads_binlog() || ctx.reg().rules.auto_assign) return;
  const auto state = s.server_id.state;
  if (state != ServerIdValue::State::Missing && state != ServerIdValue::State::Auto) return;
  const std::string what =
      state == ServerIdValue::State::Auto
          ? "database.server.id is \"auto\" but the registry does not auto-assign ids "
            "(rules.autoAssign is false)"
          : "MySQL/MariaDB connector has no database.server.id (Debezium 1.x would pick a "
            "random id that can clash with another client)";
  out.push_back(
      make(rule::kServerIdMissing, s, kServerIdPath, s.server_id_line, what,
           "set spec.config.database.server.id (" + ctx.hints.next_free_id(s, ctx.registry, ctx.now) + ")"));
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
  std::string first;
  if (holder) {
    parties.push_back(describe(*holder));
    first = holder->connector;
  }
  // The connector the registry gives the id to keeps it: the others are at fault.
  if (!registered_owner) {
    for (const ConnectorFacts* c : others(s, ctx.connectors.with_server_id(id))) {
      if (holder && c->key() == holder->connector) continue;
      parties.push_back(describe(*c));
      if (first.empty()) first = c->key();
    }
  }
  if (parties.empty()) return;
  out.push_back(
      make(rule::kServerIdDuplicate, s, kServerIdPath, s.server_id_line,
           "server.id " + id_text(s) + " is held by " + list_parties(parties) +
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
  const auto dups = others(s, ctx.connectors.with_prefix(s.topic_prefix.value));
  if (dups.empty()) return;
  std::vector<std::string> parties;
  for (const auto* c : dups) parties.push_back(describe(*c));
  out.push_back(
      make(rule::kTopicPrefixDuplicate, s, prefix_path(s), s.topic_prefix.line,
           "topic prefix " + quoted(s.topic_prefix.value) + " is also used by " + list_parties(parties) +
               ": both would write the same change-event topics",
           "give this connector its own prefix, e.g. " + quoted(s.topic_prefix.value + "-" + s.name),
           dups.front()->key()));
}

void topic_prefix_overlap(const ConnectorFacts& s, const EvaluationContext& ctx,
                          std::vector<Violation>& out) {
  if (!s.is_debezium() || !s.topic_prefix.present()) return;
  const std::string& p = s.topic_prefix.value;
  auto list = ctx.connectors.namespaces_containing(p);
  const auto longer = ctx.connectors.prefixes_extending(p, s.topic_delimiter);
  list.insert(list.end(), longer.begin(), longer.end());
  const auto overlaps = others(s, std::move(list));
  if (overlaps.empty()) return;
  std::vector<std::string> parties;
  for (const auto* c : overlaps)
    parties.push_back(describe(*c) + " with prefix " + quoted(c->topic_prefix.value));
  out.push_back(make(rule::kTopicPrefixOverlap, s, prefix_path(s), s.topic_prefix.line,
                     "topic prefix " + quoted(p) + " overlaps " + list_parties(parties) +
                         ": one is the other plus the delimiter, so their topic names can collide",
                     "choose prefixes where neither is the other followed by the topic delimiter",
                     overlaps.front()->key()));
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
  const auto shared = others(s, ctx.connectors.with_history_topic(s.history_topic.value));
  if (shared.empty()) return;
  std::vector<std::string> parties;
  for (const auto* c : shared) parties.push_back(describe(*c));
  const std::string filled =
      s.history_topic.from_template ? " (filled from rules.schemaHistoryTopicTemplate)" : "";
  out.push_back(
      make(rule::kSchemaHistoryTopicShared, s, history_path(s), s.history_topic.line,
           "schema history topic " + quoted(s.history_topic.value) + filled + " is also used by " +
               list_parties(parties) +
               ": a shared history topic mixes DDL of two databases and breaks "
               "recovery",
           "give this connector its own history topic, e.g. " + quoted(s.history_topic.value + "." + s.name),
           shared.front()->key()));
}

void schema_history_topic_collides(const ConnectorFacts& s, const EvaluationContext& ctx,
                                   std::vector<Violation>& out) {
  if (!s.is_debezium() || !s.history_topic.present() || !s.kafka_schema_history()) return;
  const std::string& h = s.history_topic.value;
  auto list = ctx.connectors.namespaces_containing(h);
  const auto exact = ctx.connectors.with_prefix(h);  // the schema-change topic is exactly <prefix>
  list.insert(list.end(), exact.begin(), exact.end());
  // The subject's own namespace counts too.
  const bool own =
      s.topic_prefix.present() &&
      (h == s.topic_prefix.value || (h.size() > s.topic_prefix.value.size() + s.topic_delimiter.size() &&
                                     h.starts_with(s.topic_prefix.value + s.topic_delimiter)));
  std::vector<const ConnectorFacts*> hits = others(s, std::move(list));
  if (hits.empty() && !own) return;
  std::vector<std::string> parties;
  if (own) parties.push_back("this connector's own prefix " + quoted(s.topic_prefix.value));
  for (const auto* c : hits)
    parties.push_back(describe(*c) + " with prefix " + quoted(c->topic_prefix.value));
  out.push_back(make(rule::kSchemaHistoryTopicCollides, s, history_path(s), s.history_topic.line,
                     "schema history topic " + quoted(h) + " lies inside the data-topic namespace of " +
                         list_parties(parties),
                     "move it outside every connector's prefix, e.g. " +
                         quoted(suggested_history_topic(s, ctx.reg()) == h
                                    ? "schema-history." + s.namespace_name + "-" + s.name
                                    : suggested_history_topic(s, ctx.reg())),
                     hits.empty() ? s.key() : hits.front()->key()));
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

void ConnectClusterIndex::add(const ConnectClusterFacts& facts) {
  for (const auto& broker : facts.bootstrap_servers) by_broker_[broker].push_back(&facts);
}

std::vector<const ConnectClusterFacts*> ConnectClusterIndex::sharing_a_broker(
    const ConnectClusterFacts& s) const {
  std::vector<const ConnectClusterFacts*> out;
  for (const auto& broker : s.bootstrap_servers) {
    auto it = by_broker_.find(broker);
    if (it == by_broker_.end()) continue;
    for (const auto* c : it->second) {
      if (c->key() != s.key() && std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
    }
  }
  std::sort(out.begin(), out.end(),
            [](const ConnectClusterFacts* a, const ConnectClusterFacts* b) { return a->key() < b->key(); });
  return out;
}

std::vector<Violation> find_connect_violations(const ConnectClusterFacts& s,
                                               const ConnectClusterIndex& index) {
  std::vector<Violation> out;
  const auto peers = index.sharing_a_broker(s);
  if (peers.empty()) return out;
  if (!s.group_id.value.empty()) {
    for (const auto* c : peers) {
      if (c->group_id.value != s.group_id.value) continue;
      out.push_back(make_connect(rule::kConnectGroupIdDuplicate, s, s.group_id,
                                 "group.id " + value_text(s.group_id) + " is also used by " + describe(*c) +
                                     " on the same Kafka (" + shared_broker(s, *c) +
                                     "): the two clusters would join one Connect group",
                                 "set " + s.group_id.path + " to a value unique to this cluster, e.g. " +
                                     quoted(s.namespace_name + "-" + s.name),
                                 c->key()));
      break;
    }
  }
  const std::pair<const ConnectTopicFact*, const char*> topics[] = {
      {&s.offset_topic, "offsets"}, {&s.config_topic, "configs"}, {&s.status_topic, "status"}};
  for (const auto& [mine, suffix] : topics) {
    if (mine->value.empty()) continue;
    for (const auto* c : peers) {
      const ConnectTopicFact* theirs = nullptr;
      for (const ConnectTopicFact* t : {&c->offset_topic, &c->config_topic, &c->status_topic}) {
        if (t->value == mine->value) theirs = t;
      }
      if (!theirs) continue;
      out.push_back(
          make_connect(rule::kConnectStorageTopicDuplicate, s, *mine,
                       "storage topic " + value_text(*mine) + " is also " + theirs->path + " of " +
                           describe(*c) + " on the same Kafka (" + shared_broker(s, *c) +
                           "): the clusters would overwrite each other's offsets, configs or status",
                       "set " + mine->path + " to a topic unique to this cluster, e.g. " +
                           quoted(s.namespace_name + "-" + s.name + "-" + suffix),
                       c->key()));
      break;
    }
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
