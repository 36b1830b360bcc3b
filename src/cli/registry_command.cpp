#include <sys/stat.h>

#include "cdcguard/model/display_text.hpp"
#include "cdcguard/model/manifest.hpp"
#include "cdcguard/model/names.hpp"
#include "cdcguard/model/registry_parser.hpp"
#include "cdcguard/model/registry_writer.hpp"
#include "cdcguard/policy/connector_index.hpp"
#include "cdcguard/policy/registry_index.hpp"
#include "cdcguard/policy/server_id_allocator.hpp"
#include "cdcguard/store/file_registry_store.hpp"
#include "cli/commands.hpp"
#include "cli/file_inputs.hpp"

namespace cdcguard::cli {
namespace {

constexpr const char* kRegistryHelp = R"(Usage: cdc-guard registry SUBCOMMAND [options]

Subcommands:
  init     write a new registry file with the default rules
  render   print the registry as a markdown table or canonical YAML
  next     print the next free server id for a namespace
  import   build or complete the registry from the connectors a cluster (or a repository) runs

Run 'cdc-guard registry SUBCOMMAND --help' for its options.
)";

constexpr const char* kInitHelp =
    R"(Usage: cdc-guard registry init --registry FILE [--force]

Writes a new registry: range 184000-184999, embargoDays 30, no teams, no
reservations, no entries (the defaults `check` uses without --registry), as
canonical YAML under a short header. An empty registry file is not read as a
new one (the webhook and `check` refuse it), so creating one is this deliberate
step. A new file gets mode 0644 (less what the umask removes).

Options:
  --registry FILE   the file to write
  --force           replace a file that already holds something (keeps its mode and owner)
  -h, --help        this help

Exit codes: 0 written, 2 usage errors, FILE already holds something (without
--force), or it cannot be written.
)";

// Above the YAML that `registry init` writes. The webhook rewrites the file
// without comments on its first claim, which the last line says.
constexpr const char* kInitHeader =
    R"(# The Debezium MySQL/MariaDB server-id registry of cdc-guard (docs/DESIGN.md "Registry").
# rules: the id range, the days a freed id rests before reuse, autoAssign for /mutate.
# teams: namespaces and their sub-ranges; reserved: ids never handed out;
# entries: one per connector (namespace/name), added by the webhook or by hand.
# The webhook writes this file back as canonical YAML: comments are not kept.
)";

constexpr const char* kRenderHelp =
    R"(Usage: cdc-guard registry render --registry FILE [--format markdown|yaml]

Prints the registry. markdown: the table Connector Name | Server ID | Database |
Status | Owner | Date under a header that states the allocation rules. yaml: the
registry in canonical order (what the webhook writes back).

Options:
  --registry FILE            registry YAML, or a ConfigMap manifest with data.registry.yaml
  --format markdown|yaml     default: markdown
  -h, --help                 this help
)";

constexpr const char* kNextHelp =
    R"(Usage: cdc-guard registry next --registry FILE --namespace NS [options] [PATH...]

Prints the next free server id for a connector in namespace NS: the lowest id in
the team's range (else the registry range) that no connector, no live entry
(Active, Pending, Reserved), no reservation and no embargo holds. Connectors in
PATH (files, directories, - for stdin) count as holding their ids.

Options:
  --registry FILE      registry YAML, or a ConfigMap manifest with data.registry.yaml
  --namespace NS       the connector's namespace (picks the team range)
  --connector NAME     the connector's name: if it already holds a live id, that id
  --now TIME           evaluate embargoes and claims as of this time (default: now)
  -h, --help           this help

Exit codes: 0 an id was printed, 1 the range is exhausted, 2 usage or registry errors.
)";

// The umask, read the only way there is (setting it and putting it back);
// `init` runs single-threaded.
mode_t current_umask() {
  const mode_t mask = ::umask(0);
  ::umask(mask);
  return mask;
}

int init(const std::vector<std::string>& args, Streams io) {
  try {
    ParsedArgs parsed = parse_args(args, {"--registry"}, {"--force"});
    if (parsed.help) {
      io.out << kInitHelp;
      return kExitOk;
    }
    if (!parsed.flags.contains("--registry") || parsed.flags["--registry"].empty())
      throw UsageError("--registry FILE is required");
    if (!parsed.positional.empty()) throw UsageError("unexpected argument " + parsed.positional.front());
    const std::string& path = parsed.flags["--registry"];
    const std::string text = std::string(kInitHeader) + render_checked_registry_yaml(default_registry());
    if (!FileRegistryStore::create(path, text, parsed.flags.contains("--force"), 0644 & ~current_umask())) {
      io.err << "cdc-guard registry init: " << path
             << " already holds something; it was left as it is (give --force to replace it with a new "
                "registry)\n";
      return kExitUsage;
    }
    io.out << "wrote a new registry to " << path << "\n";
    return kExitOk;
  } catch (const UsageError& e) {
    io.err << "cdc-guard registry init: " << e.what() << "\n\n" << kInitHelp;
    return kExitUsage;
  } catch (const StoreError& e) {
    io.err << "cdc-guard registry init: " << e.what() << "\n";
    return kExitUsage;
  }
}

