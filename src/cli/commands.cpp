#include "cli/commands.hpp"

#include <algorithm>
#include <chrono>

#include "cdcguard/version.hpp"

namespace cdcguard::cli {
namespace {

constexpr const char* kTopHelp = R"(cdc-guard: guardrails for Debezium MySQL/MariaDB connectors on Strimzi

Usage:
  cdc-guard check [--registry FILE] [--namespace NS] [--now TIME] [--output text|json] PATH...
  cdc-guard audit --registry-configmap NS/NAME [--kubeconfig FILE] [--context NAME] [--namespaces A,B]
  cdc-guard registry render --registry FILE [--format markdown|yaml]
  cdc-guard registry next --registry FILE --namespace NS [--connector NAME] [--now TIME] [PATH...]
  cdc-guard serve --tls-cert FILE --tls-key FILE --registry-file FILE [--port 8443] [--metrics-port 8080]
  cdc-guard --version
  cdc-guard COMMAND --help

Commands:
  check      check KafkaConnector and KafkaConnect manifests against each other and the registry
  audit      the same rules over the connectors a live cluster runs, against its registry ConfigMap
  registry   render the registry, or print the next free server id
  serve      run the HTTPS admission webhook (/validate, /mutate) and /metrics

Exit codes: 0 nothing at deny level, 1 deny-level violations, 2 usage, parse or registry errors.
)";

}  // namespace

ParsedArgs parse_args(const std::vector<std::string>& args, const std::vector<std::string>& value_flags,
                      const std::vector<std::string>& switches) {
  ParsedArgs parsed;
  bool only_positional = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (only_positional || a == "-" || !a.starts_with("-")) {
      parsed.positional.push_back(a);
      continue;
    }
    if (a == "--") {
      only_positional = true;
      continue;
    }
    if (a == "-h" || a == "--help") {
      parsed.help = true;
      continue;
    }
    std::string name = a;
    std::optional<std::string> value;
    if (const auto eq = a.find('='); eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
    }
    if (std::find(switches.begin(), switches.end(), name) != switches.end()) {
      if (value) throw UsageError(name + " takes no value");
      parsed.flags[name] = "true";
      continue;
    }
    if (std::find(value_flags.begin(), value_flags.end(), name) == value_flags.end()) {
      throw UsageError("unknown option " + name);
    }
    if (!value) {
      if (i + 1 >= args.size()) throw UsageError(name + " needs a value");
      value = args[++i];
    }
    parsed.flags[name] = *value;
  }
  return parsed;
}

TimePoint resolve_now(const ParsedArgs& args) {
  if (const auto it = args.flags.find("--now"); it != args.flags.end()) {
    if (auto t = parse_timestamp(it->second)) return *t;
    throw UsageError("--now must be an RFC 3339 time (2026-05-01T12:00:00Z) or a date, got \"" + it->second +
                     "\"");
  }
  return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

int run(const std::vector<std::string>& args, Streams io) {
  if (args.empty()) {
    io.err << kTopHelp;
    return kExitUsage;
  }
  const std::string& command = args.front();
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (command == "--version" || command == "version") {
    io.out << "cdc-guard " << kVersion << "\n";
    return kExitOk;
  }
  if (command == "--help" || command == "-h" || command == "help") {
    io.out << kTopHelp;
    return kExitOk;
  }
  if (command == "check") return run_check(rest, io);
  if (command == "audit") return run_audit(rest, io);
  if (command == "registry") return run_registry(rest, io);
  if (command == "serve") return run_serve(rest, io);
  io.err << "cdc-guard: unknown command \"" << command << "\"\n\n" << kTopHelp;
  return kExitUsage;
}

}  // namespace cdcguard::cli
