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

// A stand-in for kube-apiserver. No real API server can run on the CI
// machines, so this fake behaves like one for everything cdc-guard uses, over
// real HTTPS (a certificate from TestCa), following the Kubernetes API
// conventions:
//   - every request needs `Authorization: Bearer <accepted token>`, else 401
//     with a Status body (reason Unauthorized);
//   - errors are `Status` objects (kind Status, apiVersion v1, status Failure,
//     message, reason, details {name, kind}, code);
//   - one etcd-like resourceVersion counter for every object (1 on an empty
//     store, as etcd's revision); each write bumps it and stores
//     metadata.resourceVersion as a decimal string; objects get metadata.uid
//     and creationTimestamp (kept across updates);
//   - ConfigMaps (core v1): GET, PUT, POST, DELETE, LIST and WATCH, namespaced
//     and (for LIST/WATCH) across all namespaces. PUT with a stale
//     metadata.resourceVersion gets 409 reason Conflict with the real
//     message ("Operation cannot be fulfilled on configmaps \"NAME\": the
//     object has been modified; please apply your changes to the latest version
//     and try again"); PUT without one is unconditional; a PUT that changes
//     nothing writes nothing (same resourceVersion, no event), as the real
//     server does; POST of an existing name gets 409 AlreadyExists; a missing
//     object 404 NotFound; DELETE answers a Status with status Success.
//   - kafka.strimzi.io KafkaConnector and KafkaConnect: LIST and WATCH in all
//     namespaces or one (and GET of one), in each served version (apiVersion
//     rewritten to the version asked for); a version not served answers 404.
//     Writes to them go through apply()/remove() only.
//   - unknown paths answer 404 NotFound (a Status); labelSelector, limit and
//     continue are ignored (the whole list comes back in one page).
//   - discovery: GET /apis (APIGroupList), /apis/kafka.strimzi.io (APIGroup
//     with preferredVersion), /apis/kafka.strimzi.io/VERSION (APIResourceList).
//   - LIST returns a List (kind ConfigMapList/KafkaConnectorList/...) with
//     metadata.resourceVersion = the current counter. `fieldSelector`
//     metadata.name and metadata.namespace (=, ==, !=) are honoured, any other
//     field answers 400. A LIST with a
//     resourceVersion older than the compaction point (and not "0" or "")
//     answers HTTP 410 reason Expired.
//   - WATCH (`?watch=true` or `watch=1`): a chunked stream of JSON lines
//     {"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":{...}}. With a
//     resourceVersion, every change after it is replayed, then live changes;
//     without one (or "0"), synthetic ADDED events for every current object
//     first. compact() affects only requests made after it: streams already
//     open still get every change. A resourceVersion older than the compaction
//     point gets HTTP 200 and
//     one ERROR event whose object is a Status with code 410, reason Expired,
//     then the stream ends, as the real server does. `allowWatchBookmarks=true`
//     gets a BOOKMARK (object of the watched kind with only
//     metadata.resourceVersion) every bookmark_interval. `timeoutSeconds` ends
//     the stream after that long (clean end of the chunked body), and so does
//     drop_watches(); stop() breaks the connections instead.
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
  // Deletes; true when it existed. `kind` is "ConfigMap", "KafkaConnector" or "KafkaConnect".
  bool remove(const std::string& kind, const std::string& namespace_name, const std::string& name);
  // The stored object, as last written, or nullopt.
  std::optional<nlohmann::json> get(const std::string& kind, const std::string& namespace_name,
                                    const std::string& name) const;
  std::uint64_t resource_version() const;

  // Failure injection.
  // Forgets the change history up to now: LIST/WATCH from an older resourceVersion get 410.
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
    int unauthorized = 0;    // 401s
    int configmap_puts = 0;  // ConfigMap PUTs received (authenticated, not failed by fail_next)
    int conflicts = 0;       // 409s from PUTs and POSTs
    int lists = 0;           // LISTs answered with a List or 410
    int watches = 0;         // watch streams opened
    int gone = 0;            // 410 answers (LIST) and ERROR 410 events (WATCH)
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
