#include <malloc.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <memory>
#include <optional>

#include "cdcguard/certificate_reloader.hpp"
#include "cdcguard/claim_confirmation.hpp"
#include "cdcguard/cluster_cache.hpp"
#include "cdcguard/configmap_registry_store.hpp"
#include "cdcguard/event_log.hpp"
#include "cdcguard/kube_client.hpp"
#include "cdcguard/kube_config.hpp"
#include "cdcguard/registry_store.hpp"
#include "cdcguard/version.hpp"
#include "cdcguard/webhook_server.hpp"
#include "cli/commands.hpp"

namespace cdcguard::cli {
namespace {

constexpr const char* kServeHelp =
    R"(Usage: cdc-guard serve --tls-cert FILE --tls-key FILE --registry-file FILE [options]
       cdc-guard serve --tls-cert FILE --tls-key FILE --registry-configmap NAMESPACE/NAME [options]

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
the cluster, so the topic and connect rules see the other connectors.

Options:
  --tls-cert FILE          PEM certificate (chain) served to the API server
  --tls-key FILE           PEM private key of that certificate
  --registry-file FILE     registry YAML (bare, or a ConfigMap manifest; written back bare)
  --registry-configmap NAMESPACE/NAME
                           the registry ConfigMap (data key registry.yaml)
  --kubeconfig FILE        cluster mode: the kubeconfig to use (default: $KUBECONFIG,
                           else the pod's service account, else ~/.kube/config)
  --namespaces A,B         cluster mode: watch connectors in these namespaces only (default: all)
  --on-api-error deny|allow-from-cache
                           cluster mode: when the API server cannot be reached, deny
                           (default) or admit what the cached registry and cluster allow,
                           with a warning; a known duplicate is denied either way
  --claim-ttl SECONDS      cluster mode: a Pending claim lapses after this (default 300),
                           unless the connector is seen with that id first (then Active;
                           checked every 10 s)
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

Exit codes: 0 stopped by a signal, 2 usage, TLS, registry or listen errors.
)";

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

std::string required(const ParsedArgs& args, const std::string& name) {
  const auto it = args.flags.find(name);
  if (it == args.flags.end() || it->second.empty()) throw UsageError(name + " is required");
  return it->second;
}

// The claim writer's and the cluster cache's counters, in Prometheus text.
std::string cluster_metrics(const kube::ClusterCache& cache, const kube::ConfigMapRegistryStore& store) {
  const auto stats = store.stats();
  const auto view = cache.snapshot();
  std::string out;
  const auto metric = [&](const char* name, const char* type, const char* help, long long value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
           std::to_string(value) + "\n";
  };
  metric("cdcguard_registry_claim_changes_total", "counter",
         "Registry changes (claims, confirmations) handed to the ConfigMap writer.", stats.changes);
  metric("cdcguard_registry_write_batches_total", "counter", "Batches of changes the ConfigMap writer took.",
         stats.batches);
  metric("cdcguard_registry_puts_total", "counter", "PUTs of the registry ConfigMap.", stats.puts);
  metric("cdcguard_registry_conflicts_total", "counter",
         "PUTs answered 409 Conflict (another replica wrote first).", stats.conflicts);
  metric("cdcguard_cluster_cache_synced", "gauge",
         "1 when every informer has listed once and the registry ConfigMap was read.",
         cache.synced() && store.synced() ? 1 : 0);
  metric("cdcguard_cluster_connectors", "gauge", "KafkaConnectors in the cluster cache.",
         static_cast<long long>(view->connectors.size()));
  metric("cdcguard_cluster_connect_clusters", "gauge", "KafkaConnects in the cluster cache.",
         static_cast<long long>(view->connect_clusters.size()));
  return out;
}

// Settings of the process itself, before any thread starts.
void prepare_process(server::ServerOptions& options, server::EventLog& log) {
  // Large request bodies are freed back to the system at once: glibc would
  // otherwise raise its mmap threshold after the first free and keep every
  // later body in the heap, so RSS stayed at the peak of a burst.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  // Each open connection is a descriptor: take what the hard limit allows, and
  // keep the cap (two ports, plus room for files and the API server) within it.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0) {
    if (files.rlim_cur < files.rlim_max) {
      files.rlim_cur = files.rlim_max;
      setrlimit(RLIMIT_NOFILE, &files);
      getrlimit(RLIMIT_NOFILE, &files);
    }
    const rlim_t reserve = 256;
    if (files.rlim_cur != RLIM_INFINITY && files.rlim_cur < 2 * options.max_connections + reserve) {
      const std::size_t fitting = files.rlim_cur > 2 * 64 + reserve ? (files.rlim_cur - reserve) / 2 : 64;
      log.warn("--max-connections lowered to fit the open-file limit",
               {server::LogField::num("maxConnections", static_cast<long long>(fitting)),
                server::LogField::num("openFileLimit", static_cast<long long>(files.rlim_cur))});
      options.max_connections = fitting;
    }
  }
}

}  // namespace

