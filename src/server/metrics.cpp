#include "cdcguard/metrics.hpp"

#include <cstdio>
#include <sstream>

#include "cdcguard/connector_index.hpp"
#include "cdcguard/server_id_allocator.hpp"
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

void Metrics::observe_admission(std::string_view endpoint, std::string_view verdict,
                                const std::vector<std::string>& denied_by,
                                const std::vector<std::string>& warned_by, double seconds) {
  std::lock_guard guard(mutex_);
  ++admissions_[{std::string(endpoint), std::string(verdict)}];
  for (const auto& rule : denied_by) ++violations_[{std::string(endpoint), rule, "deny"}];
  for (const auto& rule : warned_by) ++violations_[{std::string(endpoint), rule, "warn"}];
  Histogram& h = latency_[std::string(endpoint)];
  for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
    if (seconds <= kLatencyBuckets[i]) ++h.buckets[i];
  }
  ++h.count;
  h.sum += seconds;
}

void Metrics::count_http_error(int status) {
  std::lock_guard guard(mutex_);
  ++http_errors_[status];
}

void Metrics::count_certificate_reload(bool ok) {
  std::lock_guard guard(mutex_);
  ++(ok ? certificate_reloads_ : certificate_reload_errors_);
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
  {
    std::lock_guard guard(mutex_);
    header(out, "cdcguard_admission_requests_total", "counter",
           "AdmissionReviews answered, by endpoint and verdict (allowed, denied, patched, invalid).");
    for (const auto& [key, n] : admissions_) {
      out << "cdcguard_admission_requests_total{endpoint=\"" << label(std::get<0>(key)) << "\",verdict=\""
          << label(std::get<1>(key)) << "\"} " << n << '\n';
    }
    header(out, "cdcguard_admission_violations_total", "counter",
           "Rule violations in answered AdmissionReviews, by endpoint, rule and action (deny, warn).");
    for (const auto& [key, n] : violations_) {
      out << "cdcguard_admission_violations_total{endpoint=\"" << label(std::get<0>(key)) << "\",rule=\""
          << label(std::get<1>(key)) << "\",action=\"" << label(std::get<2>(key)) << "\"} " << n << '\n';
    }
    header(out, "cdcguard_admission_duration_seconds", "histogram",
           "Time from a request's arrival to its answer, by endpoint.");
    for (const auto& [endpoint, h] : latency_) {
      const std::string ep = label(endpoint);
      for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
        out << "cdcguard_admission_duration_seconds_bucket{endpoint=\"" << ep << "\",le=\""
            << number(kLatencyBuckets[i]) << "\"} " << h.buckets[i] << '\n';
      }
      out << "cdcguard_admission_duration_seconds_bucket{endpoint=\"" << ep << "\",le=\"+Inf\"} " << h.count
          << '\n';
      out << "cdcguard_admission_duration_seconds_sum{endpoint=\"" << ep << "\"} " << number(h.sum) << '\n';
      out << "cdcguard_admission_duration_seconds_count{endpoint=\"" << ep << "\"} " << h.count << '\n';
    }
    header(out, "cdcguard_http_errors_total", "counter",
           "Requests refused before they became an admission, by HTTP status.");
    for (const auto& [status, n] : http_errors_) {
      out << "cdcguard_http_errors_total{code=\"" << status << "\"} " << n << '\n';
    }
    header(out, "cdcguard_tls_certificate_reloads_total", "counter",
           "Serving certificates reloaded after their files changed.");
    out << "cdcguard_tls_certificate_reloads_total " << certificate_reloads_ << '\n';
    header(out, "cdcguard_tls_certificate_reload_errors_total", "counter",
           "Changed certificate files that could not be loaded (the previous certificate stays in use).");
    out << "cdcguard_tls_certificate_reload_errors_total " << certificate_reload_errors_ << '\n';
  }
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
