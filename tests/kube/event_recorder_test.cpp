#include "cdcguard/kube/event_recorder.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "kube/fake_clock.hpp"
#include "kube/scripted_transport.hpp"

namespace cdcguard::testing_support {
namespace {

using namespace std::chrono_literals;

const TimePoint kFirst = *parse_timestamp("2026-11-25T10:00:00Z");

AuditEvent duplicate_event(int count) {
  AuditEvent e;
  e.object_kind = "KafkaConnector";
  e.namespace_name = "shop";
  e.object_name = "orders-cdc";
  e.object_uid = "8c1f";
  e.rule = "server-id-duplicate";
  e.note = "database.server.id 184001 is also used by shop/users-cdc; use 184002";
  e.event_name = "orders-cdc.00000000000000ab";
  e.first_seen = kFirst;
  e.count = count;
  return e;
}

class EventRecorderTest : public ::testing::Test {
 protected:
  EventRecorderTest() {
    kube::ClientOptions options;
    options.max_attempts = 1;
    options.clock = std::make_shared<FakeClock>();
    kube::ClusterConfig config;
    config.token = "t";
    auto transport = std::make_unique<ScriptedTransport>();
    transport_ = transport.get();
    client_ = std::make_unique<kube::KubeClient>(config, options, std::move(transport));
    recorder_ = std::make_unique<kube::KubeEventRecorder>(
        *client_, "cdc-guard-7f9c-abcde",
        [](const std::string&) { return std::string("kafka.strimzi.io/v1"); });
  }
  ScriptedTransport* transport_ = nullptr;
  std::unique_ptr<kube::KubeClient> client_;
  std::unique_ptr<kube::KubeEventRecorder> recorder_;
};

TEST_F(EventRecorderTest, ANewEventIsCreatedAsAWarningAboutTheConnector) {
  transport_->script({respond(201, "{}")});
  recorder_->record(duplicate_event(1), kFirst);
  const auto requests = transport_->requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].path, "/apis/events.k8s.io/v1/namespaces/shop/events");
  const auto body = nlohmann::json::parse(requests[0].body);
  EXPECT_EQ(body["apiVersion"], "events.k8s.io/v1");
  EXPECT_EQ(body["kind"], "Event");
  EXPECT_EQ(body["metadata"]["name"], "orders-cdc.00000000000000ab");
  EXPECT_EQ(body["metadata"]["namespace"], "shop");
  EXPECT_EQ(body["type"], "Warning");
  EXPECT_EQ(body["reason"], "server-id-duplicate");
  EXPECT_EQ(body["action"], "Audit");
  EXPECT_EQ(body["note"], duplicate_event(1).note);
  EXPECT_EQ(body["eventTime"], "2026-11-25T10:00:00.000000Z");
  EXPECT_EQ(body["reportingController"], "cdc-guard.io/reconciler");
  EXPECT_EQ(body["reportingInstance"], "cdc-guard-7f9c-abcde");
  EXPECT_EQ(body["regarding"], (nlohmann::json{{"apiVersion", "kafka.strimzi.io/v1"},
                                               {"kind", "KafkaConnector"},
                                               {"namespace", "shop"},
                                               {"name", "orders-cdc"},
                                               {"uid", "8c1f"}}));
  EXPECT_FALSE(body.contains("series")) << "a first Event has no series";
}

TEST_F(EventRecorderTest, ARecurringEventPatchesItsSeries) {
  transport_->script({respond(200, "{}")});
  recorder_->record(duplicate_event(3), kFirst + 2h);
  const auto requests = transport_->requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "PATCH");
  EXPECT_EQ(requests[0].path, "/apis/events.k8s.io/v1/namespaces/shop/events/orders-cdc.00000000000000ab");
  EXPECT_EQ(requests[0].header("Content-Type"), "application/merge-patch+json");
  EXPECT_EQ(
      nlohmann::json::parse(requests[0].body),
      (nlohmann::json{{"series", {{"count", 3}, {"lastObservedTime", "2026-11-25T12:00:00.000000Z"}}}}));
}

// The API server keeps Events for --event-ttl (an hour by default): the one
// to repeat may be gone, and is written again with its series.
TEST_F(EventRecorderTest, ARecurringEventThatExpiredIsCreatedAgainWithItsSeries) {
  transport_->script(
      {respond(404, status_body(404, "NotFound", "events \"orders-cdc.ab\" not found")), respond(201, "{}")});
  recorder_->record(duplicate_event(2), kFirst + 1h);
  const auto requests = transport_->requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].method, "POST");
  const auto body = nlohmann::json::parse(requests[1].body);
  EXPECT_EQ(body["series"],
            (nlohmann::json{{"count", 2}, {"lastObservedTime", "2026-11-25T11:00:00.000000Z"}}));
  EXPECT_EQ(body["eventTime"], "2026-11-25T10:00:00.000000Z");
}

TEST_F(EventRecorderTest, ARefusedEventThrowsWithTheServersReason) {
  transport_->script({respond(403, status_body(403, "Forbidden", "events.events.k8s.io is forbidden"))});
  try {
    recorder_->record(duplicate_event(1), kFirst);
    FAIL() << "no exception";
  } catch (const kube::ApiError& e) {
    EXPECT_NE(std::string(e.what()).find("403"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("forbidden"), std::string::npos) << e.what();
  }
}

TEST(EventBody, TheNoteIsCutToTheApisLimitAtACharacterBoundary) {
  AuditEvent e = duplicate_event(1);
  e.note = std::string(1020, 'a') + "\xc3\xa9\xc3\xa9\xc3\xa9";  // 1026 bytes, é at 1020
  const auto body = nlohmann::json::parse(kube::event_body(e, kFirst, "c/r", "i", "kafka.strimzi.io/v1"));
  const std::string note = body["note"];
  EXPECT_LE(note.size(), 1024u);
  EXPECT_EQ(note, std::string(1020, 'a') + "...");
}

}  // namespace
}  // namespace cdcguard::testing_support
