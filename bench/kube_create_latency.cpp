// What the webhook adds to a KafkaConnector create, through a real
// kube-apiserver (the e2e control plane: tests/e2e/, built by
// scripts/kube-tools.sh), measured as a client sees it: N sequential POSTs
// of a KafkaConnector, each timed from send to answer, in three settings:
//
//   none        no webhook configurations registered (the API server alone)
//   registered  the webhooks (mutate + validate, 3 replicas behind one
//               address) for connectors whose id the registry already gives
//               them: judged, nothing written
//   claim       the webhooks, each connector with a fresh id: judged, and the
//               id claimed (a PUT of the registry ConfigMap) before the answer
//
// Prints p50, p90, p99 and max per setting, and each one's ratio to `none`.
//   build-bench/tests/kube_create_latency [N]      (default 200)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "cdcguard/kube/kube_client.hpp"
#include "cdcguard/kube/kube_config.hpp"
#include "e2e/cdcguard_install.hpp"
#include "e2e/control_plane.hpp"
#include "support/temp_dir.hpp"

using namespace cdcguard;
using namespace cdcguard::e2e;
using Clock = std::chrono::steady_clock;

namespace {

std::string connector_json(const std::string& ns, const std::string& name, long id) {
  return R"({"apiVersion":"kafka.strimzi.io/v1","kind":"KafkaConnector","metadata":{"name":")" + name +
         R"(","namespace":")" + ns +
         R"(","labels":{"strimzi.io/cluster":"cdc-connect"}},"spec":{"class":)"
         R"("io.debezium.connector.mysql.MySqlConnector","tasksMax":1,"config":{"database.hostname":"mysql.bench.svc",)"
         R"("database.port":3306,"database.user":"debezium","database.server.id":)" +
         std::to_string(id) + R"(,"topic.prefix":")" + ns + "." + name +
         R"(","schema.history.internal.kafka.bootstrap.servers":"kafka:9092","schema.history.internal.kafka.topic":)"
         R"("schema-history.)" +
         ns + "." + name + R"("}}})";
}

struct Figures {
  double p50, p90, p99, max;
};

Figures figures(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) { return ms[std::min(ms.size() - 1, static_cast<std::size_t>(q * ms.size()))]; };
  return {at(0.50), at(0.90), at(0.99), ms.back()};
}

// N sequential creates in `ns`, ids from `first_id`; the latency of each in ms.
std::vector<double> run(kube::KubeClient& client, const std::string& ns, const std::string& stem,
                        long first_id, int n) {
  std::vector<double> ms;
  for (int i = 0; i < n; ++i) {
    const std::string body = connector_json(ns, stem + "-" + std::to_string(i), first_id + i);
    const auto start = Clock::now();
    const auto r = client.post("/apis/kafka.strimzi.io/v1/namespaces/" + ns + "/kafkaconnectors", body);
    const auto end = Clock::now();
    if (r.status != 201) {
      std::cerr << "create " << stem << "-" << i << " answered " << r.status << ": " << r.body << "\n";
      std::exit(1);
    }
    ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
  }
  return ms;
}

// Waits until the API server calls (or stops calling) the webhook: a
// server-side dry run of a duplicate id is denied only while it does.
void wait_webhook(ControlPlane& cluster, bool registered) {
  const std::string dup =
      "apiVersion: kafka.strimzi.io/v1\nkind: KafkaConnector\nmetadata: {name: probe-dup, "
      "namespace: bench-probe}\nspec:\n  class: io.debezium.connector.mysql.MySqlConnector\n"
      "  config: {database.hostname: mysql.bench.svc, database.server.id: 184999, "
      "topic.prefix: probe}\n";
  for (int i = 0; i < 600; ++i) {
    const auto r = cluster.kubectl({"apply", "--dry-run=server", "-f", "-"}, dup);
    if (r.ok() != registered) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::cerr << "the webhook did not " << (registered ? "start" : "stop") << " being called\n";
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 200;
  if (n <= 0 || n > 200) {
    std::cerr << "usage: kube_create_latency [N<=200]\n";
    return 2;
  }
  testing_support::TempDir dir("cdcguard-bench-kube");
  const auto tools = kube_tools_dir();
  std::cerr << "starting the control plane in " << dir.path().string() << "\n";
  ControlPlane cluster(tools, dir.path() / "cluster");
  // The registry gives bench-registered/reg-i the id 184000+i (Active).
  std::string registry = default_registry();
  for (int i = 0; i < n; ++i)
    registry += "  - {connector: bench-registered/reg-" + std::to_string(i) +
                ", serverId: " + std::to_string(184000 + i) +
                ", status: Active, owner: bench, date: 2026-01-01}\n";
  InstallOptions options;
  options.registry_yaml = registry;
  CdcGuardInstall install(cluster, options);
  for (const char* ns : {"bench-none", "bench-registered", "bench-claim", "bench-probe", "bench-warmup"})
    cluster.must({"create", "namespace", ns});

  kube::ClientOptions client_options;
  client_options.request_timeout = std::chrono::milliseconds(30000);
  client_options.max_attempts = 1;
  kube::KubeClient client(kube::load_kubeconfig(cluster.admin_kubeconfig().string()), client_options);

  std::cerr << "warming up\n";
  run(client, "bench-warmup", "warm", 184700, 20);

  install.unregister_webhooks();
  wait_webhook(cluster, false);
  std::cerr << "none: " << n << " creates without the webhook\n";
  const auto none = run(client, "bench-none", "plain", 184600, n);

  install.register_webhooks();
  wait_webhook(cluster, true);
  std::cerr << "registered: " << n << " creates the registry already holds\n";
  const auto registered = run(client, "bench-registered", "reg", 184000, n);
  std::cerr << "claim: " << n << " creates that claim a fresh id\n";
  const auto claim = run(client, "bench-claim", "claim", 184200, n);

  const auto base = figures(none);
  std::printf("%d sequential KafkaConnector creates through kube-apiserver (ms)\n", n);
  std::printf("%-11s %8s %8s %8s %8s %10s %10s\n", "setting", "p50", "p90", "p99", "max", "p50/none",
              "p99/none");
  for (const auto& [name, data] :
       {std::pair{"none", &none}, std::pair{"registered", &registered}, std::pair{"claim", &claim}}) {
    const auto f = figures(*data);
    std::printf("%-11s %8.2f %8.2f %8.2f %8.2f %9.2fx %9.2fx\n", name, f.p50, f.p90, f.p99, f.max,
                f.p50 / base.p50, f.p99 / base.p99);
  }
  return 0;
}
