#include <signal.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <memory>

#include "cdcguard/certificate_reloader.hpp"
#include "cdcguard/event_log.hpp"
#include "cdcguard/registry_store.hpp"
#include "cdcguard/version.hpp"
#include "cdcguard/webhook_server.hpp"
#include "cli/commands.hpp"

namespace cdcguard::cli {
namespace {

constexpr const char* kServeHelp =
    R"(Usage: cdc-guard serve --tls-cert FILE --tls-key FILE --registry-file FILE [options]

Runs the admission webhook over HTTPS (TLS 1.2 and 1.3):
  POST /validate   admission.k8s.io/v1 AdmissionReview for KafkaConnector: the verdict
  POST /mutate     assigns a free server id (and schema history topic) by JSONPatch
  GET  /healthz    the process is up;  GET /readyz   the registry can be read
and on the metrics port, over plain HTTP, GET /metrics (Prometheus text format).
The certificate and key are reloaded when their files change (cert-manager
rotation), without a restart. SIGTERM or SIGINT: stop accepting, finish the
requests in flight, exit 0.

Standalone mode: the registry file is the store. An admitted connector is
recorded as an Active entry; writes are atomic (temporary file, fsync, rename)
and serialised, also across processes (flock on FILE.lock).

Options:
  --tls-cert FILE          PEM certificate (chain) served to the API server
  --tls-key FILE           PEM private key of that certificate
  --registry-file FILE     registry YAML (bare, or a ConfigMap manifest; written back bare)
  --port N                 HTTPS port (default 8443; 0 picks a free one)
  --metrics-port N         metrics port (default 8080; 0 picks a free one; -1 none)
  --address ADDR           address to listen on (default 0.0.0.0)
  --threads N              worker threads; each open connection holds one (default 64)
  --read-timeout SECONDS   cut off a client that stalls mid-request (default 10)
  --max-body-bytes N       larger requests are refused with 413 (default 4194304)
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

}  // namespace

int run_serve(const std::vector<std::string>& args, Streams io) {
  ParsedArgs parsed;
  server::ServerOptions options;
  server::LogFormat format = server::LogFormat::Text;
  spdlog::level::level_enum level = spdlog::level::info;
  std::string registry_path;
  try {
    parsed = parse_args(args, {"--tls-cert", "--tls-key", "--registry-file", "--port", "--metrics-port",
                               "--address", "--threads", "--read-timeout", "--max-body-bytes", "--log-format",
                               "--log-level", "--certificate-poll-ms"});
    if (parsed.help) {
      io.out << kServeHelp;
      return kExitOk;
    }
    if (!parsed.positional.empty())
      throw UsageError("unexpected argument \"" + parsed.positional.front() + "\"");
    options.tls_cert = required(parsed, "--tls-cert");
    options.tls_key = required(parsed, "--tls-key");
    registry_path = required(parsed, "--registry-file");
    options.port = static_cast<int>(integer_flag(parsed, "--port", 8443, 0, 65535));
    options.metrics_port = static_cast<int>(integer_flag(parsed, "--metrics-port", 8080, -1, 65535));
    if (auto it = parsed.flags.find("--address"); it != parsed.flags.end()) options.address = it->second;
    options.threads = static_cast<std::size_t>(integer_flag(parsed, "--threads", 64, 1, 4096));
    options.read_timeout = std::chrono::seconds(integer_flag(parsed, "--read-timeout", 10, 1, 3600));
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
  FileRegistryStore store(registry_path);
  try {
    const auto snapshot = store.snapshot();
    log.info("registry loaded",
             {{"file", registry_path},
              server::LogField::num("entries", static_cast<long long>(snapshot->registry.entries.size())),
              server::LogField::flag("autoAssign", snapshot->registry.rules.auto_assign)});
  } catch (const StoreError& e) {
    log.error("cannot start: the registry cannot be read", {{"error", e.what()}});
    io.err << "cdc-guard serve: " << e.what() << "\n";
    return kExitUsage;
  }

  // SIGTERM and SIGINT are taken by this thread with sigtimedwait; blocked
  // before any server thread exists, so every thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::unique_ptr<server::WebhookServer> webhook;
  try {
    webhook = std::make_unique<server::WebhookServer>(options, store, log, [] {
      return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    });
    webhook->start();
  } catch (const std::exception& e) {
    log.error("cannot start", {{"error", e.what()}});
    io.err << "cdc-guard serve: " << e.what() << "\n";
    return kExitUsage;
  }
  log.info("cdc-guard started", {{"version", kVersion}, {"registry", registry_path}});
  log.flush();

  int signal_number = 0;
  while (signal_number <= 0) {
    const timespec tick{1, 0};
    signal_number = sigtimedwait(&stop_signals, nullptr, &tick);
  }
  log.info("stopping: finishing requests in flight",
           {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"}});
  webhook->stop();
  log.info("stopped");
  log.flush();
  return kExitOk;
}

}  // namespace cdcguard::cli
