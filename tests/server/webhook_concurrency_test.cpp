// Races for server ids over real HTTPS, and a graceful stop.
#include <latch>
#include <set>
#include <thread>

#include "server/server_fixture.hpp"

namespace cdcguard::testing_support {
namespace {

using Concurrency = WebhookServerFixture;
using std::chrono::milliseconds;

// 32 requests at once, split over two webhook replicas that share the registry
// file (two stores: flock, not only the mutex, keeps them apart): 16 CREATEs
// racing for id 184005 and 16 auto-assignments whose allocator reaches 184005
// too. No id may be handed out twice, and the file must hold exactly the
// admitted set.
TEST_F(Concurrency, ThirtyTwoParallelRequestsNeverHandOutAnIdTwice) {
  server::ServerOptions o = options();
  o.threads = 40;
  start(o);
  FileRegistryStore second_store(registry_path_.string());
  server::WebhookServer second(o, second_store, *log_, [] { return kServerNow; });
  second.start();
  const int ports[2] = {server_->port(), second.port()};

  constexpr int kRequests = 32;
  std::latch go(kRequests);
  std::vector<nlohmann::json> answers(kRequests);
  std::vector<std::string> errors(kRequests);
  std::vector<std::thread> threads;
  for (int i = 0; i < kRequests; ++i) {
    threads.emplace_back([&, i] {
      try {
        const bool fixed = i % 2 == 0;
        const std::string name = (fixed ? "race-" : "auto-") + std::to_string(i);
        const auto body = connector_create_review("uid-" + std::to_string(i), name,
                                                  fixed ? nlohmann::json("184005") : nullptr);
        TlsConnection c(ports[(i / 2) % 2], trusting());  // handshake first, then all send together
        go.arrive_and_wait();
        const HttpReply r = c.request("POST", fixed ? "/validate" : "/mutate", body.dump());
        if (r.status != 200) throw std::runtime_error("HTTP " + std::to_string(r.status) + ": " + r.body);
        answers[i] = nlohmann::json::parse(r.body)["response"];
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  second.stop();
  for (int i = 0; i < kRequests; ++i) ASSERT_EQ(errors[i], "") << "request " << i;

  std::map<std::string, std::uint32_t> admitted;  // connector -> id the webhook let it have
  std::string fixed_winner;
  for (int i = 0; i < kRequests; ++i) {
    const auto& a = answers[i];
    EXPECT_EQ(a["uid"], "uid-" + std::to_string(i));
    if (i % 2 == 0) {
      if (a["allowed"] == true) {
        EXPECT_EQ(fixed_winner, "") << "two connectors admitted with 184005";
        fixed_winner = "ecommerce/race-" + std::to_string(i);
        admitted[fixed_winner] = 184005;
      } else {
        EXPECT_EQ(a["status"]["code"], 403) << a.dump();
      }
    } else {
      ASSERT_EQ(a["allowed"], true) << a.dump();
      const auto patch = nlohmann::json::parse(base64_decode(a["patch"]));
      ASSERT_EQ(patch[0]["path"], "/spec/config/database.server.id");
      admitted["ecommerce/auto-" + std::to_string(i)] =
          static_cast<std::uint32_t>(std::stoul(patch[0]["value"].get<std::string>()));
    }
  }
  // Every loser is told who holds the id.
  for (int i = 0; i < kRequests; i += 2) {
    if (answers[i]["allowed"] == true) continue;
    const std::string message = answers[i]["status"]["message"];
    const bool names_holder = !fixed_winner.empty() ? message.find(fixed_winner) != std::string::npos
                                                    : message.find("ecommerce/auto-") != std::string::npos;
    EXPECT_TRUE(names_holder) << message;
  }
  std::set<std::uint32_t> ids;
  for (const auto& [connector, id] : admitted) {
    EXPECT_TRUE(ids.insert(id).second) << "id " << id << " handed out twice";
  }
  EXPECT_EQ(admitted.size(), fixed_winner.empty() ? 16u : 17u);

  // The file holds exactly the fixture's entries plus the admitted set.
  const Registry r = registry();
  std::map<std::string, std::uint32_t> recorded;
  for (const auto& e : r.entries) {
    if (e.connector.starts_with("ecommerce/race-") || e.connector.starts_with("ecommerce/auto-")) {
      EXPECT_EQ(e.status, EntryStatus::Active);
      EXPECT_TRUE(recorded.emplace(e.connector, e.server_id).second) << e.connector << " recorded twice";
    }
  }
  EXPECT_EQ(recorded, admitted) << registry_text();
  EXPECT_EQ(r.entries.size(), 3 + admitted.size());
}

TEST_F(Concurrency, StopFinishesTheRequestInFlightAndRefusesNewConnections) {
  start();
  TlsConnection c = connect();
  const std::string body = fixture("create-new-id-v1beta2.json").dump();
  const std::string head =
      "POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n";
  c.send(head + body.substr(0, body.size() / 2));  // the request is now in flight
  std::this_thread::sleep_for(milliseconds(50));
  std::thread stopper([&] { server_->stop(); });
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_THROW(tcp_connect(server_->port()), std::runtime_error) << "no longer accepting";
  c.send(body.substr(body.size() / 2));
  const HttpReply r = c.read_reply();
  stopper.join();
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(nlohmann::json::parse(r.body)["response"]["allowed"], true);
  EXPECT_NE(entry_of(registry(), "ecommerce/refunds-cdc", 184010), nullptr) << "its claim was written";
}

}  // namespace
}  // namespace cdcguard::testing_support
