#include "cdcguard/webhook_server.hpp"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <thread>

#include "cdcguard/admission_review.hpp"
#include "cdcguard/certificate_reloader.hpp"

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

std::string default_message(int status, const httplib::Request& req, std::size_t max_body) {
  switch (status) {
    case 404:
      return "no route for " + req.method + " " + req.path +
             "; the webhook serves POST /validate, POST /mutate, GET /healthz and GET /readyz";
    case 413:
      return "the request body is larger than the limit of " + std::to_string(max_body) + " bytes";
    case 400:
      return "the request could not be read (malformed HTTP, or the client stopped sending)";
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
        https([this](SSL_CTX& ctx) { return certificate.configure(ctx); }) {}

  enum class Endpoint { Validate, Mutate };

  void configure(httplib::Server& server) {
    const std::size_t threads = std::max<std::size_t>(options.threads, 1);
    server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    // Without TCP_NODELAY every kept-alive response waits ~40 ms for the
    // client's delayed ACK (Nagle): 23 requests a second.
    server.set_tcp_nodelay(true);
    // httplib's default sets SO_REUSEPORT, which lets a second cdc-guard bind
    // the same port and silently take half the connections: reuse the address
    // only (restart past TIME_WAIT), never share the port.
    server.set_socket_options([](socket_t sock) {
      const int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    server.set_keep_alive_max_count(options.keep_alive_max_requests);
    server.set_keep_alive_timeout(options.keep_alive_seconds);
    server.set_read_timeout(options.read_timeout);
    server.set_write_timeout(options.write_timeout);
    server.set_payload_max_length(options.max_body_bytes);
    server.set_error_handler(
        httplib::Server::HandlerWithResponse([this](const httplib::Request& req, httplib::Response& res) {
          metrics.count_http_error(res.status);
          if (res.body.empty()) {
            res.set_content(status_body(res.status, reason_for(res.status),
                                        default_message(res.status, req, options.max_body_bytes)),
                            "application/json");
          }
          // Every refusal, with the reason the client was given (a Status message).
          const nlohmann::json status = nlohmann::json::parse(res.body, nullptr, false);
          const std::string why =
              status.is_object() && status.contains("message") && status["message"].is_string()
                  ? status["message"].get<std::string>()
                  : std::string();
          log.warn("request refused", {{"method", req.method},
                                       {"path", req.path},
                                       LogField::num("status", res.status),
                                       {"reason", why},
                                       {"remote", req.remote_addr}});
          return httplib::Server::HandlerResponse::Handled;
        }));
    server.set_exception_handler(
        [this](const httplib::Request& req, httplib::Response& res, std::exception_ptr e) {
          std::string what = "unknown error";
          try {
            if (e) std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            what = ex.what();
          } catch (...) {
          }
          log.error("request failed", {{"method", req.method}, {"path", req.path}, {"error", what}});
          res.status = 500;
          res.set_content(status_body(500, "InternalError", "internal error: " + what), "application/json");
        });
    const auto health = [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ok\n", "text/plain");
    };
    const auto ready = [this](const httplib::Request&, httplib::Response& res) {
      if (options.not_ready) {
        const std::string why = options.not_ready();
        if (!why.empty()) {
          res.status = 503;
          res.set_content("not ready: " + why + "\n", "text/plain");
          return;
        }
      }
      try {
        store.snapshot();
        res.set_content("ok\n", "text/plain");
      } catch (const StoreError& e) {
        res.status = 503;
        res.set_content(std::string("registry unavailable: ") + e.what() + "\n", "text/plain");
      }
    };
    server.Get("/healthz", health);
    server.Get("/livez", health);
    server.Get("/readyz", ready);
  }

  void route_admissions() {
    https.Post("/validate", [this](const httplib::Request& req, httplib::Response& res) {
      admit(Endpoint::Validate, req, res);
    });
    https.Post("/mutate", [this](const httplib::Request& req, httplib::Response& res) {
      admit(Endpoint::Mutate, req, res);
    });
    const auto post_only = [](const httplib::Request& req, httplib::Response& res) {
      res.status = 405;
      res.set_header("Allow", "POST");
      res.set_content(status_body(405, "MethodNotAllowed",
                                  req.method + " " + req.path + ": use POST with an AdmissionReview"),
                      "application/json");
    };
    for (const char* path : {"/validate", "/mutate"}) {
      https.Get(path, post_only);
      https.Put(path, post_only);
      https.Delete(path, post_only);
      https.Patch(path, post_only);
    }
  }

  void route_metrics() {
    metrics_server.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      std::shared_ptr<const RegistrySnapshot> snapshot;
      try {
        snapshot = store.snapshot();
      } catch (const StoreError&) {
      }
      std::string text = metrics.render(snapshot.get(), clock(), {certificate.not_after()});
      if (options.extra_metrics) text += options.extra_metrics();
      res.set_content(text, "text/plain; version=0.0.4; charset=utf-8");
    });
  }

  void admit(Endpoint endpoint, const httplib::Request& req, httplib::Response& res) {
    const auto started = SteadyClock::now();
    const char* name = endpoint == Endpoint::Validate ? "validate" : "mutate";
    if (!is_json_content_type(req.get_header_value("Content-Type"))) {
      res.status = 415;
      res.set_content(
          status_body(
              415, "UnsupportedMediaType",
              "Content-Type must be application/json (an admission.k8s.io/v1 AdmissionReview), got \"" +
                  req.get_header_value("Content-Type") + "\""),
          "application/json");
      return;
    }
    auto parsed = admission::parse_review(req.body);
    if (auto* bad = std::get_if<admission::ParseError>(&parsed)) {
      if (!bad->uid) {
        res.status = bad->http_status;
        res.set_content(status_body(bad->http_status, reason_for(bad->http_status), bad->message),
                        "application/json");
        return;  // counted and logged by the error handler
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

  static void respond(httplib::Response& res, const admission::Response& out) {
    res.set_content(admission::to_review_text(out), "application/json");
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
  httplib::SSLServer https;
  httplib::Server metrics_server;
  int bound_port = -1;
  int bound_metrics_port = -1;
  std::thread https_thread;
  std::thread metrics_thread;
  std::thread certificate_thread;
  std::mutex stop_mutex;
  std::condition_variable stop_cv;
  std::atomic<bool> https_returned{false};
  std::atomic<bool> metrics_returned{false};
  bool running = false;
  bool stopping = false;
  bool stopped = false;
};

WebhookServer::WebhookServer(ServerOptions options, RegistryStore& store, EventLog& log, Clock clock)
    : impl_(std::make_unique<Impl>(std::move(options), store, log, std::move(clock))) {
  if (!impl_->https.is_valid()) throw ServerError("cannot set up TLS with the certificate and key given");
  impl_->configure(impl_->https);
  impl_->configure(impl_->metrics_server);
  impl_->route_admissions();
  impl_->route_metrics();
}

WebhookServer::~WebhookServer() {
  stop();
}

void WebhookServer::start() {
  Impl& m = *impl_;
  // A peer that hangs up mid-response must not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  const auto bind = [&](httplib::Server& server, int port, const char* what) {
    const int bound = port == 0 ? server.bind_to_any_port(m.options.address)
                                : (server.bind_to_port(m.options.address, port) ? port : -1);
    if (bound < 0) {
      throw ServerError(std::string("cannot listen on ") + m.options.address + ":" + std::to_string(port) +
                        " (" + what + ")");
    }
    return bound;
  };
  m.bound_port = bind(m.https, m.options.port, "webhook");
  if (m.options.metrics_port >= 0) {
    try {
      m.bound_metrics_port = bind(m.metrics_server, m.options.metrics_port, "metrics");
    } catch (...) {
      m.https.stop();
      throw;
    }
  }
  {
    std::lock_guard guard(m.stop_mutex);
    m.running = true;
  }
  m.https_thread = std::thread([&m] {
    m.https.listen_after_bind();
    m.https_returned = true;
  });
  if (m.bound_metrics_port >= 0) {
    m.metrics_thread = std::thread([&m] {
      m.metrics_server.listen_after_bind();
      m.metrics_returned = true;
    });
  }
  m.certificate_thread = std::thread([&m] { m.poll_certificate(); });
  // httplib's stop() does nothing until listen has begun: wait for it, so a
  // stop() right after start() cannot leave a listener running.
  while (!(m.https.is_running() || m.https_returned) ||
         (m.bound_metrics_port >= 0 && !(m.metrics_server.is_running() || m.metrics_returned))) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  m.log.info("serving", {LogField::num("port", m.bound_port),
                         LogField::num("metricsPort", m.bound_metrics_port),
                         {"certificate", m.certificate.subject()},
                         LogField::num("threads", static_cast<long long>(m.options.threads))});
}

void WebhookServer::stop() {
  Impl& m = *impl_;
  {
    std::unique_lock lock(m.stop_mutex);
    if (!m.running) return;
    if (m.stopping) {  // another thread is stopping: wait for it to finish
      m.stop_cv.wait(lock, [&m] { return m.stopped; });
      return;
    }
    m.stopping = true;
  }
  m.stop_cv.notify_all();
  // httplib's stop() closes the listening socket; listen returns once its
  // thread pool has finished the connections it had accepted.
  m.https.stop();
  m.metrics_server.stop();
  for (std::thread* t : {&m.https_thread, &m.metrics_thread, &m.certificate_thread}) {
    if (t->joinable() && t->get_id() != std::this_thread::get_id()) t->join();
  }
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
