#include "cdcguard/server/webhook_server.hpp"

#include <openssl/ssl.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <thread>

#include "cdcguard/admission/admission_review.hpp"
#include "cdcguard/server/certificate_reloader.hpp"
#include "cdcguard/server/http_server.hpp"

namespace cdcguard::server {
namespace {

using SteadyClock = std::chrono::steady_clock;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// A Kubernetes `Status` body, the shape the API server itself answers errors with.
std::string status_body(int code, std::string_view reason, std::string_view message) {
  const nlohmann::json body = {
      {"apiVersion", "v1"},  {"kind", "Status"},   {"metadata", nlohmann::json::object()},
      {"status", "Failure"}, {"message", message}, {"reason", reason},
      {"code", code}};
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string_view reason_for(int status) {
  switch (status) {
    case 400:
      return "BadRequest";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 408:
      return "Timeout";
    case 417:
      return "ExpectationFailed";
    case 431:
      return "RequestHeaderFieldsTooLarge";
    case 501:
      return "NotImplemented";
    case 505:
      return "HTTPVersionNotSupported";
    case 413:
      return "RequestEntityTooLarge";
    case 415:
      return "UnsupportedMediaType";
    case 503:
      return "ServiceUnavailable";
    default:
      return status >= 500 ? "InternalError" : "BadRequest";
  }
}

std::string default_message(int status) {
  switch (status) {
    case 400:
      return "the request could not be read (malformed HTTP)";
    default:
      return "request failed with HTTP status " + std::to_string(status);
  }
}

bool is_json_content_type(const std::string& value) {
  const std::string media = lower(value.substr(0, value.find(';')));
  const auto first = media.find_first_not_of(" \t");
  if (first == std::string::npos) return false;
  const auto last = media.find_last_not_of(" \t");
  return media.substr(first, last - first + 1) == "application/json";
}

std::string join(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::string out;
  for (const auto* v : {&a, &b}) {
    for (const auto& s : *v) {
      if (!out.empty()) out += ',';
      out += s;
    }
  }
  return out;
}

}  // namespace

struct WebhookServer::Impl {
  Impl(ServerOptions o, RegistryStore& s, EventLog& l, Clock c)
      : options(std::move(o)),
        store(s),
        log(l),
        clock(std::move(c)),
        handler(store, clock, options.handler),
        certificate(options.tls_cert, options.tls_key),
        tls_context(SSL_CTX_new(TLS_server_method())),
        https(http_options("webhook", options.port, tls_context.get(), options.threads)),
        metrics_server(http_options("metrics", options.metrics_port, nullptr, 2)) {}

  enum class Endpoint { Validate, Mutate };

  struct ContextFree {
    void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
  };

  HttpServer::Options http_options(const char* name, int port, SSL_CTX* tls, std::size_t workers) {
    HttpServer::Options o;
    o.name = name;
    o.address = options.address;
    o.port = port;
    o.tls = tls;
    o.workers = workers;
    o.limits.max_body_bytes = options.max_body_bytes;
    o.request_timeout = options.read_timeout;
    o.write_timeout = options.write_timeout;
    o.idle_timeout = options.idle_timeout;
    o.max_connections = options.max_connections;
    o.on_error = [this](const HttpRequest* req, HttpResponse& res, const std::string& why) {
      refused(req, res, why);
    };
    return o;
  }

  // Every refusal gets a Kubernetes Status body, a count and a log line with
  // the reason the client was given.
  void refused(const HttpRequest* req, HttpResponse& res, const std::string& why) {
    metrics.count_http_error(res.status);
    if (res.body.empty()) {
      std::string message = why.empty() ? default_message(res.status) : why;
      if (res.status == 404)
        message += "; the webhook serves POST /validate, POST /mutate, GET /healthz and GET /readyz";
      res.content_type = "application/json";
      res.body = status_body(res.status, reason_for(res.status), message);
    }
    const nlohmann::json status = nlohmann::json::parse(res.body, nullptr, false);
    const std::string reason =
        status.is_object() && status.contains("message") && status["message"].is_string()
            ? status["message"].get<std::string>()
            : why;
    log.warn("request refused", {{"method", req ? req->method : std::string()},
                                 {"path", req ? req->path : std::string()},
                                 LogField::num("status", res.status),
                                 {"reason", reason},
                                 {"remote", req ? req->remote_addr : std::string()}});
  }

