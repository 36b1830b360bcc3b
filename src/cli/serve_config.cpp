#include "cli/serve_config.hpp"

#include <charconv>
#include <system_error>
#include <tuple>
#include <utility>

#include "cdcguard/model/names.hpp"
#include "cli/cluster_flags.hpp"
#include "cli/commands.hpp"

namespace cdcguard::cli {
namespace {

constexpr const char* kServeHelp =
    R"(Usage: cdc-guard serve --tls-cert FILE --tls-key FILE --registry-file FILE [options]
       cdc-guard serve --tls-cert FILE --tls-key FILE --registry-configmap NAMESPACE/NAME
                       [--policy-configmap NAMESPACE/NAME] [options]

Runs the admission webhook over HTTPS (TLS 1.2 and 1.3):
  POST /validate   admission.k8s.io/v1 AdmissionReview for KafkaConnector: the verdict
  POST /mutate     assigns a free server id (and schema history topic) by JSONPatch
  GET  /healthz    the process is up;  GET /readyz   ready to judge (registry read, cache synced)
and on the metrics port, over plain HTTP, GET /metrics (Prometheus text format).
The certificate and key are reloaded when their files change (cert-manager
rotation), without a restart.

SIGTERM or SIGINT: /readyz fails at once and every response says
`Connection: close`, while serving goes on for --shutdown-delay (endpoints drop
the pod meanwhile); then the listeners close, requests in flight and those
still arriving on open connections are answered, and the process exits 0
within --shutdown-timeout of the signal. A second signal skips the delay.

Limits: a request (head and body) must arrive whole within --read-timeout of
its first byte, whatever its pace; a body over --max-body-bytes is refused with
413 as soon as it crosses the limit (Content-Length or chunked) and the
connection closed; at most --max-connections are open per port, and a new one
over the cap closes an idle one first. A connection holds no thread.

Standalone mode (--registry-file): the registry file is the store. An admitted
connector is recorded as an Active entry; writes are atomic (temporary file,
fsync, rename) and serialised, also across processes (flock on FILE.lock).

Cluster mode (--registry-configmap): the registry is the ConfigMap's
`registry.yaml`. An admitted id is claimed as a Pending entry inside the
admission, by a PUT with the ConfigMap's resourceVersion (a 409 Conflict is
re-read and re-judged), so two replicas never admit the same id; the claims of
one replica are written together. Connectors and KafkaConnects are watched in
the cluster, so the topic and connect rules see the other connectors. One
replica (leader-elected) reconciles the registry with the cluster: a Pending
claim whose connector appears becomes Active, one that lapses is removed, a
deleted connector's entry becomes Decommissioned (its id then rests
embargoDays), a connector with an id and no entry is adopted when the id is
free. It writes only the registry ConfigMap, never a KafkaConnector.

Split mode (--policy-configmap, with --registry-configmap): the registry is
two ConfigMaps, both data key `registry.yaml` in the registry format. The
policy (rules, teams, reserved, exceptions, and entries documented by hand)
belongs to Helm or GitOps and is only read; the --registry-configmap one is
the state, the entries cdc-guard claims, confirms and decommissions, as
`entries:`. Both are watched; every admission, /mutate and the reconciler
judge against their union: the policy's sections, its entries, and the
state's entries, which replace the policy's entries of the same connector
(namespace/name). A policy change applies to the next admission. Writes go
to the state only: the entries that differ from the policy's (a policy entry
a change removed stays). The state is created (labelled
app.kubernetes.io/managed-by=cdc-guard, no entries) when it does not exist.
A policy that is missing or unreadable, or a union that is not a valid
registry, denies the admissions that need the registry, fails /readyz, and
nothing is written.

