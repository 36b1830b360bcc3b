#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/test_pki.hpp"

// A stand-in for kube-apiserver, for faults only. The real kube-apiserver
// (and etcd) runs in the e2e suite (tests/e2e), and behaviour belongs there.
// This fake stays for what the real server cannot be made to do on demand:
// 429 and 500 storms (fail_next), a watch cut mid-stream (drop_watches,
// stop), a 410 at will (compact), a slow PUT (set_put_delay), and in unit
// tests that must run in milliseconds. tests/e2e/fake_parity_e2e.cpp holds
// it to the real server's behaviour: the same requests, through cdc-guard's
// KubeClient, to both, compared; what differs on purpose is listed there and
// below. Over real HTTPS (a certificate from TestCa), it answers as
// kube-apiserver v1.36 does:
//   - a bearer token it does not accept gets 401 reason Unauthorized (message
//     "Unauthorized"), on every path; a request without credentials is
//     system:anonymous, refused by RBAC with 403 reason Forbidden in the real
//     words ("configmaps \"NAME\" is forbidden: User \"system:anonymous\"
//     cannot get resource ..."), except /healthz, /livez, /readyz and
//     /version, which are public;
//   - errors are `Status` objects (kind Status, apiVersion v1, metadata {},
//     status Failure, message, reason, details {name, group, kind}, code);
//     except that an unknown group, version or resource under /apis, and any
//     path outside /api and /apis, answers 404 with the plain text "404 page
//     not found" (the real server's mux), while unknown paths under /api
//     answer a Status ("the server could not find the requested resource");
//   - one etcd-like resourceVersion counter for every object (1 on an empty
//     store, as etcd's revision); each write bumps it and stores
//     metadata.resourceVersion as a decimal string; objects get metadata.uid
//     and creationTimestamp (kept across updates); managedFields are not kept;
//   - ConfigMaps (core v1): GET, PUT, POST, DELETE, LIST and WATCH, namespaced
//     and (for LIST/WATCH) across all namespaces. PUT with a stale
//     metadata.resourceVersion gets 409 reason Conflict with the real
//     message ("Operation cannot be fulfilled on configmaps \"NAME\": the
//     object has been modified; please apply your changes to the latest version
//     and try again"); PUT without one is unconditional, and so is one without
//     kind and apiVersion; a PUT that changes nothing writes nothing (same
//     resourceVersion, no event); PUT of a missing object gets 404 (no create
//     on update); POST of an existing name gets 409 AlreadyExists, POST
//     without a name 422 Invalid (with its cause); a missing object 404
//     NotFound; DELETE answers a Status with status Success (details with
//     the uid), and a stale preconditions.resourceVersion 409 Conflict.
//   - Leases (coordination.k8s.io/v1): GET, PUT, POST, DELETE, LIST and WATCH,
//     as ConfigMaps (messages name leases.coordination.k8s.io), except as the
//     Lease strategy has it: a PUT without metadata.resourceVersion is refused
//     with 422 Invalid ("must be specified for an update"; no unconditional
//     update), and a PUT (with one) of a missing Lease creates it (201). The
//     spec is not validated, set_put_delay() does not apply, and the group's
//     discovery documents are not served (404).
//   - kafka.strimzi.io KafkaConnector and KafkaConnect: LIST and WATCH in all
//     namespaces or one (and GET of one), in each served version (apiVersion
//     rewritten to the version asked for); a version not served answers 404
//     (plain text). Writes to them go through apply()/remove() only.
//   - labelSelector, limit, continue and resourceVersionMatch are ignored (the
//     whole list comes back in one page).
//   - discovery: GET /apis (APIGroupList; its entries without kind and
//     apiVersion), /apis/kafka.strimzi.io (APIGroup with preferredVersion),
//     /apis/kafka.strimzi.io/VERSION (APIResourceList with the status and
//     scale subresources; no storageVersionHash).
//   - LIST returns a List (kind ConfigMapList/KafkaConnectorList/...) with
//     metadata.resourceVersion = the current counter (and metadata.continue
//     "" for custom resources); items of a ConfigMapList carry no kind or
//     apiVersion, custom resources' items do. `fieldSelector` metadata.name
//     and metadata.namespace (=, ==, !=) are honoured; any other field answers
//     400 in the real words (ConfigMaps: "\"F\" is not a known field
//     selector: only \"metadata.name\", \"metadata.namespace\""; custom
//     resources: "field label not supported: F"). A LIST's resourceVersion
//     means "not older than": the current state, never 410, however old;
//     one ahead of the counter answers 504 Timeout (ResourceVersionTooLarge);
//     one that is not a number 400.
//   - WATCH (`?watch=true` or `watch=1`): a chunked stream of JSON lines
//     {"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":{...}}; objects
//     carry kind and apiVersion, a DELETED one the deletion's resourceVersion.
//     With a resourceVersion, every change after it is replayed, then live
//     changes; without one (or "" or "0"), synthetic ADDED events for every
//     current object first, then, with `allowWatchBookmarks=true`, a BOOKMARK
//     annotated k8s.io/initial-events-end: "true". A resourceVersion older
//     than the compaction point (compact()) gets HTTP 200 and one ERROR event
//     whose object is a Status with code 410, reason Expired, message "too
//     old resource version: RV (COMPACTED)", then the stream ends, as the real
//     server does; compact() affects only watches opened after it: streams
//     already open still get every change. (The real server keeps history
//     from when each resource's watch cache began, and expires a recent
//     version only when that cache moves on or etcd compacts.) A
//     resourceVersion that is not a number answers 500 without a reason, as
//     the real one does. `allowWatchBookmarks=true` also gets a BOOKMARK
//     (object of the watched kind with only metadata.resourceVersion) every
//     bookmark_interval, whether or not anything moved (the real server sends
//     one only after the watched resource moved on, at its own pace: at the
//     latest 2 s before timeoutSeconds, at most a minute apart). `timeoutSeconds` ends the stream after that
//     long (clean end of the chunked body), and so does drop_watches(); stop() breaks the connections
//     instead.
namespace cdcguard::testing_support {

class FakeApiServer {
 public:
  struct Options {
    std::set<std::string> tokens{"test-token"};
    std::vector<std::string> strimzi_versions{"v1", "v1beta2"};  // served versions; first is preferred
    std::chrono::milliseconds bookmark_interval{200};
    int threads = 128;  // every open watch holds one
  };

