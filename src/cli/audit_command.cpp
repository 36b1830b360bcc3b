#include <nlohmann/json.hpp>

#include "cdcguard/kube/kube_client.hpp"
#include "cdcguard/kube/strimzi_objects.hpp"
#include "cdcguard/model/display_text.hpp"
#include "cdcguard/model/registry_layers.hpp"
#include "cdcguard/model/registry_parser.hpp"
#include "cdcguard/policy/audit.hpp"
#include "cli/cluster_flags.hpp"
#include "cli/commands.hpp"

namespace cdcguard::cli {
namespace {

constexpr const char* kAuditHelp = R"(Usage: cdc-guard audit --registry-configmap NS/NAME [options]

The rules of `check` over the live cluster: every KafkaConnector and
KafkaConnect it runs, against each other and the registry ConfigMap. Read-only:
it needs get and list on kafkaconnectors, kafkaconnects and the ConfigMap(s).
Each violation names its object as kubectl does (kafkaconnector/NS/NAME).

Options:
  --registry-configmap NS/NAME  the registry (with --policy-configmap: its state)
  --policy-configmap NS/NAME    split mode: the registry policy (DESIGN.md "Policy and state")
  --kubeconfig FILE    default: $KUBECONFIG, the pod's service account, ~/.kube/config
  --context NAME       a kubeconfig context other than its current-context
  --namespaces A,B     only these namespaces (default: all)
  --now TIME           evaluate as of this RFC 3339 time or date (default: now)
  --output text|json   text: kafkaconnector/NS/NAME: error: [rule-id] ... (default)
  -h, --help           this help

Exit codes: 0 nothing at deny level, 1 deny-level violations, 2 usage, cluster
or registry errors.
)";

// "kafkaconnector/ns/name", as kubectl names an object.
std::string object_name(const std::string& kind, const std::string& key) {
  std::string lower;
  for (const char c : kind) lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return lower + "/" + key;
}

// The registry the webhook would judge against: the ConfigMap's, or in split
// mode the union of the policy and the state (an absent state is empty).
Registry read_registry(kube::KubeClient& client, const std::pair<std::string, std::string>& registry_cm,
                       const std::optional<std::pair<std::string, std::string>>& policy_cm) {
  const auto parse = [&](const std::pair<std::string, std::string>& where,
                         bool may_be_absent) -> std::optional<Registry> {
    const std::string name = "ConfigMap " + where.first + "/" + where.second;
    const auto object = kube::get_configmap(client, where.first, where.second);
    if (!object) {
      if (may_be_absent) return std::nullopt;
      throw RegistryError(name + " not found", {name + " does not exist: give the registry's ConfigMap"});
    }
    const auto data = object->find("data");
    if (data == object->end() || !data->is_object() || !data->contains("registry.yaml") ||
        !(*data)["registry.yaml"].is_string())
      throw RegistryError(name + " has no data key registry.yaml", {name + ": no data key registry.yaml"});
    return parse_registry((*data)["registry.yaml"].get<std::string>(), name + " registry.yaml");
  };
  if (!policy_cm) return *parse(registry_cm, false);
  const Registry policy = *parse(*policy_cm, false);
  const auto state = parse(registry_cm, true);
  return state ? merge_registry_layers(policy, *state) : policy;
}

void print_json(const CheckReport& report, const std::string& error, std::ostream& out) {
  nlohmann::ordered_json violations = nlohmann::ordered_json::array();
  for (const auto& v : report.violations) {
    violations.push_back({{"rule", v.rule},
                          {"severity", to_string(severity_of(v.action))},
                          {"action", std::string(to_string(v.action))},
                          {"object", object_name(v.subject_kind, v.subject)},
                          {"connector", v.subject},
                          {"kind", v.subject_kind},
                          {"path", v.path},
                          {"message", v.message},
                          {"other", v.other},
                          {"fix", v.fix}});
  }
  nlohmann::ordered_json doc{{"violations", std::move(violations)},
                             {"summary",
                              {{"connectors", report.summary.connectors},
                               {"connectClusters", report.summary.connect_clusters},
                               {"errors", report.summary.errors},
                               {"warnings", report.summary.warnings},
                               {"exempted", report.summary.exempted}}}};
  if (!error.empty()) doc["errors"] = nlohmann::ordered_json::array({{{"message", error}}});
  out << doc.dump(2, ' ', true, nlohmann::ordered_json::error_handler_t::replace) << "\n";
}

void print_text(const CheckReport& report, const std::string& source, std::ostream& out) {
  for (const auto& v : report.violations) {
    out << escape_for_display(object_name(v.subject_kind, v.subject)) << ": "
        << to_string(severity_of(v.action)) << ": [" << v.rule << "] " << escape_for_display(v.path) << ": "
        << escape_for_display(v.message);
    if (v.action == Action::Audit) out << " (audit)";
    out << "\n";
  }
  const auto plural = [](std::size_t n, const char* word) {
    return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
  };
  out << "audited " << plural(report.summary.connectors, "connector") << " and "
      << plural(report.summary.connect_clusters, "KafkaConnect") << " in " << escape_for_display(source) << ": "
      << plural(report.summary.errors, "error") << ", " << plural(report.summary.warnings, "warning");
  if (report.summary.exempted > 0) out << ", " << report.summary.exempted << " exempted";
  out << "\n";
}

}  // namespace

