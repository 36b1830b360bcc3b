// The claim path's latency: `/validate` CREATEs that each claim a new server id
// in the registry ConfigMap, over real HTTPS, against the fake API server on
// loopback (tests/support/fake_api_server.hpp; no real kube-apiserver runs on
// these machines). Reports p50/p99/max per setting and the PUTs and 409s the
// API server saw, so the effect of coalescing is visible.
//
//   build-bench-claim/claim_latency [requests-per-client]
//
// Settings: 1 replica with 1 client (every claim its own PUT), 1 replica with
// 8 clients, 3 replicas with 8 clients each (contention between replicas);
// and, for reference, the no-write path (re-validating a claimed connector).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <latch>
#include <thread>
#include <vector>

#include "cdcguard/kube/cluster_cache.hpp"
#include "cdcguard/kube/configmap_registry_store.hpp"
#include "cdcguard/server/webhook_server.hpp"
#include "support/fake_api_server.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"
#include "support/tls_client.hpp"

namespace {

using namespace cdcguard;
using namespace cdcguard::testing_support;
using Clock = std::chrono::steady_clock;

// A registry of 500 connectors (a busy platform's size); every setting starts from it.
std::string base_registry() {
  std::string y =
      "rules:\n  range: {from: 1000000, to: 1999999}\n  embargoDays: 30\n  autoAssign: true\nentries:\n";
  for (int i = 0; i < 500; ++i) {
    const std::string id = std::to_string(1000000 + i);
    y += "  - {connector: existing/c" + id + ", serverId: " + id + ", database: db" + id +
         ", status: Active, owner: team-a, date: 2026-11-01}\n";
  }
  return y;
}

std::string review(const std::string& uid, const std::string& name, std::uint32_t id) {
  nlohmann::json object = {
      {"apiVersion", "kafka.strimzi.io/v1"},
      {"kind", "KafkaConnector"},
      {"metadata", {{"name", name}, {"namespace", "bench"}, {"labels", {{"strimzi.io/cluster", "c"}}}}},
      {"spec",
       {{"class", "io.debezium.connector.mysql.MySqlConnector"},
        {"tasksMax", 1},
        {"config",
         {{"database.hostname", "mysql"},
          {"database.server.id", std::to_string(id)},
          {"topic.prefix", name},
          {"schema.history.internal.kafka.topic", "schema-history." + name}}}}}};
  nlohmann::json body = {
      {"apiVersion", "admission.k8s.io/v1"},
      {"kind", "AdmissionReview"},
      {"request",
       {{"uid", uid},
        {"kind", {{"group", "kafka.strimzi.io"}, {"version", "v1"}, {"kind", "KafkaConnector"}}},
        {"resource", {{"group", "kafka.strimzi.io"}, {"version", "v1"}, {"resource", "kafkaconnectors"}}},
        {"name", name},
        {"namespace", "bench"},
        {"operation", "CREATE"},
        {"userInfo", {{"username", "bench"}}},
        {"object", object},
        {"dryRun", false}}}};
  return body.dump();
}

struct Replica {
  Replica(const kube::ClusterConfig& cluster, const std::string& cert, const std::string& key,
          server::EventLog& log)
      : client(cluster) {
    store = std::make_unique<kube::ConfigMapRegistryStore>(client, "cdc-guard", "registry");
    cache = std::make_unique<kube::ClusterCache>(client, kube::ClusterCache::Options{});
    server::ServerOptions o;
    o.address = "127.0.0.1";
    o.port = 0;
    o.metrics_port = -1;
    o.tls_cert = cert;
    o.tls_key = key;
    o.threads = 96;  // the burst holds 67 connections per replica open
    o.handler.cluster = [c = cache.get()] { return c->snapshot(); };
    o.handler.pending_claims = true;
    store->start();
    cache->start();
    webhook = std::make_unique<server::WebhookServer>(o, *store, log, [] {
      return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    });
    webhook->start();
    while (!store->synced() || !cache->synced()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ~Replica() {
    webhook->stop();
    client.stop_streams();
    cache->stop();
    store->stop();
  }
  kube::KubeClient client;
  std::unique_ptr<kube::ConfigMapRegistryStore> store;
  std::unique_ptr<kube::ClusterCache> cache;
  std::unique_ptr<server::WebhookServer> webhook;
};

double percentile(std::vector<double>& v, double p) {
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

std::uint32_t next_id = 1001000;

void reset(FakeApiServer& api, std::vector<std::unique_ptr<Replica>>& replicas) {
  api.apply({{"apiVersion", "v1"},
             {"kind", "ConfigMap"},
             {"metadata", {{"name", "registry"}, {"namespace", "cdc-guard"}}},
             {"data", {{"registry.yaml", base_registry()}}}});
  for (auto& r : replicas) {
    while (r->store->snapshot()->registry.entries.size() != 500)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

// One request per client, all at once: the GitOps burst of the issue.
void burst(const char* label, FakeApiServer& api, std::vector<std::unique_ptr<Replica>>& replicas,
           int clients, int rounds, const std::string& ca) {
  std::vector<double> all;
  int ok = 0;
  int puts = 0;
  int conflicts = 0;
  for (int round = 0; round < rounds; ++round) {
    reset(api, replicas);
    const auto before = api.counters();
    std::vector<double> latency(static_cast<std::size_t>(clients));
    std::vector<int> allowed(static_cast<std::size_t>(clients), 0);
    std::latch go(clients);
    std::vector<std::thread> threads;
    const std::uint32_t first = next_id;
    next_id += static_cast<std::uint32_t>(clients);
    for (int c = 0; c < clients; ++c) {
      threads.emplace_back([&, c] {
        TlsConnection::Options o;
        o.ca_pem = ca;
        TlsConnection conn(replicas[static_cast<std::size_t>(c) % replicas.size()]->webhook->port(), o);
        const std::uint32_t id = first + static_cast<std::uint32_t>(c);
        const auto body = review("u" + std::to_string(id), "c" + std::to_string(id), id);
        go.arrive_and_wait();
        const auto t0 = Clock::now();
        const HttpReply r = conn.request("POST", "/validate", body);
        latency[static_cast<std::size_t>(c)] =
            std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        if (r.status == 200 && nlohmann::json::parse(r.body)["response"]["allowed"] == true)
          allowed[static_cast<std::size_t>(c)] = 1;
      });
    }
    for (auto& t : threads) t.join();
    const auto after = api.counters();
    puts += after.configmap_puts - before.configmap_puts;
    conflicts += after.conflicts - before.conflicts;
    all.insert(all.end(), latency.begin(), latency.end());
    for (const int a : allowed) ok += a;
  }
  const double max = *std::max_element(all.begin(), all.end());
  std::printf("| %-34s | %5zu | %5d | %7.2f | %7.2f | %7.2f | %5d | %5d | %7s |\n", label, all.size(), ok,
              percentile(all, 0.50), percentile(all, 0.99), max, puts, conflicts, "-");
  std::fflush(stdout);
}

// `clients` connections per replica, each sending `per_client` CREATEs one
// after another; returns every latency in ms and how many were allowed.
void run(const char* label, FakeApiServer& api, std::vector<std::unique_ptr<Replica>>& replicas, int clients,
         int per_client, const std::string& ca, bool reuse_claims) {
  const int total_clients = clients * static_cast<int>(replicas.size());
  std::vector<std::vector<double>> latencies(static_cast<std::size_t>(total_clients));
  std::vector<int> allowed(static_cast<std::size_t>(total_clients), 0);
  const std::uint32_t first = next_id;
  if (!reuse_claims) next_id += static_cast<std::uint32_t>(total_clients * per_client);
  const auto before = api.counters();
  std::latch go(total_clients);
  std::vector<std::thread> threads;
  const auto started = Clock::now();
  for (int c = 0; c < total_clients; ++c) {
    threads.emplace_back([&, c] {
      TlsConnection::Options o;
      o.ca_pem = ca;
      TlsConnection conn(replicas[static_cast<std::size_t>(c) % replicas.size()]->webhook->port(), o);
      go.arrive_and_wait();
      for (int i = 0; i < per_client; ++i) {
        const std::uint32_t id = first + static_cast<std::uint32_t>(c * per_client + i);
        const std::string name = "c" + std::to_string(id);
        const auto body = review("u" + std::to_string(id) + (reuse_claims ? "r" : ""), name, id);
        const auto t0 = Clock::now();
        const HttpReply r = conn.request("POST", "/validate", body);
        latencies[static_cast<std::size_t>(c)].push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        if (r.status == 200 && nlohmann::json::parse(r.body)["response"]["allowed"] == true)
          ++allowed[static_cast<std::size_t>(c)];
      }
    });
  }
  for (auto& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  std::vector<double> all;
  int ok = 0;
  for (std::size_t c = 0; c < latencies.size(); ++c) {
    all.insert(all.end(), latencies[c].begin(), latencies[c].end());
    ok += allowed[c];
  }
  const auto after = api.counters();
  const double max = *std::max_element(all.begin(), all.end());
  std::printf("| %-34s | %5zu | %5d | %7.2f | %7.2f | %7.2f | %5d | %5d | %7.0f |\n", label, all.size(), ok,
              percentile(all, 0.50), percentile(all, 0.99), max, after.configmap_puts - before.configmap_puts,
              after.conflicts - before.conflicts, static_cast<double>(all.size()) / seconds);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const int per_client = argc > 1 ? std::atoi(argv[1]) : 200;
  TestCa ca;
  TempDir dir("cdcguard-claim-bench");
  const PemPair webhook_pair = ca.issue();
  write_text_file(dir / "tls.crt", webhook_pair.cert);
  write_text_file(dir / "tls.key", webhook_pair.key);
  write_text_file(dir / "token", "test-token");
  FakeApiServer api(ca.issue("kube-apiserver"));
  api.start();
  api.apply({{"apiVersion", "v1"},
             {"kind", "ConfigMap"},
             {"metadata", {{"name", "registry"}, {"namespace", "cdc-guard"}}},
             {"data", {{"registry.yaml", base_registry()}}}});
  kube::ClusterConfig cluster;
  cluster.server = api.url();
  cluster.host = "127.0.0.1";
  cluster.port = api.port();
  cluster.ca_pem = ca.cert_pem();
  cluster.token_file = (dir / "token").string();
  server::EventLog log(server::LogFormat::Json, spdlog::level::warn);

  std::printf("| setting | requests | allowed | p50 ms | p99 ms | max ms | PUTs | 409s | req/s |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  std::vector<std::unique_ptr<Replica>> one;
  one.push_back(
      std::make_unique<Replica>(cluster, (dir / "tls.crt").string(), (dir / "tls.key").string(), log));
  reset(api, one);
  run("1 replica, 1 client, claim", api, one, 1, per_client, ca.cert_pem(), false);
  reset(api, one);
  const std::uint32_t reuse_from = next_id;
  run("1 replica, 8 clients, claim", api, one, 8, per_client / 4, ca.cert_pem(), false);
  next_id = reuse_from;  // the same connectors again: their claims exist, nothing is written
  run("1 replica, 8 clients, no write", api, one, 8, per_client / 4, ca.cert_pem(), true);
  next_id = reuse_from + static_cast<std::uint32_t>(8 * (per_client / 4));
  std::vector<std::unique_ptr<Replica>> three;
  for (int i = 0; i < 3; ++i)
    three.push_back(
        std::make_unique<Replica>(cluster, (dir / "tls.crt").string(), (dir / "tls.key").string(), log));
  burst("3 replicas, burst of 200 (x5)", api, three, 200, 5, ca.cert_pem());
  reset(api, three);
  run("3 replicas, 8 clients each, sustained", api, three, 8, per_client / 4, ca.cert_pem(), false);
  three.clear();
  one.clear();
  api.stop();
  return 0;
}