  bool configure_tls() {
    SSL_CTX* ctx = tls_context.get();
    if (!ctx) return false;
    return certificate.configure(*ctx);
  }

  void route_probes(HttpServer& server) {
    const auto health = [](const HttpRequest&, HttpResponse& res) {
      res.content_type = "text/plain";
      res.body = "ok\n";
    };
    server.route("GET", "/healthz", health);
    server.route("GET", "/livez", health);
    server.route("GET", "/readyz", [this](const HttpRequest&, HttpResponse& res) { ready(res); });
  }

  void ready(HttpResponse& res) {
    res.content_type = "text/plain";
    if (shutting_down.load()) {
      res.status = 503;
      res.body = "not ready: shutting down\n";
      return;
    }
    if (options.not_ready) {
      const std::string why = options.not_ready();
      if (!why.empty()) {
        res.status = 503;
        res.body = "not ready: " + why + "\n";
        return;
      }
    }
    try {
      store.snapshot();
      res.body = "ok\n";
    } catch (const StoreError& e) {
      res.status = 503;
      res.body = std::string("registry unavailable: ") + e.what() + "\n";
    }
  }

  void route_admissions() {
    https.route("POST", "/validate",
                [this](const HttpRequest& req, HttpResponse& res) { admit(Endpoint::Validate, req, res); });
    https.route("POST", "/mutate",
                [this](const HttpRequest& req, HttpResponse& res) { admit(Endpoint::Mutate, req, res); });
    const auto post_only = [](const HttpRequest& req, HttpResponse& res) {
      res.status = 405;
      res.headers.emplace_back("Allow", "POST");
      res.content_type = "application/json";
      res.body = status_body(405, "MethodNotAllowed",
                             req.method + " " + req.path + ": use POST with an AdmissionReview");
    };
    for (const char* path : {"/validate", "/mutate"}) {
      for (const char* method : {"GET", "PUT", "DELETE", "PATCH"}) https.route(method, path, post_only);
    }
    route_probes(https);
  }

  void route_metrics() {
    metrics_server.route("GET", "/metrics", [this](const HttpRequest&, HttpResponse& res) {
      std::shared_ptr<const RegistrySnapshot> snapshot;
      try {
        snapshot = store.snapshot();
      } catch (const StoreError&) {
      }
      std::string text = metrics.render(snapshot.get(), clock(), {certificate.not_after()});
      text += connection_metrics();
      if (options.extra_metrics) text += options.extra_metrics();
      res.content_type = "text/plain; version=0.0.4; charset=utf-8";
      res.body = std::move(text);
    });
    route_probes(metrics_server);
  }

  std::string connection_metrics() const {
    static constexpr const char* kReasons[] = {"idle",    "request_timeout",  "evicted",
                                               "refused", "handshake_failed", "shutdown"};
    static_assert(std::size(kReasons) == static_cast<std::size_t>(CloseReason::kCount));
    const std::pair<const char*, HttpServerStats> listeners[] = {{"webhook", https.stats()},
                                                                 {"metrics", metrics_server.stats()}};
    std::string out =
        "# HELP cdcguard_http_open_connections Connections open now, by listener.\n"
        "# TYPE cdcguard_http_open_connections gauge\n";
    for (const auto& [name, s] : listeners)
      out += std::string("cdcguard_http_open_connections{listener=\"") + name + "\"} " +
             std::to_string(s.open_connections) + "\n";
    out +=
        "# HELP cdcguard_http_connections_accepted_total Connections accepted, by listener.\n"
        "# TYPE cdcguard_http_connections_accepted_total counter\n";
    for (const auto& [name, s] : listeners)
      out += std::string("cdcguard_http_connections_accepted_total{listener=\"") + name + "\"} " +
             std::to_string(s.accepted) + "\n";
    out +=
        "# HELP cdcguard_http_connections_closed_total Connections the server closed before the client did, "
        "by listener and reason.\n"
        "# TYPE cdcguard_http_connections_closed_total counter\n";
    for (const auto& [name, s] : listeners) {
      for (std::size_t i = 0; i < s.closed.size(); ++i)
        out += std::string("cdcguard_http_connections_closed_total{listener=\"") + name + "\",reason=\"" +
               kReasons[i] + "\"} " + std::to_string(s.closed[i]) + "\n";
    }
    return out;
  }

