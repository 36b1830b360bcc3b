#include "cdcguard/kube/kube_client.hpp"
#include "cdcguard/kube/strimzi_objects.hpp"
#include "cdcguard/model/display_text.hpp"
#include "cdcguard/model/registry_layers.hpp"
#include "cdcguard/model/registry_parser.hpp"
#include "cdcguard/policy/audit.hpp"
#include "cli/cluster_flags.hpp"
#include "cli/commands.hpp"
#include "cli/report_formats.hpp"

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
  --output FORMAT      text (default): kafkaconnector/NS/NAME: error: [rule-id] ...;
                       json, sarif (SARIF 2.1.0), junit (JUnit XML), github (workflow
                       commands): as `check --help` describes them
  -h, --help           this help

Exit codes: 0 nothing at deny level, 1 deny-level violations, 2 usage, cluster
or registry errors.
)";

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

}  // namespace

int run_audit(const std::vector<std::string>& args, Streams io) {
  ParsedArgs parsed;
  TimePoint now;
  OutputFormat output = OutputFormat::Text;
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
    if (!parsed.positional.empty())
      throw UsageError("unexpected argument \"" + parsed.positional.front() + "\"");
    now = resolve_now(parsed);
    if (parsed.flags.contains("--output")) {
      const auto format = parse_output_format(parsed.flags["--output"]);
      if (!format) throw UsageError("--output must be " + std::string(kOutputFormatNames));
      output = *format;
    }
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

  const ReportContext context{"audit", kVersion, ReportSource::Cluster};
  const auto fail = [&](const std::string& message) {
    io.err << "cdc-guard audit: " << escape_for_display(message) << "\n";
    // The machine-readable formats say it too, so a CI report shows why.
    if (output != OutputFormat::Text)
      write_report(output, CheckReport{}, {InputError{"", 0, message}}, 0, context, io.out, io.err);
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
    write_report(output, report, {}, 0, context, io.out, io.err);
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
