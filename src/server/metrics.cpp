#include "cdcguard/server/metrics.hpp"

#include <cstdio>
#include <sstream>

#include "cdcguard/model/rule_ids.hpp"
#include "cdcguard/policy/connector_index.hpp"
#include "cdcguard/policy/server_id_allocator.hpp"
#include "cdcguard/version.hpp"

namespace cdcguard::server {
namespace {

// Label values escaped as the exposition format asks: backslash, quote, newline.
std::string label(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

void header(std::ostringstream& out, const char* name, const char* type, const char* help) {
  out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
}

}  // namespace

namespace {

constexpr std::array<std::string_view, 2> kEndpointNames = {"validate", "mutate"};
constexpr std::array<std::string_view, 4> kVerdictNames = {"allowed", "denied", "patched", "invalid"};

template <std::size_t N>
std::size_t index_of(const std::array<std::string_view, N>& names, std::string_view name) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == name) return i;
  }
  return N;
}

std::size_t rule_index(std::string_view rule_id) {
  const auto ids = rule::all();
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] == rule_id) return i;
  }
  return ids.size();
}

}  // namespace

void Metrics::observe_admission(std::string_view endpoint, std::string_view verdict,
                                const std::vector<std::string>& denied_by,
                                const std::vector<std::string>& warned_by, double seconds) {
  const std::size_t e = index_of(kEndpointNames, endpoint);
  const std::size_t v = index_of(kVerdictNames, verdict);
  if (e >= kEndpoints || v >= kVerdicts) return;
  admissions_[e][v].fetch_add(1, std::memory_order_relaxed);
  for (int action = 0; action < 2; ++action) {
    for (const auto& rule : action == 0 ? denied_by : warned_by) {
      const std::size_t r = rule_index(rule);
      if (r < kMaxRules)
        violations_[e][r][static_cast<std::size_t>(action)].fetch_add(1, std::memory_order_relaxed);
    }
  }
  Histogram& h = latency_[e];
  std::size_t bucket = 0;
  while (bucket < kLatencyBuckets.size() && seconds > kLatencyBuckets[bucket]) ++bucket;
  h.buckets[bucket].fetch_add(1, std::memory_order_relaxed);
  h.count.fetch_add(1, std::memory_order_relaxed);
  h.sum_ns.fetch_add(static_cast<std::uint64_t>(seconds * 1e9), std::memory_order_relaxed);
}

void Metrics::count_http_error(int status) {
  std::lock_guard guard(errors_mutex_);
  ++http_errors_[status];
}

