// What one reconciliation pass costs (DESIGN.md "The reconciler"): the
// leader runs one on every change the cluster cache sees (at most one a
// second) and every --resync-period. A pass is computed on a copy of the
// cached registry first; only a pass that changes something is written.
//
//   bench/reconcile_pass [ENTRIES] [ROUNDS]     (default 10000 entries, 20 rounds)
//
// The cluster runs one connector per entry, all confirmed; a steady pass
// (nothing to change: the common case) and a pass that confirms every entry
// (a burst of claims) are timed, median and worst of ROUNDS, and the peak RSS
// is printed.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cdcguard/model/registry.hpp"
#include "cdcguard/model/time.hpp"
#include "cdcguard/policy/connector_index.hpp"
#include "cdcguard/policy/reconciler.hpp"

namespace {

using namespace cdcguard;
using Clock = std::chrono::steady_clock;

ConnectorFacts connector(int i) {
  ConnectorFacts f;
  f.namespace_name = "team-" + std::to_string(i % 50);
  f.name = "cdc-" + std::to_string(i);
  f.uid = "00000000-0000-4000-8000-" + std::to_string(100000000000 + i);
  f.connector_class = std::string(kMySqlConnectorClass);
  f.server_id = parse_server_id(std::to_string(100000 + i), true);
  f.topic_prefix = {"prefix-" + std::to_string(i), "topic.prefix", 0, false};
  f.history_topic = {"schema-history.prefix-" + std::to_string(i), "schema.history.internal.kafka.topic", 0,
                     false};
  return f;
}

struct Timing {
  double median_ms = 0;
  double worst_ms = 0;
};

template <class F>
Timing timed(int rounds, F run) {
  std::vector<double> ms;
  for (int r = 0; r < rounds; ++r) {
    const auto t0 = Clock::now();
    run();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms.back()};
}

}  // namespace

int main(int argc, char** argv) {
  const int entries = argc > 1 ? std::atoi(argv[1]) : 10000;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 20;
  if (entries < 1 || entries > 800000 || rounds < 1) {
    std::fprintf(stderr, "usage: reconcile_pass [ENTRIES (1..800000)] [ROUNDS]\n");
    return 2;
  }
  const TimePoint now = *parse_timestamp("2026-12-01T10:00:00Z");
  ConnectorIndex cluster;
  Registry pending;
  pending.rules.range = {100000, 100000 + static_cast<std::uint32_t>(entries)};
  for (int i = 0; i < entries; ++i) {
    const ConnectorFacts c = cluster.upsert(connector(i));
    RegistryEntry e;
    e.connector = c.key();
    e.server_id = c.server_id.id;
    e.status = EntryStatus::Pending;
    e.claim_uid = "req-" + std::to_string(i);
    e.expires_at = now + std::chrono::minutes(5);
    e.date = date_of(now);
    pending.entries.push_back(std::move(e));
  }
  const ReconcileOptions options{"default", {}};

  // A burst: every entry a Pending claim whose connector has appeared.
  std::size_t confirmed = 0;
  const Timing burst = timed(rounds, [&] {
    Registry r = pending;
    confirmed = reconcile(r, cluster, now, options).count(ReconcileStep::Confirm);
  });
  // First install on a cluster that already runs them all: every connector adopted.
  std::size_t adopted = 0;
  const Timing adoption = timed(rounds, [&] {
    Registry r;
    r.rules = pending.rules;
    adopted = reconcile(r, cluster, now, options).count(ReconcileStep::Adopt);
  });
  // The steady state: everything confirmed, nothing to change.
  Registry settled = pending;
  reconcile(settled, cluster, now, options);
  bool changed = true;
  const Timing steady = timed(rounds, [&] {
    Registry r = settled;
    changed = reconcile(r, cluster, now, options).changed();
  });

  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("entries %d, rounds %d\n", entries, rounds);
  std::printf("burst pass (confirms %zu): median %.1f ms, worst %.1f ms\n", confirmed, burst.median_ms,
              burst.worst_ms);
  std::printf("adoption pass (adopts %zu): median %.1f ms, worst %.1f ms\n", adopted, adoption.median_ms,
              adoption.worst_ms);
  std::printf("steady pass (changes nothing: %s): median %.1f ms, worst %.1f ms\n", changed ? "no" : "yes",
              steady.median_ms, steady.worst_ms);
  std::printf("peak RSS %.1f MiB\n", static_cast<double>(usage.ru_maxrss) / 1024.0);
  return confirmed == static_cast<std::size_t>(entries) && adopted == confirmed && !changed ? 0 : 1;
}