int render(const std::vector<std::string>& args, Streams io) {
  ParsedArgs parsed;
  try {
    parsed = parse_args(args, {"--registry", "--format"});
    if (parsed.help) {
      io.out << kRenderHelp;
      return kExitOk;
    }
    if (!parsed.flags.contains("--registry")) throw UsageError("--registry FILE is required");
    if (!parsed.positional.empty()) throw UsageError("unexpected argument " + parsed.positional.front());
    const std::string format = parsed.flags.contains("--format") ? parsed.flags["--format"] : "markdown";
    if (format != "markdown" && format != "yaml") throw UsageError("--format must be markdown or yaml");
    const Registry registry = load_registry_file(parsed.flags["--registry"]);
    io.out << (format == "yaml" ? render_registry_yaml(registry) : render_registry_markdown(registry));
    return kExitOk;
  } catch (const UsageError& e) {
    io.err << "cdc-guard registry render: " << escape_for_display(e.what()) << "\n\n" << kRenderHelp;
    return kExitUsage;
  } catch (const RegistryError& e) {
    for (const auto& p : e.problems()) io.err << escape_for_display(p) << "\n";
    return kExitUsage;
  }
}

int next(const std::vector<std::string>& args, Streams io) {
  try {
    ParsedArgs parsed = parse_args(args, {"--registry", "--namespace", "--connector", "--now"});
    if (parsed.help) {
      io.out << kNextHelp;
      return kExitOk;
    }
    if (!parsed.flags.contains("--registry")) throw UsageError("--registry FILE is required");
    if (!parsed.flags.contains("--namespace") || parsed.flags["--namespace"].empty()) {
      throw UsageError("--namespace NS is required");
    }
    const std::string& ns = parsed.flags["--namespace"];
    const std::string name = parsed.flags.contains("--connector") ? parsed.flags["--connector"] : "";
    // The webhook's key check: no id is suggested for a key that no claim could have.
    if (const std::string p = dns1123_label_problem(ns); !p.empty())
      throw UsageError("--namespace " + ns + " is not a valid namespace name (DNS-1123 label): " + p);
    if (const std::string p = name.empty() ? "" : connector_key_problem(ns, name); !p.empty())
      throw UsageError("--connector: " + p);
    const TimePoint now = resolve_now(parsed);
    const Registry registry = load_registry_file(parsed.flags["--registry"]);

    ConnectorIndex connectors;
    std::vector<InputProblem> problems;
    ManifestSet manifests;
    for (const auto& path : expand_inputs(parsed.positional, problems)) {
      std::string error;
      if (auto input = read_input(path, io.in, error)) {
        parse_manifests(input->text, input->name, ns, manifests);
      } else {
        problems.push_back({path, error});
      }
    }
    for (const auto& e : manifests.errors) {
      problems.push_back({e.location.file + ":" + std::to_string(e.location.line), e.message});
    }
    if (!problems.empty()) {
      for (const auto& p : problems)
        io.err << escape_for_display(p.path) << ": error: " << escape_for_display(p.message) << "\n";
      return kExitUsage;
    }
    for (auto& c : manifests.connectors) connectors.upsert(std::move(c));

    const RegistryIndex index(registry);
    const ServerIdAllocator allocator(index, connectors, now);
    const std::string connector = name.empty() ? "" : ns + "/" + name;
    const Allocation a = allocator.next_for(ns, connector);
    if (!a.id) {
      io.err << "cdc-guard registry next: " << escape_for_display(a.error) << "\n";
      return kExitViolations;
    }
    io.out << *a.id << "\n";
    return kExitOk;
  } catch (const UsageError& e) {
    io.err << "cdc-guard registry next: " << escape_for_display(e.what()) << "\n\n" << kNextHelp;
    return kExitUsage;
  } catch (const RegistryError& e) {
    for (const auto& p : e.problems()) io.err << escape_for_display(p) << "\n";
    return kExitUsage;
  }
}

}  // namespace

Registry load_registry_file(const std::string& path) {
  std::string error;
  auto text = read_file(path, error);
  if (!text) throw RegistryError({path + ": " + error});
  return parse_registry_document(*text, path);
}

int run_registry(const std::vector<std::string>& args, Streams io) {
  if (args.empty() || args.front() == "--help" || args.front() == "-h" || args.front() == "help") {
    (args.empty() ? io.err : io.out) << kRegistryHelp;
    return args.empty() ? kExitUsage : kExitOk;
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args.front() == "init") return init(rest, io);
  if (args.front() == "render") return render(rest, io);
  if (args.front() == "next") return next(rest, io);
  if (args.front() == "import") return registry_import(rest, io);
  io.err << "cdc-guard registry: unknown subcommand \"" << args.front() << "\"\n\n" << kRegistryHelp;
  return kExitUsage;
}

}  // namespace cdcguard::cli