Options:
  --tls-cert FILE          PEM certificate (chain) served to the API server
  --tls-key FILE           PEM private key of that certificate
  --registry-file FILE     registry YAML (bare, or a ConfigMap manifest; written back bare)
  --registry-configmap NAMESPACE/NAME
                           the registry ConfigMap (data key registry.yaml); with
                           --policy-configmap, the state, created when absent
  --policy-configmap NAMESPACE/NAME
                           split mode: the policy ConfigMap (data key registry.yaml),
                           read only; the registry is its union with the state
  --kubeconfig FILE        cluster mode: the kubeconfig to use (default: the files of
                           $KUBECONFIG merged as kubectl does, else the pod's service
                           account, else ~/.kube/config); tokens, client certificates
                           and exec credential plugins (client.authentication.k8s.io/v1
                           and v1beta1, never interactive)
  --namespaces A,B         cluster mode: watch connectors in these namespaces only (default: all)
  --on-api-error deny|allow-from-cache
                           cluster mode: when the API server cannot be reached, deny
                           (default) or admit what the cached registry and cluster allow,
                           with a warning; a known duplicate is denied either way
  --claim-ttl SECONDS      cluster mode: a Pending claim lapses after this (default 300),
                           unless the connector is seen with that id first (then Active)
  --cluster-name NAME      cluster mode: this cluster's name in registry entries; only its
                           reconciler decommissions them (default: default)
  --resync-period DURATION cluster mode: the reconciler passes over the whole registry this
                           often, besides every watch event (default 60s)
  --audit-period DURATION  cluster mode: the leader runs the rules over every connector this
                           often at most, after a pass (default 60s): the cdcguard_violations
                           gauges and Warning Events
  --audit-events=true|false
                           cluster mode: Warning Events (events.k8s.io/v1) on the connectors at
                           fault, one per connector and rule an hour (default true)
  --leader-election=true|false
                           cluster mode: one replica, elected on a coordination.k8s.io/v1
                           Lease, reconciles (default true; false: this replica reconciles
                           alone, for a single replica)
  --leader-election-namespace NS
                           the Lease's namespace (default: the registry ConfigMap's)
  --leader-election-name NAME
                           the Lease's name (default cdc-guard-reconciler)
  --lease-duration DURATION
                           a leader's Lease is taken over after this without renewal (default 15s)
  --renew-deadline DURATION
                           a leader that cannot renew within this stops reconciling (default 10s)
  --retry-period DURATION  how often to try to acquire or renew (default 2s)
  --port N                 HTTPS port (default 8443; 0 picks a free one)
  --metrics-port N         metrics port (default 8080; 0 picks a free one; -1 none)
  --address ADDR           address to listen on (default 0.0.0.0)
  --threads N              worker threads that run admissions (default 64)
  --read-timeout SECONDS   a request must arrive whole within this of its first byte,
                           a TLS handshake within this of the connect; else 408 and
                           the connection is closed (default 10)
  --idle-timeout SECONDS   close a kept-alive connection idle this long (default 5)
  --max-body-bytes N       larger bodies are refused with 413, chunked or not (default 4194304)
  --max-connections N      open connections per port; over it, idle ones are closed
                           first (default 1000)
  --shutdown-delay SECONDS after SIGTERM, keep serving (readiness off) this long (default 5)
  --shutdown-timeout SECONDS
                           exit within this of SIGTERM, whatever is still open (default 20)
  --log-format text|json   default: text
  --log-level LEVEL        trace, debug, info, warn, error, off (default: info)
  -h, --help               this help

DURATION: a number with a unit, Go style (500ms, 2s, 1m30s, 1h); a bare number is seconds.

