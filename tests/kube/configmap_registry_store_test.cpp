// The registry ConfigMap store against the fake API server: reads from the
// watch cache, writes with the resourceVersion, re-applies on 409, coalesces
// the claims of one replica, and never writes over a broken registry.
#include <atomic>
#include <latch>
#include <set>

#include "cdcguard/kube/configmap_registry_store.hpp"
#include "cdcguard/model/registry_writer.hpp"
#include "cdcguard/model/time.hpp"
#include "kube/kube_fixture.hpp"

namespace cdcguard::testing_support {
namespace {

using std::chrono::milliseconds;

class ConfigMapStore : public FakeClusterFixture {
 protected:
  void TearDown() override {
    if (client_) client_->stop_streams();
    if (store_) store_->stop();
    FakeClusterFixture::TearDown();
  }
  kube::ConfigMapRegistryStore& start_store(kube::ConfigMapRegistryStore::Options o = {}) {
    o.informer.backoff_base = milliseconds(20);
    o.informer.backoff_max = milliseconds(200);
    client_ = client();
    store_ = std::make_unique<kube::ConfigMapRegistryStore>(*client_, kRegistryNamespace, kRegistryName, o);
    store_->start();
    return *store_;
  }
  static RegistryEntry entry(const std::string& connector, std::uint32_t id) {
    return pending_claim(connector, id);
  }
  // With `text` as its registry.yaml, the store refuses to read (naming
  // `problem`) and to write, and the ConfigMap is left as it was.
  void expect_unusable_and_never_written(const std::string& text, const std::string& problem) {
    auto cm = *api_->get("ConfigMap", kRegistryNamespace, kRegistryName);
    cm["data"]["registry.yaml"] = text;
    api_->apply(cm);
    auto& store = start_store();
    ASSERT_TRUE(eventually([&] { return store.synced(); }));
    try {
      store.snapshot();
      FAIL() << "a broken registry was used";
    } catch (const StoreError& e) {
      EXPECT_NE(std::string(e.what()).find(problem), std::string::npos) << e.what();
    }
    EXPECT_THROW(store.update([](Registry& r) {
      r.entries.push_back(entry("ecommerce/x", 184002));
      return true;
    }),
                 StoreError);
    EXPECT_EQ(api_->counters().configmap_puts, 0);
    EXPECT_EQ(registry_text(), text);
  }
  static bool holds(const Registry& r, const std::string& connector, std::uint32_t id) {
    for (const auto& e : r.entries)
      if (e.connector == connector && e.server_id == id) return true;
    return false;
  }

