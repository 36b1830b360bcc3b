#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "cdcguard/kube/http_transport.hpp"
#include "cdcguard/kube/kube_client.hpp"

// An HttpTransport in memory, for KubeClient and what is built on it: every
// request is recorded, and answered by a handler the test sets (by default
// from a queue of scripted outcomes). Streams (watches) are answered by their
// own handler; by default a stream stays open, quiet, until stop_streams().
// No sockets and no real time, so that retries, backoff and deadlines are
// tested deterministically with a FakeClock.
namespace cdcguard::testing_support {

inline kube::HttpOutcome respond(int status, std::string body = "", std::string retry_after = "") {
  return kube::HttpOutcome{
      kube::HttpResponse{status, std::move(body), "application/json", std::move(retry_after)}, {}};
}

inline kube::HttpOutcome fail_with(std::string what) {
  return kube::HttpOutcome{std::nullopt, std::move(what)};
}

// A Kubernetes Status body, as the API server sends with an error.
inline std::string status_body(int code, const std::string& reason, const std::string& message) {
  return nlohmann::json{{"kind", "Status"},   {"apiVersion", "v1"}, {"status", "Failure"},
                        {"message", message}, {"reason", reason},   {"code", code}}
      .dump();
}

// A one-way gate a handler waits at until the test opens it. The waits are
// bounded by a hang guard of real time: it only keeps a broken test from
// hanging, it claims nothing about speed.
class Gate {
 public:
  static constexpr std::chrono::seconds kHangGuard{30};