Exit codes: 0 stopped by a signal, 2 usage, TLS, registry or listen errors.
)";

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  long long total_ms = 0;
  const char* p = text.data();
  const char* end = text.data() + text.size();
  bool bare = true;
  while (p < end) {
    long long n = 0;
    const auto [after, ec] = std::from_chars(p, end, n);
    if (ec != std::errc{} || after == p || n < 0 || n > 1000LL * 1000 * 1000) return std::nullopt;
    p = after;
    long long unit_ms = 0;
    if (p == end) {
      if (!bare) return std::nullopt;  // "1m30": a number without its unit
      unit_ms = 1000;
    } else if (end - p >= 2 && p[0] == 'm' && p[1] == 's') {
      unit_ms = 1, p += 2;
    } else if (*p == 's') {
      unit_ms = 1000, ++p;
    } else if (*p == 'm') {
      unit_ms = 60 * 1000, ++p;
    } else if (*p == 'h') {
      unit_ms = 3600 * 1000, ++p;
    } else {
      return std::nullopt;
    }
    bare = false;
    total_ms += n * unit_ms;
    if (total_ms > 1000LL * 1000 * 1000 * 1000) return std::nullopt;
  }
  return std::chrono::milliseconds(total_ms);
}

std::string format_duration(std::chrono::milliseconds d) {
  const long long ms = d.count();
  if (ms % 3600000 == 0 && ms > 0) return std::to_string(ms / 3600000) + "h";
  if (ms % 60000 == 0 && ms > 0) return std::to_string(ms / 60000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

namespace {

long long integer_flag(const ParsedArgs& args, const std::string& name, long long fallback, long long min,
                       long long max) {
  const auto it = args.flags.find(name);
  if (it == args.flags.end()) return fallback;
  long long v = 0;
  const auto& text = it->second;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || v < min || v > max) {
    throw UsageError(name + " must be an integer in " + std::to_string(min) + ".." + std::to_string(max) +
                     ", got \"" + text + "\"");
  }
  return v;
}

// A Go-style duration ("1m30s", "500ms", "2h"; a bare number is seconds),
// between `min` and `max`.
std::chrono::milliseconds duration_flag(const ParsedArgs& args, const std::string& name,
                                        std::chrono::milliseconds fallback, std::chrono::milliseconds min,
                                        std::chrono::milliseconds max) {
  const auto it = args.flags.find(name);
  if (it == args.flags.end()) return fallback;
  const std::string& text = it->second;
  const auto bad = [&] {
    return UsageError(name + " must be a duration from " + format_duration(min) + " to " +
                      format_duration(max) + " (like 500ms, 15s, 1m30s), got \"" + text + "\"");
  };
  const auto parsed = parse_duration(text);
  if (!parsed || *parsed < min || *parsed > max) throw bad();
  return *parsed;
}

std::string required(const ParsedArgs& args, const std::string& name) {
  const auto it = args.flags.find(name);
  if (it == args.flags.end() || it->second.empty()) throw UsageError(name + " is required");
  return it->second;
}

}  // namespace

ServeConfig parse_serve_args(const std::vector<std::string>& given) {
  // --leader-election is a Go-style boolean flag: bare, it means true.
  std::vector<std::string> args;
  for (std::size_t i = 0; i < given.size(); ++i) {
    const bool value_follows = i + 1 < given.size() && (given[i + 1] == "true" || given[i + 1] == "false");
    args.push_back(given[i] == "--leader-election" && !value_follows ? "--leader-election=true" : given[i]);
  }
  const ParsedArgs parsed = parse_args(args, {"--tls-cert",
                                              "--tls-key",
                                              "--registry-file",
                                              "--port",
                                              "--metrics-port",
                                              "--address",
                                              "--threads",
                                              "--read-timeout",
                                              "--max-body-bytes",
                                              "--log-format",
                                              "--log-level",
                                              "--certificate-poll-ms",
                                              "--registry-configmap",
                                              "--policy-configmap",
                                              "--kubeconfig",
                                              "--namespaces",
                                              "--on-api-error",
                                              "--claim-ttl",
                                              "--cluster-name",
                                              "--resync-period",
                                              "--audit-period",
                                              "--audit-events",
                                              "--leader-election",
                                              "--leader-election-namespace",
                                              "--leader-election-name",
                                              "--lease-duration",
                                              "--renew-deadline",
                                              "--retry-period",
                                              "--idle-timeout",
                                              "--max-connections",
                                              "--shutdown-delay",
                                              "--shutdown-timeout"});
  ServeConfig config;
  if (parsed.help) {
    config.help = true;
    return config;
  }
  if (!parsed.positional.empty())
    throw UsageError("unexpected argument \"" + parsed.positional.front() + "\"");
  config.server.tls_cert = required(parsed, "--tls-cert");
  config.server.tls_key = required(parsed, "--tls-key");
  const bool file_mode = parsed.flags.count("--registry-file") > 0;
  const bool cluster_mode = parsed.flags.count("--registry-configmap") > 0;
  if (file_mode == cluster_mode) throw UsageError("give one of --registry-file and --registry-configmap");
  if (file_mode) {
    config.registry_file = required(parsed, "--registry-file");
    for (const char* flag :
         {"--policy-configmap", "--kubeconfig", "--namespaces", "--on-api-error", "--claim-ttl",
          "--cluster-name", "--resync-period", "--audit-period", "--audit-events", "--leader-election",
          "--leader-election-namespace", "--leader-election-name", "--lease-duration", "--renew-deadline",
          "--retry-period"})
      if (parsed.flags.count(flag)) throw UsageError(std::string(flag) + " needs --registry-configmap");
  } else {
    std::tie(config.configmap_namespace, config.configmap_name) =
        configmap_flag(required(parsed, "--registry-configmap"), "--registry-configmap");
    if (auto it = parsed.flags.find("--policy-configmap"); it != parsed.flags.end()) {
      std::tie(config.policy_namespace, config.policy_name) =
          configmap_flag(it->second, "--policy-configmap");
      if (config.policy_namespace == config.configmap_namespace &&
          config.policy_name == config.configmap_name)
        throw UsageError(
            "--policy-configmap must name another ConfigMap than --registry-configmap (the state)");
    }
    if (auto it = parsed.flags.find("--kubeconfig"); it != parsed.flags.end()) {
      if (it->second.empty()) throw UsageError("--kubeconfig needs a file");
      config.kubeconfig = it->second;
    }
    if (auto it = parsed.flags.find("--namespaces"); it != parsed.flags.end()) {
      config.namespaces = namespaces_flag(it->second);
    }
    if (auto it = parsed.flags.find("--on-api-error"); it != parsed.flags.end()) {
      if (it->second == "deny")
        config.server.handler.on_api_error = admission::OnApiError::Deny;
      else if (it->second == "allow-from-cache")
        config.server.handler.on_api_error = admission::OnApiError::AllowFromCache;
      else
        throw UsageError("--on-api-error must be deny or allow-from-cache, got \"" + it->second + "\"");
    }
    config.server.handler.pending_claims = true;
    config.server.handler.claim_ttl =
        std::chrono::seconds(integer_flag(parsed, "--claim-ttl", 300, 10, 86400));
    using std::chrono::hours;
    using std::chrono::milliseconds;
    using std::chrono::seconds;
    if (auto it = parsed.flags.find("--cluster-name"); it != parsed.flags.end()) {
      if (const std::string p = token_problem(it->second, "--cluster-name", 63); !p.empty())
        throw UsageError(p + ", got \"" + it->second + "\"");
      config.cluster_name = it->second;
    }
    config.server.handler.cluster_name = config.cluster_name;
    config.resync_period = duration_flag(parsed, "--resync-period", seconds(60), milliseconds(10), hours(24));
    config.audit_period = duration_flag(parsed, "--audit-period", seconds(60), milliseconds(10), hours(24));
    if (auto it = parsed.flags.find("--audit-events"); it != parsed.flags.end()) {
      if (it->second != "true" && it->second != "false")
        throw UsageError("--audit-events must be true or false, got \"" + it->second + "\"");
      config.audit_events = it->second == "true";
    }
    if (auto it = parsed.flags.find("--leader-election"); it != parsed.flags.end()) {
      if (it->second != "true" && it->second != "false")
        throw UsageError("--leader-election must be true or false, got \"" + it->second + "\"");
      config.leader_election = it->second == "true";
    }
    config.lease_namespace = config.configmap_namespace;
    if (auto it = parsed.flags.find("--leader-election-namespace"); it != parsed.flags.end()) {
      if (const std::string p = dns1123_label_problem(it->second); !p.empty())
        throw UsageError("--leader-election-namespace \"" + it->second +
                         "\" is not a valid namespace name: " + p);
      config.lease_namespace = it->second;
    }
    if (auto it = parsed.flags.find("--leader-election-name"); it != parsed.flags.end()) {
      if (const std::string p = dns1123_subdomain_problem(it->second); !p.empty())
        throw UsageError("--leader-election-name \"" + it->second + "\" is not a valid Lease name: " + p);
      config.lease_name = it->second;
    }
    config.lease_duration =
        duration_flag(parsed, "--lease-duration", seconds(15), milliseconds(100), hours(1));
    config.renew_deadline =
        duration_flag(parsed, "--renew-deadline", seconds(10), milliseconds(50), hours(1));
    config.retry_period = duration_flag(parsed, "--retry-period", seconds(2), milliseconds(10), hours(1));
    // client-go's checks: a leader must give up before another may take over,
    // and must get more than one try (with jitter 1.2) before giving up.
    if (config.lease_duration <= config.renew_deadline)
      throw UsageError("--lease-duration must be longer than --renew-deadline");
    if (config.renew_deadline * 5 <= config.retry_period * 6)
      throw UsageError("--renew-deadline must be longer than 1.2 x --retry-period");
  }
  config.server.port = static_cast<int>(integer_flag(parsed, "--port", 8443, 0, 65535));
  config.server.metrics_port = static_cast<int>(integer_flag(parsed, "--metrics-port", 8080, -1, 65535));
  if (auto it = parsed.flags.find("--address"); it != parsed.flags.end()) config.server.address = it->second;
  config.server.threads = static_cast<std::size_t>(integer_flag(parsed, "--threads", 64, 1, 4096));
  config.server.read_timeout = std::chrono::seconds(integer_flag(parsed, "--read-timeout", 10, 1, 3600));
  config.server.idle_timeout = std::chrono::seconds(integer_flag(parsed, "--idle-timeout", 5, 1, 3600));
  config.server.max_connections =
      static_cast<std::size_t>(integer_flag(parsed, "--max-connections", 1000, 1, 1000000));
  config.shutdown_delay = std::chrono::seconds(integer_flag(parsed, "--shutdown-delay", 5, 0, 3600));
  config.server.shutdown_timeout =
      std::chrono::seconds(integer_flag(parsed, "--shutdown-timeout", 20, 1, 3600));
  if (config.shutdown_delay >= config.server.shutdown_timeout)
    throw UsageError("--shutdown-delay must be shorter than --shutdown-timeout");
  config.server.max_body_bytes =
      static_cast<std::size_t>(integer_flag(parsed, "--max-body-bytes", 4 * 1024 * 1024, 1024, 1LL << 30));
  config.server.certificate_poll =
      std::chrono::milliseconds(integer_flag(parsed, "--certificate-poll-ms", 1000, 10, 3600000));
  if (auto it = parsed.flags.find("--log-format"); it != parsed.flags.end()) {
    const auto f = server::parse_log_format(it->second);
    if (!f) throw UsageError("--log-format must be text or json, got \"" + it->second + "\"");
    config.log_format = *f;
  }
  if (auto it = parsed.flags.find("--log-level"); it != parsed.flags.end()) {
    config.log_level = spdlog::level::from_str(it->second);
    if (config.log_level == spdlog::level::off && it->second != "off") {
      throw UsageError("--log-level must be trace, debug, info, warn, error or off, got \"" + it->second +
                       "\"");
    }
  }
  return config;
}

const char* serve_help() {
  return kServeHelp;
}

}  // namespace cdcguard::cli
