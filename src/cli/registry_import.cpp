#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cdcguard/kube/kube_client.hpp"
#include "cdcguard/kube/strimzi_objects.hpp"
#include "cdcguard/model/display_text.hpp"
#include "cdcguard/model/manifest.hpp"
#include "cdcguard/model/registry_layers.hpp"
#include "cdcguard/model/registry_parser.hpp"
#include "cdcguard/model/registry_writer.hpp"
#include "cdcguard/policy/reconciler.hpp"
#include "cdcguard/store/file_registry_store.hpp"
#include "cli/cluster_flags.hpp"
#include "cli/commands.hpp"
#include "cli/file_inputs.hpp"
#include "cli/text_diff.hpp"

namespace cdcguard::cli {
namespace {

constexpr const char* kImportHelp =
    R"(Usage: cdc-guard registry import (--registry-configmap NS/NAME | --registry FILE) [options] [--from-files PATH...]

Builds or completes the registry from what runs: one Active entry per
Debezium MySQL/MariaDB connector with a valid server id, with its topics, its
owner (the team of its namespace) and the cluster. Connectors that conflict
(two on one id, a shared schema history topic, an id reserved, embargoed or
held by another entry, a connector registered with another id) are listed and
not imported. Existing entries are never changed or dropped.

Without --apply it prints the change (a markdown table and a YAML diff) and
writes nothing. With --apply it writes: a ConfigMap with resourceVersion
compare-and-swap (created when absent, with the default rules), a file in
place under a lock (created when absent).

Where the connectors come from:
  (default)            the cluster: --kubeconfig FILE, --context NAME, --namespaces A,B
  --from-files         the manifests in PATH... (files, directories, - for stdin), as
                       `check` reads them: a GitOps repository
  --namespace NS       --from-files: the namespace of objects without one (default: default)

Where the registry is:
  --registry-configmap NS/NAME  in the cluster (with --policy-configmap: its state)
  --policy-configmap NS/NAME    split mode: the registry policy, read only
  --registry FILE               a registry YAML file

Options:
  --cluster-name NAME  the cluster the connectors run in, written into each entry
                       (default: default; the --cluster-name of that cluster's serve)
  --apply              write the change
  --now TIME           the entries' date, as of this RFC 3339 time or date (default: now)
  -h, --help           this help

Exit codes: 0 every binlog connector is registered (now or before), 1 some were
not imported (listed), 2 usage, read, cluster or registry errors.
)";

struct Target {
  std::optional<std::pair<std::string, std::string>> configmap;
  std::optional<std::pair<std::string, std::string>> policy;
  std::string file;
};

// The registry as it is now, what the import writes into, and where.
struct Current {
  Registry judged;               // the registry the import judges against (in split mode, the union)
  Registry policy;               // split mode: the policy
  Registry state;                // split mode: the state as it is (its other sections are kept)
  std::string document;          // the text now at the target ("" when absent)
  std::string resource_version;  // ConfigMap: "" when absent
  bool exists = false;
  bool configmap_manifest = false;  // a file that is a ConfigMap manifest holding the registry
};

std::string configmap_path(const std::pair<std::string, std::string>& cm, bool collection = false) {
  return "/api/v1/namespaces/" + cm.first + "/configmaps" + (collection ? "" : "/" + cm.second);
}

std::optional<std::string> registry_text_of(const nlohmann::json& object, const std::string& name) {
  const auto data = object.find("data");
  if (data == object.end() || !data->is_object()) return std::nullopt;
  const auto text = data->find("registry.yaml");
  if (text == data->end()) return std::nullopt;
  if (!text->is_string()) throw RegistryError(name + ": data.registry.yaml is not a string", {});
  return text->get<std::string>();
}

Current read_current(kube::KubeClient* client, const Target& target) {
  Current current;
  if (!target.file.empty()) {
    std::error_code ec;
    if (!std::filesystem::exists(target.file, ec)) {
      current.judged = default_registry();
      return current;
    }
    std::ifstream in(target.file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in) throw RegistryError("cannot read " + target.file, {target.file + ": cannot be read"});
    current.document = text.str();
    current.exists = true;
    current.judged = parse_registry_document(current.document, target.file);
    // A ConfigMap manifest: the diff is of its data.registry.yaml.
    if (const auto held = find_registry_configmaps(current.document, target.file); !held.empty()) {
      current.configmap_manifest = true;
      current.document = held.front().text;
    }
    return current;
  }
  const auto& cm = *target.configmap;
  const std::string name = "ConfigMap " + cm.first + "/" + cm.second;
  const auto object = kube::get_configmap(*client, cm.first, cm.second);
  Registry state;
  if (object) {
    current.exists = true;
    current.resource_version = object->at("metadata").value("resourceVersion", std::string());
    const auto text = registry_text_of(*object, name);
    if (!text)
      throw RegistryError(name + " has no data key registry.yaml", {name + ": no data key registry.yaml"});
    current.document = *text;
    state = parse_registry(*text, name + " registry.yaml");
  }
  if (!target.policy) {
    current.judged = object ? state : default_registry();
    return current;
  }
  const std::string policy_name = "ConfigMap " + target.policy->first + "/" + target.policy->second;
  const auto policy = kube::get_configmap(*client, target.policy->first, target.policy->second);
  if (!policy) throw RegistryError(policy_name + " not found", {policy_name + " does not exist"});
  const auto policy_text = registry_text_of(*policy, policy_name);
  if (!policy_text) throw RegistryError(policy_name + " has no data key registry.yaml", {});
  current.policy = parse_registry(*policy_text, policy_name + " registry.yaml");
  current.judged = object ? merge_registry_layers(current.policy, state) : current.policy;
  current.state = std::move(state);
  return current;
}

// The document to write for `after` (the judged registry with the imports).
std::string document_for(const Registry& after, const Current& current, const Target& target) {
  if (!target.policy) return render_checked_registry_yaml(after);
  // As serve writes the state: its entries, and whatever else a migrated
  // state document carries, kept.
  Registry state = current.state;
  state.entries = state_entries_for(after, current.policy);
  return has_policy_sections(state) ? render_checked_registry_yaml(state)
                                    : render_checked_entries_yaml(state);
}

std::string cell(const std::string& text) {
  std::string out;
  for (const char c : escape_for_display(text)) {
    if (c == '|') out += "\\";
    out += c;
  }
  return out.empty() ? "-" : out;
}

void print_plan(const Registry& after, const ReconcileReport& report, const std::string& before_doc,
                const std::string& after_doc, const std::string& where, std::ostream& out) {
  std::size_t imported = 0;
  for (const auto& change : report.changes) imported += change.step == ReconcileStep::Adopt ? 1 : 0;
  out << "## Imported into " << escape_for_display(where) << ": " << imported << " connector"
      << (imported == 1 ? "" : "s") << "\n\n";
  if (imported > 0) {
    out << "| Connector | Server ID | Owner | Topic prefix | Schema history topic | Cluster |\n"
           "|---|---:|---|---|---|---|\n";
    for (const auto& change : report.changes) {
      if (change.step != ReconcileStep::Adopt) continue;
      for (const auto& e : after.entries) {
        if (e.connector != change.connector || e.server_id != change.server_id) continue;
        out << "| " << cell(e.connector) << " | " << e.server_id << " | " << cell(e.owner) << " | "
            << cell(e.topic_prefix) << " | " << cell(e.schema_history_topic) << " | " << cell(e.cluster)
            << " |\n";
        break;
      }
    }
    out << "\n";
  }
  if (!report.not_adopted.empty()) {
    out << "## Not imported: " << report.not_adopted.size() << " connector"
        << (report.not_adopted.size() == 1 ? "" : "s") << " in conflict\n\n"
        << "| Connector | Server ID | Conflict | Why |\n|---|---:|---|---|\n";
    for (const auto& n : report.not_adopted)
      out << "| " << cell(n.connector) << " | " << n.server_id << " | " << to_string(n.blocker) << " | "
          << cell(n.reason) << " |\n";
    out << "\n";
  }
  const std::string diff = unified_diff(before_doc, after_doc, where + " (now)", where + " (imported)");
  if (diff.empty()) return;
  out << "```diff\n";
  std::istringstream lines(diff);
  for (std::string line; std::getline(lines, line);) out << escape_for_display(line) << "\n";
  out << "```\n";
}

// What the flags ask for.
struct ImportConfig {
  Target target;
  TimePoint now;
  ReconcileOptions options;  // cluster name, namespaces, import_only
  bool from_files = false;
  bool apply = false;
  std::vector<std::string> paths;             // --from-files
  std::string default_namespace = "default";  // --from-files: --namespace
};

ImportConfig parse_import_args(ParsedArgs& parsed) {
  ImportConfig c;
  c.now = resolve_now(parsed);
  c.options.import_only = true;
  c.from_files = parsed.flags.contains("--from-files");
  c.apply = parsed.flags.contains("--apply");
  const bool to_configmap = parsed.flags.contains("--registry-configmap");
  if (to_configmap == parsed.flags.contains("--registry"))
    throw UsageError("give one of --registry-configmap NS/NAME and --registry FILE");
  if (to_configmap) {
    c.target.configmap = configmap_flag(parsed.flags["--registry-configmap"], "--registry-configmap");
  } else {
    c.target.file = parsed.flags["--registry"];
    if (c.target.file.empty()) throw UsageError("--registry needs a file");
  }
  if (parsed.flags.contains("--policy-configmap")) {
    if (!to_configmap) throw UsageError("--policy-configmap goes with --registry-configmap");
    c.target.policy = configmap_flag(parsed.flags["--policy-configmap"], "--policy-configmap");
  }
  if (c.from_files && parsed.positional.empty())
    throw UsageError("--from-files needs at least one PATH (a file, a directory, or - for stdin)");
  if (!c.from_files && !parsed.positional.empty())
    throw UsageError("unexpected argument \"" + parsed.positional.front() +
                     "\" (manifests go with --from-files)");
  if (!c.from_files && parsed.flags.contains("--namespace"))
    throw UsageError("--namespace goes with --from-files (the cluster's objects have theirs)");
  if (c.from_files && parsed.flags.contains("--namespaces"))
    throw UsageError("--namespaces reads the cluster; with --from-files every manifest in PATH is read");
  if (parsed.flags.contains("--namespaces"))
    c.options.namespaces = namespaces_flag(parsed.flags["--namespaces"]);
  if (parsed.flags.contains("--namespace")) c.default_namespace = parsed.flags["--namespace"];
  if (auto it = parsed.flags.find("--cluster-name"); it != parsed.flags.end())
    c.options.cluster_name = it->second;
  c.paths = parsed.positional;
  return c;
}

// The connectors of the manifests in `paths`, read as `check` reads them;
// nullopt (after saying why on `err`) when any could not be read.
std::optional<ConnectorIndex> read_manifest_connectors(const ImportConfig& config, Streams io) {
  std::vector<InputProblem> problems;
  const auto files = expand_inputs(config.paths, problems);
  ManifestSet manifests;
  for (const auto& path : files) {
    std::string error;
    auto input = read_input(path, io.in, error);
    if (!input) {
      problems.push_back({path, error});
      continue;
    }
    parse_manifests(input->text, input->name, config.default_namespace, manifests);
  }
  for (const auto& p : problems)
    io.err << escape_for_display(p.path) << ": error: " << escape_for_display(p.message) << "\n";
  for (const auto& e : manifests.errors)
    io.err << escape_for_display(e.location.file) << ":" << e.location.line
           << ": error: " << escape_for_display(e.message) << "\n";
  ConnectorIndex connectors;
  bool twice = false;
  for (auto& c : manifests.connectors) {
    if (connectors.find(c.key())) {
      io.err << escape_for_display(c.location.file) << ":" << c.location.line << ": error: KafkaConnector "
             << escape_for_display(c.key()) << " is defined twice\n";
      twice = true;
      continue;
    }
    connectors.upsert(std::move(c));
  }
  if (!problems.empty() || !manifests.errors.empty() || twice) return std::nullopt;
  return connectors;
}

class ImportFailed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Writes the planned document; false when a ConfigMap changed since it was
// read (plan again). Throws ImportFailed when it cannot be written.
bool write_import(kube::KubeClient* client, const ImportConfig& config, const Current& current,
                  const ConnectorIndex& connectors, const std::string& after_doc, const std::string& where) {
  const Target& target = config.target;
  if (current.configmap_manifest)
    throw ImportFailed(target.file +
                       " is a ConfigMap manifest: --apply writes bare registry YAML only; put the printed "
                       "entries into its data.registry.yaml, or point --registry at a bare registry file");
  if (!target.file.empty()) {
    if (!current.exists) {
      if (!FileRegistryStore::create(target.file, after_doc, false, 0644))
        throw ImportFailed(target.file + " appeared meanwhile; run the import again");
      return true;
    }
    // Under the file's lock, planned again on what is there now.
    FileRegistryStore store(target.file);
    store.update([&](Registry& registry) {
      return reconcile(registry, connectors, config.now, config.options).changed();
    });
    return true;
  }
  kube::HttpResponse response;
  if (current.exists) {
    auto body = kube::get_configmap(*client, target.configmap->first, target.configmap->second);
    if (!body || body->at("metadata").value("resourceVersion", std::string()) != current.resource_version)
      return false;
    (*body)["data"]["registry.yaml"] = after_doc;
    response = client->put(configmap_path(*target.configmap), body->dump());
  } else {
    const nlohmann::json body = {{"apiVersion", "v1"},
                                 {"kind", "ConfigMap"},
                                 {"metadata",
                                  {{"name", target.configmap->second},
                                   {"namespace", target.configmap->first},
                                   {"labels", {{"app.kubernetes.io/managed-by", "cdc-guard"}}}}},
                                 {"data", {{"registry.yaml", after_doc}}}};
    response = client->post(configmap_path(*target.configmap, true), body.dump());
  }
  if (response.status == 409) return false;
  if (response.status != 200 && response.status != 201)
    throw ImportFailed("writing " + where + " answered " + std::to_string(response.status) + ": " +
                       kube::status_message(response) + "; nothing was written");
  return true;
}

}  // namespace

int registry_import(const std::vector<std::string>& args, Streams io) {
  ParsedArgs parsed;
  ImportConfig config;
  try {
    parsed = parse_args(args,
                        {"--kubeconfig", "--context", "--registry-configmap", "--policy-configmap",
                         "--registry", "--namespaces", "--namespace", "--cluster-name", "--now"},
                        {"--from-files", "--apply"});
    if (parsed.help) {
      io.out << kImportHelp;
      return kExitOk;
    }
    config = parse_import_args(parsed);
  } catch (const UsageError& e) {
    io.err << "cdc-guard registry import: " << e.what() << "\n\n" << kImportHelp;
    return kExitUsage;
  }
  const auto fail = [&](const std::string& message) {
    io.err << "cdc-guard registry import: " << escape_for_display(message) << "\n";
    return kExitUsage;
  };
  const Target& target = config.target;
  const std::string where = target.file.empty()
                                ? "ConfigMap " + target.configmap->first + "/" + target.configmap->second
                                : target.file;
  try {
    std::unique_ptr<kube::KubeClient> client;
    if (!config.from_files || target.configmap)
      client = std::make_unique<kube::KubeClient>(cluster_config_from_flags(parsed));
    ConnectorIndex connectors;
    if (config.from_files) {
      auto read = read_manifest_connectors(config, io);
      if (!read) return fail("the manifests could not all be read; nothing was imported");
      connectors = std::move(*read);
    } else {
      const std::string version = kube::discover_strimzi_version(*client);
      connectors = std::move(kube::read_cluster_view(*client, version, config.options.namespaces).connectors);
    }
    // A ConfigMap is written with compare-and-swap: when another writer (the
    // webhook's claims, the reconciler) came first, read again and plan again.
    for (int attempt = 1;; ++attempt) {
      const Current current = read_current(client.get(), target);
      Registry after = current.judged;
      const ReconcileReport report = reconcile(after, connectors, config.now, config.options);
      // An import only adds: every entry there was is still there, unchanged.
      for (const auto& before : current.judged.entries) {
        if (std::find(after.entries.begin(), after.entries.end(), before) == after.entries.end())
          return fail("internal error: the import would change the entry of " + before.connector +
                      "; nothing was written");
      }
      const std::string after_doc =
          report.changed() ? document_for(after, current, target) : current.document;
      const int code = report.not_adopted.empty() ? kExitOk : kExitViolations;
      if (!config.apply || !report.changed()) {
        print_plan(after, report, current.document, after_doc, where, io.out);
        io.out << (report.changed() ? "Nothing was written: run again with --apply to write this.\n"
                                    : "Nothing to import: " + escape_for_display(where) + " is unchanged.\n");
        return code;
      }
      if (!write_import(client.get(), config, current, connectors, after_doc, where)) {
        if (attempt < 5) continue;
        return fail(where + " keeps changing; nothing was written, run the import again");
      }
      print_plan(after, report, current.document, after_doc, where, io.out);
      io.out << "Written to " << escape_for_display(where) << ".\n";
      return code;
    }
  } catch (const RegistryError& e) {
    for (const auto& p : e.problems()) io.err << escape_for_display(p) << "\n";
    return fail(std::string("the registry is not valid; nothing was imported: ") + e.what());
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}

}  // namespace cdcguard::cli