  void admit(Endpoint endpoint, const HttpRequest& req, HttpResponse& res) {
    const auto started = SteadyClock::now();
    const char* name = endpoint == Endpoint::Validate ? "validate" : "mutate";
    const std::string content_type(req.header("Content-Type"));
    if (!is_json_content_type(content_type)) {
      res.status = 415;
      res.content_type = "application/json";
      res.body = status_body(
          415, "UnsupportedMediaType",
          "Content-Type must be application/json (an admission.k8s.io/v1 AdmissionReview), got \"" +
              content_type + "\"");
      return;
    }
    auto parsed = admission::parse_review(req.body);
    if (auto* bad = std::get_if<admission::ParseError>(&parsed)) {
      if (!bad->uid) {
        res.status = bad->http_status;
        res.content_type = "application/json";
        res.body = status_body(bad->http_status, reason_for(bad->http_status), bad->message);
        return;  // counted and logged by refused()
      }
      // The envelope was readable: answer the API server in its own terms.
      admission::Response out;
      out.uid = *bad->uid;
      out.allowed = false;
      out.code = 400;
      out.message = "cdc-guard cannot judge this request: " + bad->message;
      respond(res, out);
      finish(name, "invalid", nullptr, out, started);
      return;
    }
    const admission::Request& request = std::get<admission::Request>(parsed);
    const admission::Response out =
        endpoint == Endpoint::Validate ? handler.validate(request) : handler.mutate(request);
    respond(res, out);
    finish(name, !out.allowed ? "denied" : (out.patch.empty() ? "allowed" : "patched"), &request, out,
           started);
  }

  static void respond(HttpResponse& res, const admission::Response& out) {
    res.content_type = "application/json";
    res.body = admission::to_review_text(out);
  }

  // One log line and the metrics of one answered AdmissionReview. Only the
  // verdict, rule ids and messages are logged: never the connector's config.
  void finish(const char* endpoint, const char* verdict, const admission::Request* request,
              const admission::Response& out, SteadyClock::time_point started) {
    const auto micros =
        std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - started).count();
    metrics.observe_admission(endpoint, verdict, out.denied_by, out.warned_by,
                              static_cast<double>(micros) / 1e6);
    const auto level = out.code >= 500 ? spdlog::level::err : spdlog::level::info;
    if (!log.enabled(level)) return;
    std::vector<LogField> fields{{"uid", out.uid}, {"endpoint", endpoint}};
    if (request) {
      fields.push_back({"operation", request->operation});
      fields.push_back({"kind", request->kind.kind});
      fields.push_back({"object", request->namespace_name.empty()
                                      ? request->name
                                      : request->namespace_name + "/" + request->name});
      if (request->dry_run) fields.push_back(LogField::flag("dryRun", true));
      if (!request->username.empty()) fields.push_back({"user", request->username});
    }
    fields.push_back({"verdict", verdict});
    const std::string rules = join(out.denied_by, out.warned_by);
    if (!rules.empty()) fields.push_back({"rules", rules});
    if (!out.allowed) fields.push_back({"reason", out.message});
    if (!out.patch.empty()) fields.push_back({"patch", out.patch});
    fields.push_back(LogField::num("latency_us", micros));
    log.log(level, "admission", fields);
  }

  void poll_certificate() {
    std::unique_lock lock(stop_mutex);
    while (!stopping) {
      // At least every second: buffered log lines must not wait for a slow poll.
      stop_cv.wait_for(lock, std::min(options.certificate_poll, std::chrono::milliseconds(1000)),
                       [this] { return stopping; });
      if (stopping) break;
      lock.unlock();
      log.flush();  // buffered admission lines reach the log within a tick
      switch (certificate.reload_if_changed()) {
        case CertificateReloader::Reload::Reloaded:
          metrics.count_certificate_reload(true);
          log.info("serving certificate reloaded",
                   {{"subject", certificate.subject()}, LogField::num("notAfter", certificate.not_after())});
          break;
        case CertificateReloader::Reload::Failed:
          metrics.count_certificate_reload(false);
          log.error("serving certificate not reloaded; the previous one stays in use",
                    {{"error", certificate.last_error()}});
          break;
        case CertificateReloader::Reload::Unchanged:
          break;
      }
      lock.lock();
    }
  }