int run_serve(const std::vector<std::string>& args, Streams io) {
  ParsedArgs parsed;
  server::ServerOptions options;
  server::LogFormat format = server::LogFormat::Text;
  spdlog::level::level_enum level = spdlog::level::info;
  std::string registry_path;
  std::string configmap_namespace;
  std::string configmap_name;
  std::string kubeconfig;
  std::vector<std::string> namespaces;
  std::chrono::milliseconds confirm_interval{10000};
  std::chrono::milliseconds shutdown_delay{5000};
  try {
    parsed = parse_args(args, {"--tls-cert",
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
                               "--kubeconfig",
                               "--namespaces",
                               "--on-api-error",
                               "--claim-ttl",
                               "--confirm-interval-ms",
                               "--idle-timeout",
                               "--max-connections",
                               "--shutdown-delay",
                               "--shutdown-timeout"});
    if (parsed.help) {
      io.out << kServeHelp;
      return kExitOk;
    }
    if (!parsed.positional.empty())
      throw UsageError("unexpected argument \"" + parsed.positional.front() + "\"");
    options.tls_cert = required(parsed, "--tls-cert");
    options.tls_key = required(parsed, "--tls-key");
    const bool file_mode = parsed.flags.count("--registry-file") > 0;
    const bool cluster_mode = parsed.flags.count("--registry-configmap") > 0;
    if (file_mode == cluster_mode) throw UsageError("give one of --registry-file and --registry-configmap");
    if (file_mode) {
      registry_path = required(parsed, "--registry-file");
      for (const char* flag : {"--kubeconfig", "--namespaces", "--on-api-error", "--claim-ttl"})
        if (parsed.flags.count(flag)) throw UsageError(std::string(flag) + " needs --registry-configmap");
    } else {
      const std::string where = required(parsed, "--registry-configmap");
      const auto slash = where.find('/');
      if (slash == std::string::npos || slash == 0 || slash + 1 == where.size() ||
          where.find('/', slash + 1) != std::string::npos)
        throw UsageError("--registry-configmap must be NAMESPACE/NAME, got \"" + where + "\"");
      configmap_namespace = where.substr(0, slash);
      configmap_name = where.substr(slash + 1);
      if (auto it = parsed.flags.find("--kubeconfig"); it != parsed.flags.end()) {
        if (it->second.empty()) throw UsageError("--kubeconfig needs a file");
        kubeconfig = it->second;
      }
      if (auto it = parsed.flags.find("--namespaces"); it != parsed.flags.end()) {
        std::string rest = it->second;
        while (!rest.empty()) {
          const auto comma = rest.find(',');
          const std::string ns = rest.substr(0, comma);
          if (ns.empty()) throw UsageError("--namespaces has an empty name in \"" + it->second + "\"");
          namespaces.push_back(ns);
          rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
        }
        if (namespaces.empty()) throw UsageError("--namespaces needs at least one namespace");
      }
      if (auto it = parsed.flags.find("--on-api-error"); it != parsed.flags.end()) {
        if (it->second == "deny")
          options.handler.on_api_error = admission::OnApiError::Deny;
        else if (it->second == "allow-from-cache")
          options.handler.on_api_error = admission::OnApiError::AllowFromCache;
        else
          throw UsageError("--on-api-error must be deny or allow-from-cache, got \"" + it->second + "\"");
      }
      options.handler.pending_claims = true;
      options.handler.claim_ttl = std::chrono::seconds(integer_flag(parsed, "--claim-ttl", 300, 10, 86400));
      confirm_interval =
          std::chrono::milliseconds(integer_flag(parsed, "--confirm-interval-ms", 10000, 10, 3600000));
    }
    options.port = static_cast<int>(integer_flag(parsed, "--port", 8443, 0, 65535));
    options.metrics_port = static_cast<int>(integer_flag(parsed, "--metrics-port", 8080, -1, 65535));
    if (auto it = parsed.flags.find("--address"); it != parsed.flags.end()) options.address = it->second;
    options.threads = static_cast<std::size_t>(integer_flag(parsed, "--threads", 64, 1, 4096));
    options.read_timeout = std::chrono::seconds(integer_flag(parsed, "--read-timeout", 10, 1, 3600));
    options.idle_timeout = std::chrono::seconds(integer_flag(parsed, "--idle-timeout", 5, 1, 3600));
    options.max_connections =
        static_cast<std::size_t>(integer_flag(parsed, "--max-connections", 1000, 1, 1000000));
    shutdown_delay = std::chrono::seconds(integer_flag(parsed, "--shutdown-delay", 5, 0, 3600));
    options.shutdown_timeout = std::chrono::seconds(integer_flag(parsed, "--shutdown-timeout", 20, 1, 3600));
    if (shutdown_delay >= options.shutdown_timeout)
      throw UsageError("--shutdown-delay must be shorter than --shutdown-timeout");
    options.max_body_bytes =
        static_cast<std::size_t>(integer_flag(parsed, "--max-body-bytes", 4 * 1024 * 1024, 1024, 1LL << 30));
    options.certificate_poll =
        std::chrono::milliseconds(integer_flag(parsed, "--certificate-poll-ms", 1000, 10, 3600000));
    if (auto it = parsed.flags.find("--log-format"); it != parsed.flags.end()) {
      const auto f = server::parse_log_format(it->second);
      if (!f) throw UsageError("--log-format must be text or json, got \"" + it->second + "\"");
      format = *f;
    }
    if (auto it = parsed.flags.find("--log-level"); it != parsed.flags.end()) {
      level = spdlog::level::from_str(it->second);
      if (level == spdlog::level::off && it->second != "off") {
        throw UsageError("--log-level must be trace, debug, info, warn, error or off, got \"" + it->second +
                         "\"");
      }
    }
  } catch (const UsageError& e) {
    io.err << "cdc-guard serve: " << e.what() << "\n\n" << kServeHelp;
    return kExitUsage;
  }

  server::EventLog log(format, level);
  prepare_process(options, log);
  std::unique_ptr<kube::KubeClient> client;
  std::unique_ptr<kube::KubeClient> claims_client;
  std::unique_ptr<kube::ClusterCache> cache;
  kube::ConfigMapRegistryStore* configmap_store = nullptr;
  std::unique_ptr<RegistryStore> store;
  if (!registry_path.empty()) {
    auto file_store = std::make_unique<FileRegistryStore>(registry_path);
    try {
      const auto snapshot = file_store->snapshot();
      log.info("registry loaded",
               {{"file", registry_path},
                server::LogField::num("entries", static_cast<long long>(snapshot->registry.entries.size())),
                server::LogField::flag("autoAssign", snapshot->registry.rules.auto_assign)});
    } catch (const StoreError& e) {
      log.error("cannot start: the registry cannot be read", {{"error", e.what()}});
      io.err << "cdc-guard serve: " << e.what() << "\n";
      return kExitUsage;
    }
    store = std::move(file_store);
  } else {
    try {
      const auto cluster = kube::resolve_cluster_config(kubeconfig);
      client = std::make_unique<kube::KubeClient>(cluster);
      // Claims are written inside an admission the API server abandons after
      // its 5 s webhook timeout: their requests get a shorter leash (at most
      // about 3 s for one PUT with its retry), the cache's LISTs the default.
      kube::ClientOptions claims;
      claims.request_timeout = std::chrono::milliseconds(1500);
      claims.max_attempts = 2;
      claims.backoff_max = std::chrono::milliseconds(200);
      claims_client = std::make_unique<kube::KubeClient>(cluster, claims);
    } catch (const std::exception& e) {
      log.error("cannot start: no usable cluster configuration", {{"error", e.what()}});
      io.err << "cdc-guard serve: " << e.what() << "\n";
      return kExitUsage;
    }
    auto cm =
        std::make_unique<kube::ConfigMapRegistryStore>(*claims_client, configmap_namespace, configmap_name);
    configmap_store = cm.get();
    store = std::move(cm);
    cache = std::make_unique<kube::ClusterCache>(*client, kube::ClusterCache::Options{namespaces, {}});
    options.handler.cluster = [c = cache.get()] { return c->snapshot(); };
    options.extra_metrics = [c = cache.get(), s = configmap_store] { return cluster_metrics(*c, *s); };
    options.not_ready = [c = cache.get(), s = configmap_store]() -> std::string {
      if (!s->synced()) return s->status();
      if (!c->synced()) return c->status();
      return "";
    };
    log.info("cluster mode", {{"server", client->server()},
                              {"source", client->config().source},
                              {"registry", configmap_namespace + "/" + configmap_name}});
  }
  // Stops the watches first: an informer blocked in a watch would otherwise
  // wait out its read timeout.
  const auto stop_cluster = [&] {
    if (!client) return;
    client->stop_streams();
    claims_client->stop_streams();
    cache->stop();
    configmap_store->stop();
  };

  // SIGTERM and SIGINT are taken by this thread with sigtimedwait; blocked
  // before any server thread exists, so every thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::unique_ptr<server::WebhookServer> webhook;
  try {
    webhook = std::make_unique<server::WebhookServer>(options, *store, log, [] {
      return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    });
    if (configmap_store) configmap_store->start();
    if (cache) cache->start();
    webhook->start();
  } catch (const std::exception& e) {
    log.error("cannot start", {{"error", e.what()}});
    io.err << "cdc-guard serve: " << e.what() << "\n";
    stop_cluster();
    return kExitUsage;
  }
  log.info(
      "cdc-guard started",
      {{"version", kVersion},
       {"registry", registry_path.empty() ? configmap_namespace + "/" + configmap_name : registry_path}});
  log.flush();

  // A Pending claim whose connector the cache now sees with that id becomes
  // Active. Every replica may do this: the write is a compare-and-swap and
  // the change is the same, so a second replica finds nothing left to do.
  const auto confirm = [&] {
    if (!configmap_store || !configmap_store->synced() || !cache->synced()) return;
    try {
      const auto view = cache->snapshot();
      const TimePoint now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
      if (confirmable_claims(configmap_store->snapshot()->registry, view->connectors, now) == 0) return;
      std::size_t confirmed = 0;
      configmap_store->update([&](Registry& registry) {
        confirmed = confirm_claims(registry, view->connectors, now);
        return confirmed > 0;
      });
      if (confirmed > 0)
        log.info("claims confirmed: the connectors exist",
                 {server::LogField::num("confirmed", static_cast<long long>(confirmed))});
    } catch (const StoreError& e) {
      log.warn("cannot confirm claims", {{"error", e.what()}});
    }
  };
  const auto tick_length = std::min<std::chrono::milliseconds>(std::chrono::seconds(1), confirm_interval);
  auto next_confirm = std::chrono::steady_clock::now() + confirm_interval;
  int signal_number = 0;
  std::optional<std::string> last_readiness;  // nothing logged yet
  while (signal_number <= 0) {
    const auto tick_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(tick_length).count();
    const timespec tick{static_cast<time_t>(tick_ns / 1000000000), static_cast<long>(tick_ns % 1000000000)};
    signal_number = sigtimedwait(&stop_signals, nullptr, &tick);
    if (options.not_ready) {
      // One line when readiness changes, not one per tick.
      const std::string why = options.not_ready();
      if (why != last_readiness) {
        if (why.empty())
          log.info("ready: registry ConfigMap read and cluster cache synced",
                   {{"strimziVersion", cache->strimzi_version()}});
        else
          log.warn("not ready", {{"reason", why}});
        log.flush();
        last_readiness = why;
      }
    }
    if (signal_number <= 0 && std::chrono::steady_clock::now() >= next_confirm) {
      confirm();
      next_confirm = std::chrono::steady_clock::now() + confirm_interval;
    }
  }
  // DESIGN.md "Shutdown and overload": readiness off and `Connection: close`
  // at once, serving on through the delay, then drain to the deadline.
  const auto deadline = std::chrono::steady_clock::now() + options.shutdown_timeout;
  webhook->begin_shutdown();
  log.info("shutting down: not ready, still serving",
           {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"},
            server::LogField::num("delaySeconds",
                                  std::chrono::duration_cast<std::chrono::seconds>(shutdown_delay).count())});
  log.flush();
  if (shutdown_delay.count() > 0) {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(shutdown_delay).count();
    const timespec delay{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
    if (sigtimedwait(&stop_signals, nullptr, &delay) > 0) log.info("second signal: the delay is cut short");
  }
  log.info("stopping: listeners closed, answering requests in flight");
  log.flush();
  webhook->stop(deadline);
  stop_cluster();
  log.info("stopped");
  log.flush();
  return kExitOk;
}

}  // namespace cdcguard::cli
