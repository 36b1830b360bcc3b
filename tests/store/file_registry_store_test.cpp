#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "cdcguard/model/registry_parser.hpp"
#include "cdcguard/policy/connector_index.hpp"
#include "cdcguard/policy/registry_index.hpp"
#include "cdcguard/policy/server_id_allocator.hpp"
#include "cdcguard/store/file_registry_store.hpp"
#include "support/fixtures.hpp"
#include "support/temp_dir.hpp"

namespace cdcguard {
namespace {

namespace fs = std::filesystem;

const TimePoint kNow = *parse_timestamp("2026-11-25T00:00:00Z");

using testing_support::TempDir;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void spit(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

const char* kRegistry = R"(rules:
  range: {from: 184000, to: 184999}
teams:
  - {name: team-a, namespaces: [ecommerce], range: {from: 184000, to: 184099}}
entries:
  - {connector: ecommerce/orders-cdc, serverId: 184001, status: Active, owner: team-a, date: 2026-01-15}
)";

// What the webhook will do per admission: take the next free id and record it.
bool claim_next(Registry& r, const std::string& connector) {
  const RegistryIndex index(r);
  const ConnectorIndex none;
  const ServerIdAllocator allocator(index, none, kNow);
  const Allocation a = allocator.next_for("ecommerce", connector);
  if (!a.id) return false;
  if (index.live_entry_of(connector, kNow)) return false;  // idempotent: already holds one
  RegistryEntry e;
  e.connector = connector;
  e.server_id = *a.id;
  e.status = EntryStatus::Active;
  e.date = date_of(kNow);
  r.entries.push_back(e);
  return true;
}

TEST(FileRegistryStore, UpdateWritesAParsableRegistryAndReadSeesIt) {
  TempDir dir;
  const fs::path file = dir.path() / "registry.yaml";
  spit(file, kRegistry);
  FileRegistryStore store(file.string());
  const Registry after = store.update([](Registry& r) { return claim_next(r, "ecommerce/refunds-cdc"); });
  ASSERT_EQ(after.entries.size(), 2u);
  EXPECT_EQ(after.entries.back().server_id, 184000u);
  const Registry reread = parse_registry(slurp(file), "registry.yaml");
  EXPECT_EQ(reread.entries.size(), 2u);
  EXPECT_EQ(store.read().entries.size(), 2u);
}

TEST(FileRegistryStore, ANoOpChangeDoesNotRewriteTheFile) {
  TempDir dir;
  const fs::path file = dir.path() / "registry.yaml";
  spit(file, kRegistry);  // with its own layout, which a rewrite would change
  FileRegistryStore store(file.string());
  store.update([](Registry&) { return false; });
  EXPECT_EQ(slurp(file), kRegistry);
}

// 32 threads on two store objects (as two processes would have): the mutex
// serialises one object, flock the two. Every claim gets its own id and the
// file ends with exactly the claimed set.
TEST(FileRegistryStore, ConcurrentClaimsNeverShareAnId) {
  TempDir dir;
  const fs::path file = dir.path() / "registry.yaml";
  spit(file, kRegistry);
  FileRegistryStore first(file.string());
  FileRegistryStore second(file.string());
  constexpr int kThreads = 32;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      FileRegistryStore& store = i % 2 ? first : second;
      const std::string connector = "ecommerce/c" + std::to_string(i);
      try {
        store.update([&](Registry& r) { return claim_next(r, connector); });
      } catch (const StoreError&) {
        ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  const Registry r = parse_registry(slurp(file), "registry.yaml");
  ASSERT_EQ(r.entries.size(), static_cast<std::size_t>(kThreads + 1));
  std::set<std::uint32_t> ids;
  std::set<std::string> connectors;
  for (const auto& e : r.entries) {
    ids.insert(e.server_id);
    connectors.insert(e.connector);
  }
  EXPECT_EQ(ids.size(), r.entries.size()) << "an id was handed out twice";
  EXPECT_EQ(connectors.size(), r.entries.size());
  // No temporary files are left behind.
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    const std::string name = entry.path().filename().string();
    EXPECT_TRUE(name == "registry.yaml" || name == "registry.yaml.lock") << name;
  }
}

TEST(FileRegistryStore, SnapshotsAreSharedUntilTheFileChanges) {
  TempDir dir;
  const fs::path file = dir.path() / "registry.yaml";
  spit(file, kRegistry);
  FileRegistryStore store(file.string());
  const auto first = store.snapshot();
  EXPECT_EQ(store.snapshot(), first) << "an unchanged file is not parsed again";
  EXPECT_NE(first->index.live_entry_of("ecommerce/orders-cdc", kNow), nullptr);

  // Another writer (a second replica, an editor) replaces the file.
  std::string edited = kRegistry;
  edited +=
      "  - {connector: ecommerce/refunds-cdc, serverId: 184002, status: Active, owner: team-a, date: "
      "2026-02-01}\n";
  spit(dir.path() / "new.yaml", edited);
  fs::rename(dir.path() / "new.yaml", file);
  const auto second = store.snapshot();
  EXPECT_NE(second, first);
  EXPECT_EQ(second->registry.entries.size(), 2u);
  EXPECT_EQ(first->registry.entries.size(), 1u) << "a snapshot in use never changes";

  // Our own write replaces the snapshot without a re-read.
  store.update([](Registry& r) { return claim_next(r, "ecommerce/payments-cdc"); });
  const auto third = store.snapshot();
  EXPECT_EQ(third->registry.entries.size(), 3u);
  EXPECT_EQ(third, store.snapshot());
  auto in_file = parse_registry(slurp(file), "registry.yaml").entries;
  auto cached = third->registry.entries;
  const auto by_id = [](const RegistryEntry& a, const RegistryEntry& b) { return a.server_id < b.server_id; };
  std::sort(in_file.begin(), in_file.end(), by_id);  // the file is written in canonical order
  std::sort(cached.begin(), cached.end(), by_id);
  EXPECT_TRUE(in_file == cached);
}

TEST(FileRegistryStore, ABrokenFileIsReportedUntilItIsRepaired) {
  TempDir dir;
  const fs::path file = dir.path() / "registry.yaml";
  spit(file, "rules:\n  range: {from: 5, to: 1}\n");
  FileRegistryStore store(file.string());
  for (int i = 0; i < 2; ++i) {
    try {
      store.snapshot();
      ADD_FAILURE() << "a broken registry must not load";
    } catch (const StoreError& e) {
      EXPECT_NE(std::string(e.what()).find("registry.yaml:2"), std::string::npos) << e.what();
    }
  }
  spit(dir.path() / "new.yaml", kRegistry);
  fs::rename(dir.path() / "new.yaml", file);
  EXPECT_EQ(store.snapshot()->registry.entries.size(), 1u);
}

TEST(FileRegistryStore, ABrokenRegistryIsAnErrorAndStaysAsItWas) {
  TempDir dir;
  const fs::path file = dir.path() / "registry.yaml";
  const std::string broken = "rules:\n  range: {from: x, to: 5}\n";
  spit(file, broken);
  FileRegistryStore store(file.string());
  bool called = false;
  try {
    store.update([&](Registry&) {
      called = true;
      return true;
    });
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("registry.yaml:2"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(called);
  EXPECT_EQ(slurp(file), broken);
}

TEST(FileRegistryStore, AMissingFileIsAnError) {
  TempDir dir;
  FileRegistryStore store((dir.path() / "nope.yaml").string());
  EXPECT_THROW(store.read(), StoreError);
}

TEST(FileRegistryStore, AFailedWriteLeavesTheOldFile) {
  TempDir dir;
  const fs::path file = dir.path() / "registry.yaml";
  spit(file, kRegistry);
  FileRegistryStore store(file.string());
  // The change throws half-way, as a crash in the middle of a claim would stop it.
  EXPECT_THROW(store.update([](Registry& r) -> bool {
    r.entries.clear();
    throw StoreError("simulated failure");
  }),
               StoreError);
  EXPECT_EQ(slurp(file), kRegistry);
}

// `: > registry.yaml` while serving: the empty file is a broken registry, not
// a fresh one, and is never written over (which would drop every entry, team
// and reservation).
TEST(FileRegistryStore, AnEmptyFileIsAnErrorAndIsNeverWrittenOver) {
  for (const std::string text : {"", "\n   \n", "# emptied by hand\n"}) {
    SCOPED_TRACE(testing::PrintToString(text));
    TempDir dir;
    const fs::path file = dir.path() / "registry.yaml";
    spit(file, text);
    FileRegistryStore store(file.string());
    EXPECT_THROW(store.snapshot(), StoreError);
    bool called = false;
    try {
      store.update([&](Registry& r) {
        called = true;
        return claim_next(r, "ecommerce/refunds-cdc");
      });
      ADD_FAILURE() << "an empty registry was updated";
    } catch (const StoreError& e) {
      EXPECT_NE(std::string(e.what()).find("registry.yaml:1: the registry is empty"), std::string::npos)
          << e.what();
    }
    EXPECT_FALSE(called);
    EXPECT_EQ(slurp(file), text);
  }
}

struct UnwritableChange {
  const char* name;
  void (*change)(Registry&);
  const char* problem;  // named in the StoreError
};

void PrintTo(const UnwritableChange& c, std::ostream* os) {
  *os << c.name;
}

RegistryEntry active_entry(std::string connector, std::uint32_t id) {
  RegistryEntry e;
  e.connector = std::move(connector);
  e.server_id = id;
  e.status = EntryStatus::Active;
  e.date = date_of(kNow);
  return e;
}

class FileRegistryStoreUnwritable : public ::testing::TestWithParam<UnwritableChange> {};

// Defence in depth: whatever a change leaves, a registry that the parser
// would refuse is never written; the update fails naming the problem.
TEST_P(FileRegistryStoreUnwritable, IsRefusedAndTheFileStaysReadable) {
  TempDir dir;
  const fs::path file = dir.path() / "registry.yaml";
  spit(file, kRegistry);
  FileRegistryStore store(file.string());
  try {
    store.update([&](Registry& r) {
      GetParam().change(r);
      return true;
    });
    ADD_FAILURE() << "written:\n" << slurp(file);
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find(GetParam().problem), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("refusing to write"), std::string::npos) << e.what();
  }
  EXPECT_EQ(slurp(file), kRegistry);
  EXPECT_EQ(store.read().entries.size(), 1u);
  // The store still works for a good change.
  store.update([](Registry& r) { return claim_next(r, "ecommerce/refunds-cdc"); });
  EXPECT_EQ(parse_registry(slurp(file), "registry.yaml").entries.size(), 2u);
}

INSTANTIATE_TEST_SUITE_P(
    Store, FileRegistryStoreUnwritable,
    ::testing::Values(
        UnwritableChange{"slash_in_name",
                         [](Registry& r) { r.entries.push_back(active_entry("ecommerce/a/b", 184002)); },
                         "name \"a/b\" is not a valid Kubernetes object name"},
        UnwritableChange{"empty_namespace",
                         [](Registry& r) { r.entries.push_back(active_entry("/nsm3", 184002)); },
                         "namespace \"\" is not a valid Kubernetes namespace name"},
        UnwritableChange{"uppercase",
                         [](Registry& r) { r.entries.push_back(active_entry("ecommerce/Refunds", 184002)); },
                         "name \"Refunds\" is not"},
        UnwritableChange{"id_held_twice",
                         [](Registry& r) { r.entries.push_back(active_entry("ecommerce/twin-cdc", 184001)); },
                         "server id 184001 is held by two live entries"},
        UnwritableChange{"text_yaml_cannot_carry",
                         [](Registry& r) {
                           r.entries.push_back(active_entry("ecommerce/refunds-cdc", 184002));
                           r.entries.back().claim_uid = "uid-\xff";
                         },
                         "cannot be read back"}),
    testing_support::ScenarioName{});

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) throw std::runtime_error("cannot stat " + p.string());
  return st.st_mode & 07777;
}

// mkstemp makes the temporary file 0600; renamed over the registry it would
// lock out every reader but the webhook's user after the first claim.
TEST(FileRegistryStore, AWriteKeepsTheFilesModeAndOwner) {
  for (const mode_t mode : {mode_t{0644}, mode_t{0640}, mode_t{0600}}) {
    SCOPED_TRACE(mode);
    TempDir dir;
    const fs::path file = dir.path() / "registry.yaml";
    spit(file, kRegistry);
    ASSERT_EQ(::chmod(file.c_str(), mode), 0);
    // As root the owner can be given away, and must be kept; otherwise it is ours anyway.
    const bool root = ::geteuid() == 0;
    if (root) {
      ASSERT_EQ(::chown(file.c_str(), 4242, 4343), 0);
    }
    FileRegistryStore store(file.string());
    store.update([](Registry& r) { return claim_next(r, "ecommerce/refunds-cdc"); });
    store.update([](Registry& r) { return claim_next(r, "ecommerce/payments-cdc"); });
    EXPECT_EQ(parse_registry(slurp(file), "registry.yaml").entries.size(), 3u);
    EXPECT_EQ(mode_of(file), mode);
    struct stat st {};
    ASSERT_EQ(::stat(file.c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, root ? 4242u : ::geteuid());
    EXPECT_EQ(st.st_gid, root ? 4343u : ::getegid());
  }
}

TEST(FileRegistryStore, CreateWritesANewFileAndLeavesAFullOneAlone) {
  TempDir dir;
  const fs::path file = dir.path() / "registry.yaml";
  EXPECT_TRUE(FileRegistryStore::create(file.string(), kRegistry, false, 0644));
  EXPECT_EQ(slurp(file), kRegistry);
  EXPECT_EQ(mode_of(file), 0644u);
  EXPECT_FALSE(FileRegistryStore::create(file.string(), "rules:\n", false, 0644));
  EXPECT_EQ(slurp(file), kRegistry);
  ASSERT_EQ(::chmod(file.c_str(), 0640), 0);
  EXPECT_TRUE(FileRegistryStore::create(file.string(), "rules:\n", true, 0644));
  EXPECT_EQ(slurp(file), "rules:\n");
  EXPECT_EQ(mode_of(file), 0640u) << "a replaced file keeps its mode";
  spit(file, " \n");
  EXPECT_TRUE(FileRegistryStore::create(file.string(), kRegistry, false, 0644)) << "blank is empty";
}

}  // namespace
}  // namespace cdcguard