  ServerOptions options;
  RegistryStore& store;
  EventLog& log;
  Clock clock;
  admission::AdmissionHandler handler;
  Metrics metrics;
  CertificateReloader certificate;
  std::unique_ptr<SSL_CTX, ContextFree> tls_context;
  HttpServer https;
  HttpServer metrics_server;
  int bound_port = -1;
  int bound_metrics_port = -1;
  std::thread certificate_thread;
  std::atomic<bool> shutting_down{false};
  std::mutex stop_mutex;
  std::condition_variable stop_cv;
  bool running = false;
  bool stopping = false;
  bool stopped = false;
};

WebhookServer::WebhookServer(ServerOptions options, RegistryStore& store, EventLog& log, Clock clock)
    : impl_(std::make_unique<Impl>(std::move(options), store, log, std::move(clock))) {
  if (!impl_->configure_tls()) throw ServerError("cannot set up TLS with the certificate and key given");
  impl_->route_admissions();
  impl_->route_metrics();
}

WebhookServer::~WebhookServer() {
  stop(SteadyClock::now());
}

void WebhookServer::start() {
  Impl& m = *impl_;
  // A peer that hangs up mid-response must not kill the process (OpenSSL
  // writes to the socket with write(2)).
  std::signal(SIGPIPE, SIG_IGN);
  try {
    m.bound_port = m.https.bind();
    if (m.options.metrics_port >= 0) m.bound_metrics_port = m.metrics_server.bind();
  } catch (const HttpServerError& e) {
    throw ServerError(e.what());
  }
  m.https.start();
  if (m.bound_metrics_port >= 0) m.metrics_server.start();
  {
    std::lock_guard guard(m.stop_mutex);
    m.running = true;
  }
  m.certificate_thread = std::thread([&m] { m.poll_certificate(); });
  m.log.info("serving", {LogField::num("port", m.bound_port),
                         LogField::num("metricsPort", m.bound_metrics_port),
                         {"certificate", m.certificate.subject()},
                         LogField::num("threads", static_cast<long long>(m.options.threads)),
                         LogField::num("maxConnections", static_cast<long long>(m.options.max_connections))});
}

void WebhookServer::begin_shutdown() {
  impl_->shutting_down.store(true);
  impl_->https.begin_shutdown();
  impl_->metrics_server.begin_shutdown();
}

void WebhookServer::stop() {
  stop(SteadyClock::now() + impl_->options.shutdown_timeout);
}

void WebhookServer::stop(std::chrono::steady_clock::time_point deadline) {
  Impl& m = *impl_;
  {
    std::unique_lock lock(m.stop_mutex);
    if (!m.running) {
      m.https.stop(deadline);
      m.metrics_server.stop(deadline);
      return;
    }
    if (m.stopping) {  // another thread is stopping: wait for it to finish
      m.stop_cv.wait(lock, [&m] { return m.stopped; });
      return;
    }
    m.stopping = true;
  }
  m.stop_cv.notify_all();
  m.shutting_down.store(true);
  // Both listeners drain at once: a scrape must not wait for the webhook.
  std::thread metrics_stop([&m, deadline] { m.metrics_server.stop(deadline); });
  m.https.stop(deadline);
  metrics_stop.join();
  if (m.certificate_thread.joinable()) m.certificate_thread.join();
  {
    std::lock_guard guard(m.stop_mutex);
    m.stopped = true;
  }
  m.stop_cv.notify_all();
}

void WebhookServer::wait() {
  std::unique_lock lock(impl_->stop_mutex);
  impl_->stop_cv.wait(lock, [this] { return impl_->stopped || !impl_->running; });
}

int WebhookServer::port() const {
  return impl_->bound_port;
}
int WebhookServer::metrics_port() const {
  return impl_->bound_metrics_port;
}
Metrics& WebhookServer::metrics() {
  return impl_->metrics;
}

}  // namespace cdcguard::server
