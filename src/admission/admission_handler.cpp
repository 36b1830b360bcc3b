#include "cdcguard/admission/admission_handler.hpp"

#include <algorithm>

#include "cdcguard/model/manifest.hpp"
#include "cdcguard/model/names.hpp"
#include "cdcguard/policy/claims.hpp"
#include "cdcguard/policy/connector_index.hpp"
#include "cdcguard/policy/registry_index.hpp"
#include "cdcguard/policy/rules.hpp"
#include "cdcguard/policy/server_id_allocator.hpp"

namespace cdcguard::admission {
namespace {

Response allow(const Request& r) {
  Response out;
  out.uid = r.uid;
  return out;
}

Response deny(const Request& r, int code, std::string message) {
  Response out;
  out.uid = r.uid;
  out.allowed = false;
  out.code = code;
  out.message = std::move(message);
  return out;
}

bool is_connector(const Request& r) {
  return r.kind.group == "kafka.strimzi.io" && r.kind.kind == "KafkaConnector";
}

std::optional<ConnectorFacts> facts_of(const YamlNode& object, const Request& r, std::string& error) {
  std::vector<ManifestError> errors;
  auto facts = connector_from_object(object, {}, r.namespace_name, errors);
  if (!facts) {
    error = errors.empty() ? "the KafkaConnector cannot be read" : errors.front().message;
    return std::nullopt;
  }
  if (!r.name.empty()) facts->name = r.name;  // generateName: the API server knows the final name
  if (!r.namespace_name.empty()) facts->namespace_name = r.namespace_name;
  return facts;
}

// A mutating webhook runs before the API server generates a name from
// metadata.generateName, so /mutate may see a connector without one: its facts
// are read all the same, with the name left empty.
std::optional<ConnectorFacts> facts_of_unnamed(const YamlNode& object, const Request& r) {
  const YamlNode* metadata = object.find("metadata");
  const YamlNode* name = metadata ? metadata->find("name") : nullptr;
  if (!r.name.empty() || !metadata || !metadata->is_map() ||
      (name && !(name->is_null() || (name->is_scalar() && name->scalar().empty()))))
    return std::nullopt;
  YamlNode named = object;
  for (auto& [key, value] : named.mutable_entries()) {
    if (key != "metadata") continue;
    std::erase_if(value.mutable_entries(), [](const auto& entry) { return entry.first == "name"; });
    value.mutable_key_lines().clear();
    value.mutable_entries().emplace_back("name", YamlNode::make_scalar("unnamed", value.line(), true, false));
  }
  std::string error;
  auto facts = facts_of(named, r, error);
  if (facts) facts->name.clear();
  return facts;
}

// A claim is keyed by namespace/name; only a key the API server would accept
// (and the registry parser reads back) is ever recorded. "" when valid.
std::string key_problem(const ConnectorFacts& s) {
  return connector_key_problem(s.namespace_name, s.name);
}

// The facts the rules read; an UPDATE that changes none of them is ratcheted.
bool same_rule_facts(const ConnectorFacts& a, const ConnectorFacts& b) {
  auto legacy = [](const ConnectorFacts& f) {
    std::vector<std::string_view> keys;
    for (const auto& k : f.legacy_keys) keys.push_back(k.key);
    return keys;
  };
  return a.connector_class == b.connector_class && a.server_id.text == b.server_id.text &&
         a.topic_prefix.value == b.topic_prefix.value && a.topic_delimiter == b.topic_delimiter &&
         a.history_topic.value == b.history_topic.value && a.history_class == b.history_class &&
         a.generation == b.generation && legacy(a) == legacy(b) &&
         a.database_include_list == b.database_include_list && a.table_include_list == b.table_include_list &&
         a.key() == b.key();
}

// The other connectors: the cluster's (in a cluster) or none (standalone, where
// the registry stands for them). The rules skip the subject's own key in the
// view, so an empty view judges exactly as one holding only the subject.
const ConnectorIndex& others_in(const ClusterView* cluster) {
  static const ConnectorIndex kNoOthers;
  return cluster ? cluster->connectors : kNoOthers;
}

// /validate judges the object as stored: /mutate has run (or never will), so
// the rules see the id it assigned, or that none was.
std::vector<Violation> evaluate(const ConnectorFacts& subject, const RegistryIndex& index,
                                const ClusterView* cluster, TimePoint now) {
  const Registry& registry = index.registry();
  const ConnectorIndex& view = others_in(cluster);
  const ConnectorFacts s = with_mutation_defaults(subject, registry);
  const ServerIdAllocator allocator(index, view, now);
  const FixHints hints(allocator);
  const EvaluationContext ctx{index, view, hints, now, /*after_mutation=*/true};
  auto found = find_connector_violations(s, ctx);
  apply_enforcement(found, registry, now);
  return found;
}

std::string describe(const Violation& v) {
  return "[" + v.rule + "] " + v.path + ": " + v.message;
}

Response verdict(const Request& r, const ConnectorFacts& subject, const std::vector<Violation>& found) {
  std::string denied;
  Response out = allow(r);
  for (const auto& v : found) {
    if (v.action == Action::Deny) {
      denied += (denied.empty() ? "" : "; ") + describe(v);
      out.denied_by.push_back(v.rule);
    } else if (v.action == Action::Warn) {
      out.warnings.push_back(describe(v));
      out.warned_by.push_back(v.rule);
    }
  }
  if (denied.empty()) return out;
  Response d = deny(r, 403, "cdc-guard denied KafkaConnector " + subject.key() + ": " + denied);
  d.warnings = std::move(out.warnings);
  d.denied_by = std::move(out.denied_by);
  d.warned_by = std::move(out.warned_by);
  return d;
}

bool is_connect_cluster(const Request& r) {
  return r.kind.group == "kafka.strimzi.io" && r.kind.kind == "KafkaConnect";
}

}  // namespace

std::shared_ptr<const ClusterView> AdmissionHandler::cluster() const {
  return options_.cluster ? options_.cluster() : nullptr;
}

Response AdmissionHandler::validate(const Request& r) {
  if (is_connect_cluster(r) && (r.operation == "CREATE" || r.operation == "UPDATE"))
    return validate_connect(r);
  if (!is_connector(r) || r.operation == "DELETE" || r.operation == "CONNECT") return allow(r);
  std::string error;
  const auto subject = facts_of(r.object, r, error);
  if (!subject) return deny(r, 400, "invalid KafkaConnector: " + error);
  if (!subject->is_debezium()) return allow(r);
  // The API server refuses such a name too; here it would be a registry key
  // that no parser reads back.
  if (const std::string problem = key_problem(*subject); !problem.empty())
    return deny(r, 400,
                "invalid KafkaConnector: " + problem + "; cdc-guard records server ids by namespace/name");
  const TimePoint now = clock_();
  const auto view = cluster();
  const ClaimStyle style{options_.pending_claims, options_.claim_ttl, r.uid, options_.cluster_name};
  std::optional<Response> judged;  // the verdict before a write failed, for allow-from-cache
  try {
    const auto snapshot = store_.snapshot();
    if (r.operation == "UPDATE" && r.old_object.is_map()) {
      std::string old_error;
      const auto before = facts_of(r.old_object, r, old_error);
      if (before && same_rule_facts(*before, *subject)) {
        Response out = allow(r);
        for (const auto& v : evaluate(*subject, snapshot->index, view.get(), now)) {
          if (v.action == Action::Audit) continue;
          out.warnings.push_back(describe(v));
          out.warned_by.push_back(v.rule);
        }
        return out;
      }
    }
    // Most admissions change nothing (a re-applied manifest, a retry): judged on
    // the shared snapshot without taking the write lock.
    Response out = verdict(r, *subject, evaluate(*subject, snapshot->index, view.get(), now));
    if (r.dry_run || !out.allowed || is_recorded(snapshot->index, *subject, now, style)) return out;
    judged = out;
    // The verdict that counts is the one computed against the version it is written into.
    store_.update([&](Registry& registry) {
      const RegistryIndex index(registry);
      out = verdict(r, *subject, evaluate(*subject, index, view.get(), now));
      return out.allowed && record_admitted(registry, *subject, now, style);
    });
    return out;
  } catch (const StoreUnavailable& e) {
    if (options_.on_api_error == OnApiError::AllowFromCache) {
      const auto last = store_.last_known();
      if (last) {
        Response out =
            judged ? *judged : verdict(r, *subject, evaluate(*subject, last->index, view.get(), now));
        if (out.allowed)
          out.warnings.push_back(
              std::string("cdc-guard admitted this from its cache without recording a claim "
                          "(--on-api-error allow-from-cache): ") +
              e.what());
        return out;
      }
    }
    return deny(
        r, 500,
        std::string("cdc-guard cannot read or write the registry, so it cannot rule out a duplicate: ") +
            e.what());
  } catch (const StoreError& e) {
    return deny(
        r, 500,
        std::string("cdc-guard cannot read or write the registry, so it cannot rule out a duplicate: ") +
            e.what());
  }
}

// A KafkaConnect is judged against the other Connect clusters the cluster
// cache saw (connect-* rules); standalone there are none. An UPDATE that keeps
// the facts those rules read is ratcheted like a connector's.
Response AdmissionHandler::validate_connect(const Request& r) {
  std::vector<ManifestError> errors;
  const auto subject = connect_cluster_from_object(r.object, {}, r.namespace_name, errors);
  if (!subject) return allow(r);  // not a shape the connect-* rules can read; Strimzi's CRD schema judges it
  const auto view = cluster();
  if (!view) return allow(r);
  const TimePoint now = clock_();
  std::vector<Violation> found = find_connect_violations(*subject, view->connect_index);
  if (found.empty()) return allow(r);
  try {
    apply_enforcement(found, store_.snapshot()->registry, now);
  } catch (const StoreError&) {
    // The enforcement actions live in the registry; without it every rule denies (its default).
  }
  bool ratchet = false;
  if (r.operation == "UPDATE" && r.old_object.is_map()) {
    std::vector<ManifestError> old_errors;
    const auto before = connect_cluster_from_object(r.old_object, {}, r.namespace_name, old_errors);
    ratchet = before && before->bootstrap_servers == subject->bootstrap_servers &&
              before->group_id.value == subject->group_id.value &&
              before->offset_topic.value == subject->offset_topic.value &&
              before->config_topic.value == subject->config_topic.value &&
              before->status_topic.value == subject->status_topic.value;
  }
  std::string denied;
  Response out = allow(r);
  for (const auto& v : found) {
    if (v.action == Action::Deny && !ratchet) {
      denied += (denied.empty() ? "" : "; ") + describe(v);
      out.denied_by.push_back(v.rule);
    } else if (v.action != Action::Audit) {
      out.warnings.push_back(describe(v));
      out.warned_by.push_back(v.rule);
    }
  }
  if (denied.empty()) return out;
  Response d = deny(r, 403, "cdc-guard denied KafkaConnect " + subject->key() + ": " + denied);
  d.warnings = std::move(out.warnings);
  d.denied_by = std::move(out.denied_by);
  d.warned_by = std::move(out.warned_by);
  return d;
}

Response AdmissionHandler::mutate(const Request& r) {
  if (!is_connector(r) || (r.operation != "CREATE" && r.operation != "UPDATE")) return allow(r);
  std::string error;
  auto subject = facts_of(r.object, r, error);
  if (!subject) subject = facts_of_unnamed(r.object, r);
  if (!subject || !subject->reads_binlog()) return allow(r);  // /validate explains what is wrong
  const auto state = subject->server_id.state;
  if (state != ServerIdValue::State::Missing && state != ServerIdValue::State::Auto) return allow(r);
  const TimePoint now = clock_();
  const auto view = cluster();
  const ClaimStyle style{options_.pending_claims, options_.claim_ttl, r.uid, options_.cluster_name};
  try {
    const auto snapshot = store_.snapshot();
    if (!snapshot->registry.rules.auto_assign) return allow(r);  // /validate reports server-id-missing
    // No name yet (metadata.generateName) or one that cannot key a claim: no
    // id, no claim. /validate sees the final name and judges the connector.
    if (!key_problem(*subject).empty()) {
      // Warnings are cut at 120 characters: the reason in short; /validate,
      // which sees the final name, gives it in full.
      Response out = allow(r);
      out.warnings.push_back(
          !dns1123_label_problem(subject->namespace_name).empty()
              ? "cdc-guard assigned no server id: the namespace is not a valid DNS-1123 label"
          : subject->name.empty()
              ? "cdc-guard assigned no server id: no metadata.name yet (generateName); set metadata.name or "
                "database.server.id"
              : "cdc-guard assigned no server id: metadata.name is not a valid DNS-1123 subdomain; fix it or "
                "set "
                "database.server.id");
      return out;
    }
    std::optional<std::uint32_t> id;
    std::string why;
    ConnectorFacts patched;  // the connector as the patch leaves it
    // Picks the id against one registry version; true when a claim must be written.
    auto decide = [&](const RegistryIndex& index) {
      id.reset();
      why.clear();
      const Registry& registry = index.registry();
      if (!registry.rules.auto_assign) return false;
      const Allocation a = ServerIdAllocator(index, others_in(view.get()), now)
                               .next_for(subject->namespace_name, subject->key());
      if (!a.id) {
        why = a.error;
        return false;
      }
      id = a.id;
      // The claim records the topics the object will have: its own, and the
      // history topic the template fills in when it has none.
      patched = with_mutation_defaults(*subject, registry);
      patched.server_id = parse_server_id(std::to_string(*id), true);
      return assignment_needs_claim(index, subject->key(), now);
    };
    if (decide(snapshot->index) && !r.dry_run) {
      store_.update([&](Registry& registry) {
        return decide(RegistryIndex(registry)) && claim_id(registry, patched, *id, now, style);
      });
    }
    if (!why.empty())
      return deny(r, 403, "cdc-guard cannot assign a server id to " + subject->key() + ": " + why);
    if (!id) return allow(r);  // autoAssign was turned off meanwhile: /validate reports server-id-missing
    Response out = allow(r);
    const std::optional<std::string> history =
        patched.history_topic.from_template ? std::optional(patched.history_topic.value) : std::nullopt;
    out.patch = server_id_patch(r.object, *id, history, patched.history_topic.key).dump();
    return out;
  } catch (const StoreError& e) {
    // No allow-from-cache here: an id that is not claimed could be handed out twice.
    return deny(
        r, 500,
        std::string("cdc-guard cannot read or write the registry to assign a server id: ") + e.what());
  }
}

}  // namespace cdcguard::admission
