#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "cdcguard/kube/http_transport.hpp"
#include "kube/scripted_transport.hpp"

// One namespace's coordination.k8s.io/v1 Leases as the API server keeps them,
// behind ScriptedTransport handlers (several clients may share it): GET (404
// NotFound for a missing one), POST (201; 409 AlreadyExists for an existing
// name) and PUT with resourceVersion compare-and-swap (409 Conflict for a
// stale one, 404 for a missing object; one that changes nothing stores
// nothing and keeps the resourceVersion), in the real server's words. No
// sockets and no threads of its own, so leader election runs on a FakeClock
// round by round. (The fake API server serves Leases too, over HTTPS, and
// tests/e2e/fake_parity_e2e.cpp holds its answers to the real server's.)
namespace cdcguard::testing_support {

class InMemoryLeases {
 public:
  // Runs before a write (POST or PUT) is judged, with its method and body. It
  // may block (a slow write: a Gate), or return an outcome to answer instead
  // (a failure, a timeout).
  using BeforeWrite = std::function<std::optional<kube::HttpOutcome>(const kube::HttpRequest& request)>;

  explicit InMemoryLeases(std::string namespace_name) : namespace_(std::move(namespace_name)) {}

  std::string collection() const {
    return "/apis/coordination.k8s.io/v1/namespaces/" + namespace_ + "/leases";
  }

  // A handler for ScriptedTransport::set_handler.
  ScriptedTransport::Handler handler() {
    return [this](const kube::HttpRequest& request) { return handle(request); };
  }

  void set_before_write(BeforeWrite hook) {
    std::lock_guard guard(mutex_);
    before_write_ = std::move(hook);
  }
  // Makes every request fail (no response) until called with false: the API
  // server cannot be reached.
  void set_unreachable(bool unreachable) {
    std::lock_guard guard(mutex_);
    unreachable_ = unreachable;
  }

  // The stored Lease, or nullopt.
  std::optional<nlohmann::json> get(const std::string& name) const {
    std::lock_guard guard(mutex_);
    const auto it = leases_.find(name);
    if (it == leases_.end()) return std::nullopt;
    return it->second;
  }
  // Another client's write: stores `spec` as the Lease's spec (created when missing).
  nlohmann::json write_spec(const std::string& name, const nlohmann::json& spec) {
    std::lock_guard guard(mutex_);
    auto& lease = leases_[name];
    if (lease.is_null()) {
      lease = {{"apiVersion", "coordination.k8s.io/v1"},
               {"kind", "Lease"},
               {"metadata", {{"name", name}, {"namespace", namespace_}, {"uid", "lease-uid-" + name}}}};
    }
    lease["spec"] = spec;
    bump(lease);
    return lease;
  }
  std::string holder(const std::string& name) const {
    const auto lease = get(name);
    if (!lease || !(*lease)["spec"].contains("holderIdentity")) return "";
    return (*lease)["spec"]["holderIdentity"].get<std::string>();
  }
  int writes() const {
    std::lock_guard guard(mutex_);
    return writes_;
  }
  int conflicts() const {
    std::lock_guard guard(mutex_);
    return conflicts_;
  }

  kube::HttpOutcome handle(const kube::HttpRequest& request) {
    BeforeWrite hook;
    {
      std::lock_guard guard(mutex_);
      if (unreachable_) return fail_with("connection refused");
      hook = before_write_;
    }
    const bool write = request.method == "POST" || request.method == "PUT";
    if (write && hook) {
      if (auto instead = hook(request)) return *instead;
    }
    std::lock_guard guard(mutex_);
    if (request.method == "POST" && request.path == collection()) return create(request);
    const std::string prefix = collection() + "/";
    if (request.path.rfind(prefix, 0) != 0) {
      ADD_FAILURE() << "unexpected request " << request.method << " " << request.path;
      return respond(404, status_body(404, "NotFound", "not here"));
    }
    const std::string name = request.path.substr(prefix.size());
    if (request.method == "GET") {
      const auto it = leases_.find(name);
      if (it == leases_.end()) return not_found(name);
      return respond(200, it->second.dump());
    }
    if (request.method == "PUT") return update(name, request);
    ADD_FAILURE() << "unexpected request " << request.method << " " << request.path;
    return respond(405, status_body(405, "MethodNotAllowed", "not allowed"));
  }

 private:
  kube::HttpOutcome create(const kube::HttpRequest& request) {
    ++writes_;
    nlohmann::json body = nlohmann::json::parse(request.body);
    const std::string name = body["metadata"].value("name", std::string());
    if (leases_.count(name)) {
      ++conflicts_;
      return respond(409, status_body(409, "AlreadyExists",
                                      "leases.coordination.k8s.io \"" + name + "\" already exists"));
    }
    body["metadata"]["uid"] = "lease-uid-" + name;
    body["metadata"]["namespace"] = namespace_;
    bump(body);
    leases_[name] = body;
    return respond(201, body.dump());
  }

  kube::HttpOutcome update(const std::string& name, const kube::HttpRequest& request) {
    ++writes_;
    nlohmann::json body = nlohmann::json::parse(request.body);
    const auto it = leases_.find(name);
    if (it == leases_.end()) return not_found(name);
    if (body["metadata"].value("resourceVersion", std::string()) !=
        it->second["metadata"]["resourceVersion"].get<std::string>()) {
      ++conflicts_;
      return respond(409,
                     status_body(409, "Conflict",
                                 "Operation cannot be fulfilled on leases.coordination.k8s.io \"" + name +
                                     "\": the object has been modified; please apply your changes to the "
                                     "latest version and try again"));
    }
    body["metadata"]["uid"] = it->second["metadata"]["uid"];
    // Like the real server (and etcd), an update that changes nothing writes nothing.
    if (body == it->second) return respond(200, body.dump());
    bump(body);
    it->second = body;
    return respond(200, body.dump());
  }

  static kube::HttpOutcome not_found(const std::string& name) {
    return respond(404,
                   status_body(404, "NotFound", "leases.coordination.k8s.io \"" + name + "\" not found"));
  }

  void bump(nlohmann::json& lease) {
    lease["metadata"]["resourceVersion"] = std::to_string(++resource_version_);
  }

  const std::string namespace_;
  mutable std::mutex mutex_;
  std::map<std::string, nlohmann::json> leases_;
  long long resource_version_ = 500;
  BeforeWrite before_write_;
  bool unreachable_ = false;
  int writes_ = 0;
  int conflicts_ = 0;
};

}  // namespace cdcguard::testing_support
