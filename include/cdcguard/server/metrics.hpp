#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "cdcguard/model/time.hpp"
#include "cdcguard/store/registry_store.hpp"

// The webhook's Prometheus metrics (text exposition format 0.0.4). Counters and
// the latency histogram are kept here; registry gauges are computed from the
// registry snapshot when /metrics is scraped, so they are never stale.
namespace cdcguard::server {

class Metrics {
 public:
  // Upper bounds of the latency histogram's buckets, in seconds.
  static constexpr std::array<double, 14> kLatencyBuckets = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5};

  // One answered AdmissionReview. `verdict`: allowed, denied, patched or invalid.
  void observe_admission(std::string_view endpoint, std::string_view verdict,
                         const std::vector<std::string>& denied_by, const std::vector<std::string>& warned_by,
                         double seconds);
  // A request refused before it became an admission (400, 404, 413, 415, 500).
  void count_http_error(int status);
  void count_certificate_reload(bool ok);

  struct Tls {
    std::int64_t not_after = 0;  // Unix seconds of the serving certificate's notAfter
  };
  // The whole exposition. `registry` may be null (the registry cannot be read).
  std::string render(const RegistrySnapshot* registry, TimePoint now, const Tls& tls) const;

 private:
  // Lock-free on the request path: every admission touches only atomics.
  static constexpr std::size_t kEndpoints = 2;  // validate, mutate
  static constexpr std::size_t kVerdicts = 4;   // allowed, denied, patched, invalid
  static constexpr std::size_t kMaxRules = 32;
  using Counter = std::atomic<std::uint64_t>;
  struct Histogram {
    std::array<Counter, kLatencyBuckets.size() + 1> buckets{};  // not cumulative; the last is +Inf
    Counter count{0};
    Counter sum_ns{0};
  };
  std::array<std::array<Counter, kVerdicts>, kEndpoints> admissions_{};
  std::array<std::array<std::array<Counter, 2>, kMaxRules>, kEndpoints>
      violations_{};  // [endpoint][rule][deny, warn]
  std::array<Histogram, kEndpoints> latency_{};
  Counter certificate_reloads_{0};
  Counter certificate_reload_errors_{0};
  mutable std::mutex errors_mutex_;  // errors are rare: a map is fine
  std::map<int, std::uint64_t> http_errors_;
};

// Ids of `range` that the registry leaves free (no live entry, reservation or
// embargo holds them) at `now`.
std::uint64_t free_ids(const RegistryIndex& index, const IdRange& range, TimePoint now);

}  // namespace cdcguard::server