  std::unique_ptr<kube::KubeClient> client_;
  std::unique_ptr<kube::ConfigMapRegistryStore> store_;
};

TEST_F(ConfigMapStore, ReadsTheRegistryBeforeAndAfterTheWatchHasSynced) {
  auto& store = start_store();
  EXPECT_EQ(store.snapshot()->registry.entries.size(), 3u);  // a direct GET, or the watch if it was quicker
  ASSERT_TRUE(eventually([&] { return store.synced(); }));
  const int requests = api_->counters().requests;
  for (int i = 0; i < 50; ++i) EXPECT_EQ(store.snapshot()->registry.entries.size(), 3u);
  EXPECT_EQ(api_->counters().requests, requests) << "a synced store reads from its cache";
}

TEST_F(ConfigMapStore, AnUpdateIsOnePutWithTheResourceVersionAndKeepsTheRestOfTheConfigMap) {
  auto& store = start_store();
  ASSERT_TRUE(eventually([&] { return store.synced(); }));
  const auto before = *api_->get("ConfigMap", kRegistryNamespace, kRegistryName);
  const Registry after = store.update([](Registry& r) {
    r.entries.push_back(entry("ecommerce/new-cdc", 184002));
    return true;
  });
  EXPECT_TRUE(holds(after, "ecommerce/new-cdc", 184002));
  const auto stored = *api_->get("ConfigMap", kRegistryNamespace, kRegistryName);
  EXPECT_NE(stored["metadata"]["resourceVersion"], before["metadata"]["resourceVersion"]);
  EXPECT_EQ(stored["metadata"]["uid"], before["metadata"]["uid"]);
  EXPECT_EQ(stored["metadata"]["labels"], before["metadata"]["labels"]);
  EXPECT_EQ(stored["data"]["README"], "kept as is");
  const Registry written = registry();
  EXPECT_EQ(written.entries.size(), 4u);
  EXPECT_TRUE(holds(written, "ecommerce/new-cdc", 184002));
  // The claim is written readable and stable: one flow map per entry.
  EXPECT_NE(registry_text().find("{connector: ecommerce/new-cdc, serverId: 184002"), std::string::npos)
      << registry_text();
  EXPECT_EQ(api_->counters().configmap_puts, 1);
  EXPECT_EQ(api_->counters().conflicts, 0);
  // An update that changes nothing writes nothing.
  store.update([](Registry&) { return false; });
  EXPECT_EQ(api_->counters().configmap_puts, 1);
}

// Every write also rewrites registry.md, the human view of the same registry
// (DESIGN.md "Registry"), so `kubectl describe` shows the table.
TEST_F(ConfigMapStore, EveryWriteRewritesTheMarkdownView) {
  auto& store = start_store();
  ASSERT_TRUE(eventually([&] { return store.synced(); }));
  const Registry after = store.update([](Registry& r) {
    r.entries.push_back(entry("ecommerce/new-cdc", 184002));
    return true;
  });
  const auto stored = *api_->get("ConfigMap", kRegistryNamespace, kRegistryName);
  ASSERT_TRUE(stored["data"].contains("registry.md")) << stored.dump();
  const std::string md = stored["data"]["registry.md"];
  EXPECT_EQ(md, render_registry_markdown(after));
  EXPECT_NE(md.find("| ecommerce/new-cdc | 184002 |"), std::string::npos) << md;
  store.update([](Registry& r) {
    r.entries.back().status = EntryStatus::Decommissioned;
    r.entries.back().decommissioned_at = TimePoint{Date{std::chrono::year{2026} / 11 / 30}};
    return true;
  });
  const std::string md2 = (*api_->get("ConfigMap", kRegistryNamespace, kRegistryName))["data"]["registry.md"];
  EXPECT_NE(md2.find("| ecommerce/new-cdc | 184002 |  | Decommissioned 2026-11-30 |"), std::string::npos)
      << md2;
}

// Another replica writes between this one's read and its PUT: the 409 makes
// the store re-read, and the change is judged again against the new version.
TEST_F(ConfigMapStore, AConflictIsReReadAndTheChangeJudgedAgainstTheNewVersion) {
  auto& store = start_store();
  ASSERT_TRUE(eventually([&] { return store.synced(); }));
  int calls = 0;
  bool saw_rival = false;
  store.update([&](Registry& r) {
    if (++calls == 1) {
      // The rival claims 184002 behind this replica's back.
      Registry rival = registry();
      rival.entries.push_back(entry("ecommerce/rival-cdc", 184002));
      auto cm = *api_->get("ConfigMap", kRegistryNamespace, kRegistryName);
      cm["data"]["registry.yaml"] = render_registry_yaml(rival);
      api_->apply(cm);
    }
    saw_rival = holds(r, "ecommerce/rival-cdc", 184002);
    if (saw_rival) return false;  // the id is taken: this claim loses
    r.entries.push_back(entry("ecommerce/mine-cdc", 184002));
    return true;
  });
  EXPECT_EQ(calls, 2);
  EXPECT_TRUE(saw_rival);
  EXPECT_EQ(api_->counters().conflicts, 1);
  const Registry written = registry();
  EXPECT_TRUE(holds(written, "ecommerce/rival-cdc", 184002));
  EXPECT_FALSE(holds(written, "ecommerce/mine-cdc", 184002));
}

// 64 claims at once on one replica: each sees the ones queued before it, and
// they go out in a few PUTs rather than 64 rounds of compare-and-swap.
TEST_F(ConfigMapStore, ConcurrentClaimsOfOneReplicaAreCoalescedIntoFewWrites) {
  api_->set_put_delay(milliseconds(30));
  kube::ConfigMapRegistryStore::Options o;
  o.deadline = milliseconds(30000);  // a hang guard: the 4 s deadline is tested on a fake clock
  auto& store = start_store(o);
  ASSERT_TRUE(eventually([&] { return store.synced(); }));
  constexpr int kClaims = 64;
  std::latch go(kClaims);
  std::vector<std::uint32_t> got(kClaims, 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClaims; ++i) {
    threads.emplace_back([&, i] {
      go.arrive_and_wait();
      store.update([&](Registry& r) {
        std::set<std::uint32_t> used;
        for (const auto& e : r.entries) used.insert(e.server_id);
        std::uint32_t id = 184002;
        while (used.count(id)) ++id;
        got[i] = id;
        r.entries.push_back(entry("ecommerce/c" + std::to_string(i), id));
        return true;
      });
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::set<std::uint32_t>(got.begin(), got.end()).size(), static_cast<std::size_t>(kClaims));
  const Registry written = registry();
  EXPECT_EQ(written.entries.size(), 3u + kClaims);
  for (int i = 0; i < kClaims; ++i) EXPECT_TRUE(holds(written, "ecommerce/c" + std::to_string(i), got[i]));
  const auto stats = store.stats();
  EXPECT_EQ(stats.changes, kClaims);
  // How many PUTs it took depends on scheduling; that waiting claims become
  // one PUT is ConfigMapStoreWriter.ClaimsWaitingTogetherBecomeOnePut, on a fake clock.
  EXPECT_EQ(stats.puts, api_->counters().configmap_puts);
}

TEST_F(ConfigMapStore, ABrokenRegistryIsReportedWithItsSourceAndNeverWrittenOver) {
  expect_unusable_and_never_written("rules:\n  range: {from: 184000, to: nope}\n",
                                    "ConfigMap cdc-guard/registry registry.yaml");
}

TEST_F(ConfigMapStore, AMissingConfigMapIsNamed) {
  api_->remove("ConfigMap", kRegistryNamespace, kRegistryName);
  auto& store = start_store();
  try {
    store.snapshot();
    FAIL() << "no ConfigMap, yet a registry";
  } catch (const StoreError& e) {
    EXPECT_EQ(std::string(e.what()), "the registry ConfigMap cdc-guard/registry does not exist");
  }
  // Created later (helm install order): picked up by the watch.
  api_->apply(registry_configmap(read_fixture_file("admission/registry.yaml")));
  EXPECT_TRUE(eventually([&] {
    try {
      return store.snapshot()->registry.entries.size() == 3u;
    } catch (const StoreError&) {
      return false;
    }
  }));
}

TEST_F(ConfigMapStore, WhenTheApiServerIsDownReadsComeFromTheCacheAndWritesFailClearly) {
  auto& store = start_store();
  ASSERT_TRUE(eventually([&] { return store.synced(); }));
  api_->stop();
  EXPECT_EQ(store.snapshot()->registry.entries.size(), 3u);
  try {
    store.update([](Registry& r) {
      r.entries.push_back(entry("ecommerce/x", 184002));
      return true;
    });
    FAIL() << "a write to a stopped API server succeeded";
  } catch (const StoreUnavailable& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("cannot write ConfigMap cdc-guard/registry"), std::string::npos) << what;
    EXPECT_NE(what.find(api_->url()), std::string::npos) << what;
    EXPECT_EQ(what.find("test-token"), std::string::npos) << "the token leaked into a message";
  }
  ASSERT_NE(store.last_known(), nullptr);
  EXPECT_EQ(store.last_known()->registry.entries.size(), 3u);
}

// An emptied registry.yaml is a broken registry, not the defaults: a write
// over it would drop every entry, team and reservation.
TEST_F(ConfigMapStore, AnEmptyRegistryKeyIsBrokenAndNeverWrittenOver) {
  expect_unusable_and_never_written("# emptied\n",
                                    "ConfigMap cdc-guard/registry registry.yaml:1: the registry is empty");
}

// Defence in depth: whatever a change leaves, a registry that the parser
// would refuse is never PUT; the update fails naming the problem.
TEST_F(ConfigMapStore, ARegistryTheParserWouldRefuseIsNeverPut) {
  auto& store = start_store();
  ASSERT_TRUE(eventually([&] { return store.synced(); }));
  const std::string before = registry_text();
  try {
    store.update([](Registry& r) {
      r.entries.push_back(entry("ecommerce/a/b", 184002));
      return true;
    });
    FAIL() << "an unreadable registry was written:\n" << registry_text();
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("refusing to write a registry that could not be read back"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("name \"a/b\" is not a valid Kubernetes object name"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(api_->counters().configmap_puts, 0);
  EXPECT_EQ(registry_text(), before);
  // The store goes on with good changes.
  store.update([](Registry& r) {
    r.entries.push_back(entry("ecommerce/b-cdc", 184002));
    return true;
  });
  EXPECT_TRUE(holds(registry(), "ecommerce/b-cdc", 184002));
}

}  // namespace
}  // namespace cdcguard::testing_support