int run_audit(const std::vector<std::string>& args, Streams io) {
  ParsedArgs parsed;
  TimePoint now;
  std::string output;
  std::pair<std::string, std::string> registry_cm;
  std::optional<std::pair<std::string, std::string>> policy_cm;
  std::vector<std::string> namespaces;
  try {
    parsed = parse_args(args, {"--kubeconfig", "--context", "--registry-configmap", "--policy-configmap",
                               "--namespaces", "--now", "--output"});
    if (parsed.help) {
      io.out << kAuditHelp;
      return kExitOk;
    }
    if (!parsed.positional.empty()) throw UsageError("unexpected argument \"" + parsed.positional.front() + "\"");
    now = resolve_now(parsed);
    output = parsed.flags.contains("--output") ? parsed.flags["--output"] : "text";
    if (output != "text" && output != "json") throw UsageError("--output must be text or json");
    if (!parsed.flags.contains("--registry-configmap"))
      throw UsageError("--registry-configmap NS/NAME is required (the registry to audit against)");
    registry_cm = configmap_flag(parsed.flags["--registry-configmap"], "--registry-configmap");
    if (parsed.flags.contains("--policy-configmap"))
      policy_cm = configmap_flag(parsed.flags["--policy-configmap"], "--policy-configmap");
    if (parsed.flags.contains("--namespaces")) namespaces = namespaces_flag(parsed.flags["--namespaces"]);
  } catch (const UsageError& e) {
    io.err << "cdc-guard audit: " << e.what() << "\n\n" << kAuditHelp;
    return kExitUsage;
  }

  const auto fail = [&](const std::string& message) {
    io.err << "cdc-guard audit: " << escape_for_display(message) << "\n";
    if (output == "json") print_json(CheckReport{}, message, io.out);
    return kExitUsage;
  };
  std::string source;
  try {
    const kube::ClusterConfig cluster = cluster_config_from_flags(parsed);
    source = cluster.source;
    kube::KubeClient client(cluster);
    const Registry registry = read_registry(client, registry_cm, policy_cm);
    const std::string version = kube::discover_strimzi_version(client);
    const ClusterView view = kube::read_cluster_view(client, version, namespaces);
    const CheckReport report = audit_cluster(view, registry, now);
    if (output == "json")
      print_json(report, "", io.out);
    else
      print_text(report, source, io.out);
    return report.has_errors() ? kExitViolations : kExitOk;
  } catch (const UsageError& e) {
    io.err << "cdc-guard audit: " << e.what() << "\n\n" << kAuditHelp;
    return kExitUsage;
  } catch (const RegistryError& e) {
    for (const auto& p : e.problems()) io.err << escape_for_display(p) << "\n";
    return fail(std::string("the registry is not valid; nothing was audited: ") + e.what());
  } catch (const kube::ConfigError& e) {
    return fail(e.what());
  } catch (const std::exception& e) {
    return fail((source.empty() ? std::string() : source + ": ") + e.what());
  }
}

}  // namespace cdcguard::cli