  explicit FakeApiServer(PemPair serving_certificate, Options options);
  explicit FakeApiServer(PemPair serving_certificate)
      : FakeApiServer(std::move(serving_certificate), Options{}) {}
  ~FakeApiServer();
  FakeApiServer(const FakeApiServer&) = delete;
  FakeApiServer& operator=(const FakeApiServer&) = delete;

  // Listens on 127.0.0.1:`port` (0: a free one) in a background thread;
  // returns once it accepts connections. start() after stop() serves the same
  // objects again (port 0 there means the previous port).
  void start(int port = 0);
  // Closes every watch stream and every open (also idle kept-alive) connection
  // and stops listening: clients get connection refused. Returns promptly.
  void stop();
  int port() const;
  std::string url() const;  // "https://127.0.0.1:PORT"

  // Authentication.
  void set_tokens(std::set<std::string> tokens);

  // Server-side changes, as another client would make them (each bumps the
  // resourceVersion and notifies watches). `object` is a full object with
  // apiVersion, kind, metadata.name and metadata.namespace; create or replace.
  // Returns the stored object (with resourceVersion).
  nlohmann::json apply(const nlohmann::json& object);
  // Deletes; true when it existed. `kind` is "ConfigMap", "Lease", "KafkaConnector" or "KafkaConnect".
  bool remove(const std::string& kind, const std::string& namespace_name, const std::string& name);
  // The stored object, as last written, or nullopt.
  std::optional<nlohmann::json> get(const std::string& kind, const std::string& namespace_name,
                                    const std::string& name) const;
  std::uint64_t resource_version() const;

  // Failure injection.
  // Forgets the change history up to now: a WATCH from an older resourceVersion
  // gets an ERROR event with a 410 Status (a LIST is never expired).
  void compact();
  // Ends every open watch stream now (as an API server restart or a load balancer does).
  void drop_watches();
  // The next `count` requests (of any kind, but not watches) answer `status`
  // with a Status body, and a Retry-After header (and details.retryAfterSeconds)
  // when retry_after_seconds > 0. Authentication comes first, as in the real
  // server: a 401 does not use one up.
  void fail_next(int count, int status, int retry_after_seconds = 0);
  // Every ConfigMap PUT waits this long before it is applied (widens races).
  void set_put_delay(std::chrono::milliseconds delay);

  // Observation, for assertions.
  struct Counters {
    int requests = 0;        // every request that reached a handler (authenticated or not)
    int unauthorized = 0;    // 401s (a token the server does not accept)
    int forbidden = 0;       // 403s to requests without credentials (system:anonymous)
    int configmap_puts = 0;  // ConfigMap PUTs received (authenticated, not failed by fail_next)
    int conflicts = 0;       // 409s from PUTs and POSTs
    int lists = 0;           // LISTs answered with a List or 410
    int watches = 0;         // watch streams opened
    int gone = 0;            // ERROR 410 events (WATCH; a LIST never answers 410)
  };
  Counters counters() const;
  // The bearer tokens presented, valid or not, one per request, in order (for
  // token rotation tests).
  std::vector<std::string> tokens_seen() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cdcguard::testing_support