  void open() {
    std::lock_guard guard(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  // Called by the handler: counts the arrival and waits for open().
  void pass() {
    std::unique_lock lock(mutex_);
    ++arrived_;
    changed_.notify_all();
    EXPECT_TRUE(changed_.wait_for(lock, kHangGuard, [&] { return open_; })) << "the gate was never opened";
  }
  // Called by the test: waits until `count` callers have arrived.
  bool await_arrivals(int count) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kHangGuard, [&] { return arrived_ >= count; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = false;
  int arrived_ = 0;
};

class ScriptedTransport final : public kube::HttpTransport {
 public:
  using Handler = std::function<kube::HttpOutcome(const kube::HttpRequest&)>;
  using StreamHandler = std::function<kube::StreamOutcome(
      const kube::HttpRequest&, const std::function<bool(std::string_view data)>& on_data)>;

  explicit ScriptedTransport(std::string server = "https://scripted.example:6443")
      : server_(std::move(server)) {}

  // The answers to the next requests, in order; a request beyond them fails
  // the test and answers 599.
  void script(std::vector<kube::HttpOutcome> outcomes) {
    std::lock_guard guard(mutex_);
    for (auto& outcome : outcomes) script_.push_back(std::move(outcome));
  }
  // Answers every request instead of the script.
  void set_handler(Handler handler) {
    std::lock_guard guard(mutex_);
    handler_ = std::move(handler);
  }
  void set_stream_handler(StreamHandler handler) {
    std::lock_guard guard(mutex_);
    stream_handler_ = std::move(handler);
  }

  std::vector<kube::HttpRequest> requests() const {
    std::lock_guard guard(mutex_);
    return requests_;
  }
  std::vector<kube::HttpRequest> stream_requests() const {
    std::lock_guard guard(mutex_);
    return stream_requests_;
  }

  kube::HttpOutcome send(const kube::HttpRequest& request) override {
    Handler handler;
    {
      std::lock_guard guard(mutex_);
      requests_.push_back(request);
      handler = handler_;
      if (!handler) {
        if (script_.empty()) {
          ADD_FAILURE() << "unscripted request " << request.method << " " << request.path;
          return respond(599);
        }
        auto next = std::move(script_.front());
        script_.pop_front();
        return next;
      }
    }
    return handler(request);
  }

  kube::StreamOutcome stream(const kube::HttpRequest& request,
                             const std::function<bool(std::string_view data)>& on_data,
                             std::chrono::milliseconds) override {
    StreamHandler handler;
    {
      std::lock_guard guard(mutex_);
      if (stopped_) return stopped_outcome();
      stream_requests_.push_back(request);
      handler = stream_handler_;
    }
    if (handler) return handler(request, on_data);
    // A quiet watch: open, no data, until stop_streams().
    std::unique_lock lock(mutex_);
    EXPECT_TRUE(changed_.wait_for(lock, Gate::kHangGuard, [&] { return stopped_; }))
        << "a quiet stream was never stopped";
    kube::StreamOutcome outcome;
    outcome.response = kube::HttpResponse{200, "", "application/json", ""};
    return outcome;
  }

  void stop_streams() override {
    std::lock_guard guard(mutex_);
    stopped_ = true;
    changed_.notify_all();
  }
  // For a stream handler that waits like a quiet watch until stop_streams().
  bool await_stop() {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, Gate::kHangGuard, [&] { return stopped_; });
  }

  std::string server() const override { return server_; }

  // Recorded, for a credential plugin's certificate; no TLS here to use it.
  void use_client_certificate(const std::string& cert_pem, const std::string& key_pem) override {
    std::lock_guard guard(mutex_);
    client_certificates_.emplace_back(cert_pem, key_pem);
  }
  std::vector<std::pair<std::string, std::string>> client_certificates() const {
    std::lock_guard guard(mutex_);
    return client_certificates_;
  }

  static kube::StreamOutcome stopped_outcome() {
    kube::StreamOutcome outcome;
    outcome.stopped = true;
    return outcome;
  }

 private:
  const std::string server_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<kube::HttpOutcome> script_;
  Handler handler_;
  StreamHandler stream_handler_;
  std::vector<kube::HttpRequest> requests_;
  std::vector<kube::HttpRequest> stream_requests_;
  std::vector<std::pair<std::string, std::string>> client_certificates_;
  bool stopped_ = false;
};

// One ConfigMap as the API server keeps it, behind a ScriptedTransport
// handler: GET, LIST (its fieldSelector is taken for granted) and PUT with
// resourceVersion compare-and-swap (a stale one gets 409 Conflict, with the
// real message). Watches stay quiet, so the store sees only what it reads and
// writes itself: a write made here behind its back surfaces as a 409.
class InMemoryConfigMap {
 public:
  // Runs before a PUT is judged, with the PUT's number (from 1) and body. It
  // may block (a slow PUT), move a FakeClock, write() a rival version, or
  // return an outcome to answer instead (a failure, e.g. a timeout).
  using BeforePut = std::function<std::optional<kube::HttpOutcome>(int put, const nlohmann::json& body)>;

  InMemoryConfigMap(std::string namespace_name, std::string name, const std::string& registry_yaml)
      : namespace_(std::move(namespace_name)), name_(std::move(name)) {
    object_ = {{"apiVersion", "v1"},
               {"kind", "ConfigMap"},
               {"metadata", {{"name", name_}, {"namespace", namespace_}, {"uid", "cm-uid"}}},
               {"data", {{"registry.yaml", registry_yaml}}}};
    bump();
  }

  std::string path() const { return "/api/v1/namespaces/" + namespace_ + "/configmaps/" + name_; }

  void set_before_put(BeforePut hook) {
    std::lock_guard guard(mutex_);
    before_put_ = std::move(hook);
  }
  // Another writer's change: a new version with this registry.yaml.
  void write(const std::string& registry_yaml) {
    std::lock_guard guard(mutex_);
    object_["data"]["registry.yaml"] = registry_yaml;
    bump();
  }
  std::string registry_yaml() const {
    std::lock_guard guard(mutex_);
    return object_["data"]["registry.yaml"].get<std::string>();
  }
  int puts() const {
    std::lock_guard guard(mutex_);
    return puts_;
  }
  int conflicts() const {
    std::lock_guard guard(mutex_);
    return conflicts_;
  }

  kube::HttpOutcome handle(const kube::HttpRequest& request) {
    const std::string collection = "/api/v1/namespaces/" + namespace_ + "/configmaps";
    if (request.method == "GET" && request.path == path()) {
      std::lock_guard guard(mutex_);
      return respond(200, object_.dump());
    }
    if (request.method == "GET" && request.path.rfind(collection + "?", 0) == 0) {
      std::lock_guard guard(mutex_);
      const nlohmann::json list = {{"kind", "ConfigMapList"},
                                   {"apiVersion", "v1"},
                                   {"metadata", {{"resourceVersion", std::to_string(resource_version_)}}},
                                   {"items", nlohmann::json::array({object_})}};
      return respond(200, list.dump());
    }
    if (request.method == "PUT" && request.path == path()) return put(request);
    ADD_FAILURE() << "unexpected request " << request.method << " " << request.path;
    return respond(404, status_body(404, "NotFound", "not here"));
  }

 private:
  kube::HttpOutcome put(const kube::HttpRequest& request) {
    const auto body = nlohmann::json::parse(request.body);
    BeforePut hook;
    int number = 0;
    {
      std::lock_guard guard(mutex_);
      number = ++put_requests_;
      hook = before_put_;
    }
    if (hook) {
      if (auto instead = hook(number, body)) return *instead;
    }
    std::lock_guard guard(mutex_);
    ++puts_;
    if (body["metadata"].value("resourceVersion", std::string()) != std::to_string(resource_version_)) {
      ++conflicts_;
      return respond(409, status_body(409, "Conflict",
                                      "Operation cannot be fulfilled on configmaps \"" + name_ +
                                          "\": the object has been modified; please apply your changes to "
                                          "the latest version and try again"));
    }
    object_["data"] = body["data"];
    bump();
    return respond(200, object_.dump());
  }

  void bump() {
    ++resource_version_;
    object_["metadata"]["resourceVersion"] = std::to_string(resource_version_);
  }

  const std::string namespace_;
  const std::string name_;
  mutable std::mutex mutex_;
  nlohmann::json object_;
  long long resource_version_ = 100;
  BeforePut before_put_;
  int put_requests_ = 0;
  int puts_ = 0;  // PUTs judged (not those a hook answered instead)
  int conflicts_ = 0;
};

}  // namespace cdcguard::testing_support
