// The informer's LIST/WATCH loop on a scripted transport and a fake clock:
// how long it backs off after failures (exponential, jittered, capped, reset
// by success), when a watch that ends counts as a failure, and that a 410
// starts over with a LIST at once. The pauses are asserted, not measured.
#include "cdcguard/kube/kube_informer.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kube/fake_clock.hpp"
#include "kube/kube_fixture.hpp"
#include "kube/scripted_transport.hpp"

namespace cdcguard::testing_support {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using std::chrono::milliseconds;

constexpr const char* kPath = "/apis/kafka.strimzi.io/v1/kafkaconnectors";

std::string list_body(const std::string& resource_version) {
  return json{{"kind", "KafkaConnectorList"},
              {"metadata", {{"resourceVersion", resource_version}}},
              {"items", json::array({json{{"metadata", {{"name", "a"}, {"resourceVersion", "5"}}}}})}}
      .dump();
}

std::string event_line(const std::string& type, const json& object) {
  return json{{"type", type}, {"object", object}}.dump() + "\n";
}

// A watch that sends `lines`, then ends cleanly.
kube::StreamOutcome send_lines(const std::vector<std::string>& lines,
                               const std::function<bool(std::string_view)>& on_data, int status = 200) {
  kube::StreamOutcome outcome;
  outcome.response = kube::HttpResponse{status, "", "application/json", ""};
  outcome.complete = true;
  for (const auto& line : lines) {
    if (status != 200) {
      outcome.response->body += line;
    } else if (!on_data(line)) {
      outcome.complete = false;
      break;
    }
  }
  return outcome;
}

class InformerTest : public ::testing::Test {
 protected:
  InformerTest() {
    auto transport = std::make_unique<ScriptedTransport>();
    transport_ = transport.get();
    kube::ClientOptions client_options;
    client_options.max_attempts = 1;  // the informer's own backoff only
    client_options.clock = clock_;
    kube::ClusterConfig config;
    config.token = "t";
    client_ = std::make_unique<kube::KubeClient>(config, client_options, std::move(transport));
    options_.backoff_base = 200ms;
    options_.backoff_max = 1000ms;
    options_.clock = clock_;
  }
  void TearDown() override {
    client_->stop_streams();
    if (informer_) informer_->stop();
  }

  kube::Informer& start() {
    informer_ =
        std::make_unique<kube::Informer>(*client_, kPath, "",
                                         kube::Informer::Sink{[this](const std::vector<json>& items) {
                                                                std::lock_guard guard(mutex_);
                                                                replaced_.push_back(items.size());
                                                              },
                                                              [this](std::string_view type, const json&) {
                                                                std::lock_guard guard(mutex_);
                                                                applied_.emplace_back(type);
                                                              }},
                                         options_);
    informer_->start();
    return *informer_;
  }
  std::vector<milliseconds> sleeps() const {
    std::vector<milliseconds> out;
    for (const auto d : clock_->sleeps()) out.push_back(std::chrono::duration_cast<milliseconds>(d));
    return out;
  }
  // The resourceVersion each watch asked for, in order.
  std::vector<std::string> watched_from() const {
    std::vector<std::string> out;
    for (const auto& r : transport_->stream_requests()) {
      const auto at = r.path.find("resourceVersion=");
      out.push_back(at == std::string::npos ? "" : r.path.substr(at + 16, r.path.find('&', at) - at - 16));
    }
    return out;
  }

