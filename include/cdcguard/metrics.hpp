#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "cdcguard/registry_store.hpp"
#include "cdcguard/time.hpp"

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
  struct Histogram {
    std::array<std::uint64_t, kLatencyBuckets.size()> buckets{};
    std::uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string>, std::uint64_t> admissions_;  // endpoint, verdict
  std::map<std::tuple<std::string, std::string, std::string>, std::uint64_t>
      violations_;                            // endpoint, rule, action
  std::map<std::string, Histogram> latency_;  // endpoint
  std::map<int, std::uint64_t> http_errors_;
  std::uint64_t certificate_reloads_ = 0;
  std::uint64_t certificate_reload_errors_ = 0;
};

// Ids of `range` that the registry leaves free (no live entry, reservation or
// embargo holds them) at `now`.
std::uint64_t free_ids(const RegistryIndex& index, const IdRange& range, TimePoint now);

}  // namespace cdcguard::server
