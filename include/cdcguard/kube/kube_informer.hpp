#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "cdcguard/kube/kube_client.hpp"
#include "cdcguard/kube/monotonic_clock.hpp"

// LIST then WATCH one kind of object, as client-go's reflector does: the LIST
// gives every object and a resourceVersion, the WATCH continues from it (with
// bookmarks, so a quiet watch still moves its resourceVersion forward). A
// watch that ends is reopened from the last resourceVersion seen; a 410
// (HTTP, or an ERROR event carrying a 410 Status: the history was compacted)
// starts over with a fresh LIST; failures back off exponentially with jitter.
namespace cdcguard::kube {

class Informer {
 public:
  struct Sink {
    // Everything the LIST returned: replaces all that was known (objects that
    // vanished while the watch was down are gone from it).
    std::function<void(const std::vector<nlohmann::json>& items)> replace;
    // One change: "ADDED", "MODIFIED" or "DELETED".
    std::function<void(std::string_view type, const nlohmann::json& object)> apply;
  };
  struct Options {
    std::chrono::seconds watch_timeout{300};  // timeoutSeconds asked of the server
    std::chrono::milliseconds backoff_base{200};
    std::chrono::milliseconds backoff_max{10000};
    // The backoff pauses (cut short by stop()); null: the steady clock.
    std::shared_ptr<MonotonicClock> clock;
  };
  struct Stats {
    int lists = 0;
    int watches = 0;
    int expired = 0;  // 410s that forced a new LIST
    int errors = 0;
    std::string resource_version;
  };

  // `path` is the collection (e.g. /apis/kafka.strimzi.io/v1/kafkaconnectors);
  // `query` extra parameters without '?' (e.g. fieldSelector=metadata.name%3Dx).
  Informer(KubeClient& client, std::string path, std::string query, Sink sink, Options options);
  Informer(KubeClient& client, std::string path, std::string query, Sink sink)
      : Informer(client, std::move(path), std::move(query), std::move(sink), Options{}) {}
  ~Informer();
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  void start();
  // Returns once the loop has ended. The client's streams must be stopped too
  // (KubeClient::stop_streams) for a watch in progress to end at once.
  void stop();
  bool synced() const { return synced_.load(); }  // a LIST has been applied
  // Why the last attempt failed ("" after a success).
  std::string last_error() const;
  Stats stats() const;
  const std::string& path() const { return path_; }

 private:
  void run();
  bool list(std::string& resource_version);
  enum class WatchEnd { Ended, Expired, Failed };  // Expired: a new LIST is needed
  WatchEnd watch(std::string& resource_version, bool& got_events);
  void fail(const std::string& why);
  void pause(std::chrono::milliseconds how_long);

  KubeClient& client_;
  std::string path_;
  std::string query_;
  Sink sink_;
  Options options_;
  std::atomic<bool> synced_{false};
  std::atomic<bool> stopping_{false};
  std::shared_ptr<MonotonicClock> clock_;
  std::stop_source stop_source_;  // requested by stop(): ends a pause at once
  mutable std::mutex mutex_;      // guards the fields below
  std::string last_error_;
  Stats stats_;
  std::thread thread_;
};

}  // namespace cdcguard::kube