  std::shared_ptr<FakeClock> clock_ = std::make_shared<FakeClock>();
  ScriptedTransport* transport_ = nullptr;  // owned by client_
  std::unique_ptr<kube::KubeClient> client_;
  kube::Informer::Options options_;
  std::unique_ptr<kube::Informer> informer_;
  std::mutex mutex_;
  std::vector<std::size_t> replaced_;
  std::vector<std::string> applied_;
};

// base 200 ms, doubling, capped at 1 s; each pause is its step times a random
// factor in [0.5, 1).
TEST_F(InformerTest, FailedListsBackOffExponentiallyWithJitterUpToTheMax) {
  std::atomic<int> lists{0};
  transport_->set_handler([&](const kube::HttpRequest&) {
    return ++lists <= 6 ? respond(500, status_body(500, "InternalError", "etcd is down"))
                        : respond(200, list_body("10"));
  });
  auto& informer = start();
  ASSERT_TRUE(eventually([&] { return informer.synced(); }));
  const auto s = sleeps();
  const std::vector<milliseconds> steps = {200ms, 400ms, 800ms, 1000ms, 1000ms, 1000ms};
  ASSERT_EQ(s.size(), steps.size());
  for (std::size_t i = 0; i < steps.size(); ++i) {
    EXPECT_GE(s[i], steps[i] / 2) << "pause " << i;
    EXPECT_LT(s[i], steps[i]) << "pause " << i;
  }
  EXPECT_EQ(informer.stats().lists, 7);
  EXPECT_EQ(informer.stats().errors, 6);
  EXPECT_EQ(informer.last_error(), "");
  ASSERT_TRUE(eventually([&] { return !transport_->stream_requests().empty(); }));
  EXPECT_EQ(watched_from(), (std::vector<std::string>{"10"}));
}

// A watch that ends at once without an event is not healthy (a proxy closing
// it): it backs off like a failure. One that delivered events, or that stayed
// open a while (the server's timeoutSeconds), is reopened at once and resets
// the backoff.
TEST_F(InformerTest, AWatchEndingAtOnceWithoutEventsBacksOffAndAHealthyOneResetsTheBackoff) {
  transport_->set_handler([](const kube::HttpRequest&) { return respond(200, list_body("10")); });
  std::atomic<int> watches{0};
  transport_->set_stream_handler(
      [&](const kube::HttpRequest&,
          const std::function<bool(std::string_view)>& on_data) -> kube::StreamOutcome {
        switch (++watches) {
          case 1:
          case 2:
          case 4:
            return send_lines({}, on_data);
          case 3:
            return send_lines(
                {event_line("ADDED", {{"metadata", {{"name", "b"}, {"resourceVersion", "11"}}}})}, on_data);
          case 5:
            clock_->advance(300s);  // open until the server's timeout, quiet
            return send_lines({}, on_data);
          default:
            transport_->await_stop();
            return ScriptedTransport::stopped_outcome();
        }
      });
  start();
  ASSERT_TRUE(eventually([&] { return watches.load() == 6; }));
  const auto s = sleeps();
  ASSERT_EQ(s.size(), 3u) << "after watches 1, 2 and 4 only";
  EXPECT_GE(s[0], 100ms);
  EXPECT_LT(s[0], 200ms);
  EXPECT_GE(s[1], 200ms);
  EXPECT_LT(s[1], 400ms);
  EXPECT_GE(s[2], 100ms) << "watch 3 delivered an event: the backoff starts over";
  EXPECT_LT(s[2], 200ms);
  EXPECT_EQ(watched_from(), (std::vector<std::string>{"10", "10", "10", "11", "11", "11"}));
  std::lock_guard guard(mutex_);
  EXPECT_EQ(applied_, (std::vector<std::string>{"ADDED"}));
}

// A 410, as an ERROR event or as the HTTP status, means the history is gone:
// a fresh LIST at once, no pause.
TEST_F(InformerTest, AnExpiredWatchStartsOverWithAListAtOnce) {
  std::atomic<int> lists{0};
  transport_->set_handler(
      [&](const kube::HttpRequest&) { return respond(200, list_body(std::to_string(10 * ++lists))); });
  std::atomic<int> watches{0};
  transport_->set_stream_handler(
      [&](const kube::HttpRequest&,
          const std::function<bool(std::string_view)>& on_data) -> kube::StreamOutcome {
        switch (++watches) {
          case 1:
            return send_lines(
                {event_line("ERROR", {{"kind", "Status"}, {"code", 410}, {"reason", "Expired"}})}, on_data);
          case 2:
            return send_lines({status_body(410, "Expired", "too old resource version")}, on_data, 410);
          default:
            transport_->await_stop();
            return ScriptedTransport::stopped_outcome();
        }
      });
  auto& informer = start();
  ASSERT_TRUE(eventually([&] { return watches.load() == 3; }));
  EXPECT_TRUE(clock_->sleeps().empty());
  EXPECT_EQ(lists.load(), 3);
  EXPECT_EQ(informer.stats().expired, 2);
  EXPECT_EQ(watched_from(), (std::vector<std::string>{"10", "20", "30"}));
  std::lock_guard guard(mutex_);
  EXPECT_EQ(replaced_, (std::vector<std::size_t>{1, 1, 1}));
}

// With the real clock: a backoff pause of half an hour or more ends as soon
// as stop() is called. The 30 s bound is only a hang guard.
TEST_F(InformerTest, StopEndsABackoffPauseAtOnce) {
  options_.clock = nullptr;
  options_.backoff_base = std::chrono::hours(1);
  options_.backoff_max = std::chrono::hours(1);
  transport_->set_handler([](const kube::HttpRequest&) { return respond(503); });
  auto& informer = start();
  ASSERT_TRUE(eventually([&] { return informer.stats().errors >= 1; }));
  auto stopped = std::async(std::launch::async, [&] { informer.stop(); });
  EXPECT_EQ(stopped.wait_for(30s), std::future_status::ready);
}

}  // namespace
}  // namespace cdcguard::testing_support