void Metrics::count_certificate_reload(bool ok) {
  (ok ? certificate_reloads_ : certificate_reload_errors_).fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t free_ids(const RegistryIndex& index, const IdRange& range, TimePoint now) {
  const ConnectorIndex none;
  const ServerIdAllocator allocator(index, none, now);
  std::uint64_t n = 0;
  for (std::uint64_t id = range.from; id <= range.to; ++id) {
    if (allocator.is_free(static_cast<std::uint32_t>(id), {})) ++n;
  }
  return n;
}

std::string Metrics::render(const RegistrySnapshot* registry, TimePoint now, const Tls& tls) const {
  std::ostringstream out;
  header(out, "cdcguard_admission_requests_total", "counter",
         "AdmissionReviews answered, by endpoint and verdict (allowed, denied, patched, invalid).");
  for (std::size_t e = 0; e < kEndpoints; ++e) {
    for (std::size_t v = 0; v < kVerdicts; ++v) {
      out << "cdcguard_admission_requests_total{endpoint=\"" << kEndpointNames[e] << "\",verdict=\""
          << kVerdictNames[v] << "\"} " << admissions_[e][v].load() << '\n';
    }
  }
  header(out, "cdcguard_admission_violations_total", "counter",
         "Rule violations in answered AdmissionReviews, by endpoint, rule and action (deny, warn).");
  const auto ids = rule::all();
  for (std::size_t e = 0; e < kEndpoints; ++e) {
    for (std::size_t r = 0; r < ids.size() && r < kMaxRules; ++r) {
      for (std::size_t a = 0; a < 2; ++a) {
        const std::uint64_t n = violations_[e][r][a].load();
        if (n == 0) continue;  // one series per rule that has fired
        out << "cdcguard_admission_violations_total{endpoint=\"" << kEndpointNames[e] << "\",rule=\""
            << ids[r] << "\",action=\"" << (a == 0 ? "deny" : "warn") << "\"} " << n << '\n';
      }
    }
  }
  header(out, "cdcguard_admission_duration_seconds", "histogram",
         "Time from a request's arrival to its answer, by endpoint.");
  for (std::size_t e = 0; e < kEndpoints; ++e) {
    const Histogram& h = latency_[e];
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
      cumulative += h.buckets[i].load();
      out << "cdcguard_admission_duration_seconds_bucket{endpoint=\"" << kEndpointNames[e] << "\",le=\""
          << number(kLatencyBuckets[i]) << "\"} " << cumulative << '\n';
    }
    cumulative += h.buckets[kLatencyBuckets.size()].load();
    out << "cdcguard_admission_duration_seconds_bucket{endpoint=\"" << kEndpointNames[e] << "\",le=\"+Inf\"} "
        << cumulative << '\n';
    out << "cdcguard_admission_duration_seconds_sum{endpoint=\"" << kEndpointNames[e] << "\"} "
        << number(static_cast<double>(h.sum_ns.load()) / 1e9) << '\n';
    out << "cdcguard_admission_duration_seconds_count{endpoint=\"" << kEndpointNames[e] << "\"} "
        << cumulative << '\n';
  }
  header(out, "cdcguard_http_errors_total", "counter",
         "Requests refused before they became an admission, by HTTP status.");
  {
    std::lock_guard guard(errors_mutex_);
    for (const auto& [status, n] : http_errors_)
      out << "cdcguard_http_errors_total{code=\"" << status << "\"} " << n << '\n';
  }
  header(out, "cdcguard_tls_certificate_reloads_total", "counter",
         "Serving certificates reloaded after their files changed.");
  out << "cdcguard_tls_certificate_reloads_total " << certificate_reloads_.load() << '\n';
  header(out, "cdcguard_tls_certificate_reload_errors_total", "counter",
         "Changed certificate files that could not be loaded (the previous certificate stays in use).");
  out << "cdcguard_tls_certificate_reload_errors_total " << certificate_reload_errors_.load() << '\n';
  header(out, "cdcguard_tls_certificate_expiry_timestamp_seconds", "gauge",
         "notAfter of the serving certificate, in Unix seconds.");
  out << "cdcguard_tls_certificate_expiry_timestamp_seconds " << tls.not_after << '\n';

  header(out, "cdcguard_registry_up", "gauge", "1 when the registry can be read and parsed, else 0.");
  out << "cdcguard_registry_up " << (registry ? 1 : 0) << '\n';
  if (registry) {
    std::map<std::string, std::uint64_t> by_status;
    for (const auto status :
         {EntryStatus::Reserved, EntryStatus::Pending, EntryStatus::Active, EntryStatus::Decommissioned}) {
      by_status[std::string(to_string(status))] = 0;
    }
    for (const auto& e : registry->registry.entries) ++by_status[std::string(to_string(e.status))];
    header(out, "cdcguard_registry_entries", "gauge", "Registry entries, by status.");
    for (const auto& [status, n] : by_status) {
      out << "cdcguard_registry_entries{status=\"" << status << "\"} " << n << '\n';
    }
    header(out, "cdcguard_registry_free_ids", "gauge",
           "Ids free to assign, per team range and for the whole registry range (pool=\"registry\").");
    const Registry& r = registry->registry;
    out << "cdcguard_registry_free_ids{pool=\"registry\",range=\"" << r.rules.range.str() << "\"} "
        << free_ids(registry->index, r.rules.range, now) << '\n';
    for (const auto& team : r.teams) {
      if (!team.range) continue;
      out << "cdcguard_registry_free_ids{pool=\"" << label(team.name) << "\",range=\"" << team.range->str()
          << "\"} " << free_ids(registry->index, *team.range, now) << '\n';
    }
  }
  header(out, "cdcguard_build_info", "gauge", "The running version.");
  out << "cdcguard_build_info{version=\"" << kVersion << "\"} 1\n";
  return out.str();
}

}  // namespace cdcguard::server
