// KubeClient's own logic on a scripted transport and a fake clock: which
// answers are retried and how often, the backoff between attempts (its
// formula, its cap, Retry-After), the token file re-read after a 401 or an
// interval, the headers sent, and the line splitting of streams. No sockets
// and no real time: the pauses are asserted, not measured.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "cdcguard/kube/kube_client.hpp"
#include "kube/fake_clock.hpp"
#include "kube/scripted_transport.hpp"
#include "support/fixtures.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

namespace cdcguard::testing_support {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

std::vector<milliseconds> in_ms(const std::vector<MonotonicClock::duration>& sleeps) {
  std::vector<milliseconds> out;
  for (const auto d : sleeps) out.push_back(std::chrono::duration_cast<milliseconds>(d));
  return out;
}

class ScriptedClientTest : public ::testing::Test {
 protected:
  ScriptedClientTest() {
    options_.max_attempts = 4;
    options_.backoff_base = 50ms;
    options_.backoff_max = 1000ms;
    options_.token_check_interval = 1000ms;
    options_.clock = clock_;
    config_.token = "static-token";
    config_.source = "test";
  }
  kube::KubeClient& client() {
    auto transport = std::make_unique<ScriptedTransport>();
    transport_ = transport.get();
    client_ = std::make_unique<kube::KubeClient>(config_, options_, std::move(transport));
    return *client_;
  }
  std::vector<milliseconds> sleeps() const { return in_ms(clock_->sleeps()); }

  std::shared_ptr<FakeClock> clock_ = std::make_shared<FakeClock>();
  kube::ClientOptions options_;
  kube::ClusterConfig config_;
  ScriptedTransport* transport_ = nullptr;  // owned by client_
  std::unique_ptr<kube::KubeClient> client_;
};

TEST_F(ScriptedClientTest, SendsTheTokenAcceptUserAgentAndABodyWithItsType) {
  options_.user_agent = "cdc-guard-test/1";
  auto& c = client();
  transport_->script({respond(200, "{}"), respond(201, "{}")});
  EXPECT_EQ(c.get("/api/v1/namespaces").status, 200);
  EXPECT_EQ(c.put("/x", R"({"a":1})").status, 201);
  const auto requests = transport_->requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].path, "/api/v1/namespaces");
  EXPECT_EQ(requests[0].header("authorization"), "Bearer static-token");
  EXPECT_EQ(requests[0].header("Accept"), "application/json");
  EXPECT_EQ(requests[0].header("User-Agent"), "cdc-guard-test/1");
  EXPECT_EQ(requests[0].header("Content-Type"), "");
  EXPECT_EQ(requests[0].body, "");
  EXPECT_EQ(requests[1].method, "PUT");
  EXPECT_EQ(requests[1].header("Content-Type"), "application/json");
  EXPECT_EQ(requests[1].body, R"({"a":1})");
  EXPECT_TRUE(clock_->sleeps().empty());
}

// Attempt n waits base * 2^(n-1), capped at backoff_max, times a random factor
// in [0.5, 1): every bound below holds whatever the random factor.
TEST_F(ScriptedClientTest, ServerErrorsAreRetriedWithJitteredExponentialBackoff) {
  auto& c = client();
  transport_->script({respond(503), respond(500), respond(429), respond(200, "ok")});
  const auto res = c.get("/flaky");
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, "ok");
  EXPECT_EQ(transport_->requests().size(), 4u);
  const auto s = sleeps();
  ASSERT_EQ(s.size(), 3u);
  EXPECT_GE(s[0], 25ms);
  EXPECT_LT(s[0], 50ms);
  EXPECT_GE(s[1], 50ms);
  EXPECT_LT(s[1], 100ms);
  EXPECT_GE(s[2], 100ms);
  EXPECT_LT(s[2], 200ms);
}

TEST_F(ScriptedClientTest, TheBackoffIsCappedAtBackoffMax) {
  options_.max_attempts = 8;
  options_.backoff_max = 200ms;
  auto& c = client();
  std::vector<kube::HttpOutcome> answers;
  for (int i = 1; i <= 8; ++i) answers.push_back(respond(500, "attempt " + std::to_string(i)));
  transport_->script(answers);
  const auto res = c.get("/down");
  EXPECT_EQ(res.status, 500);
  EXPECT_EQ(res.body, "attempt 8") << "the last response is the one returned";
  const auto s = sleeps();
  ASSERT_EQ(s.size(), 7u) << "no pause after the last attempt";
  for (std::size_t i = 0; i < s.size(); ++i) {
    const milliseconds uncapped = 50ms * (1 << i);
    const milliseconds wait = std::min(uncapped, milliseconds(200));
    EXPECT_GE(s[i], wait / 2) << "pause " << i;
    EXPECT_LT(s[i], wait) << "pause " << i;
  }
}

struct StatusCase {
  const char* name;
  int status;
  std::size_t attempts;  // with max_attempts 4
};

class StatusRetryScriptTest : public ScriptedClientTest, public ::testing::WithParamInterface<StatusCase> {};

TEST_P(StatusRetryScriptTest, OnlyThrottlingAndServerErrorsAreRetried) {
  auto& c = client();
  transport_->set_handler([&](const kube::HttpRequest&) { return respond(GetParam().status); });
  EXPECT_EQ(c.post("/x", "{}").status, GetParam().status);
  EXPECT_EQ(transport_->requests().size(), GetParam().attempts);
  EXPECT_EQ(clock_->sleeps().size(), GetParam().attempts - 1);
}

INSTANTIATE_TEST_SUITE_P(Statuses, StatusRetryScriptTest,
                         ::testing::Values(StatusCase{"TooManyRequests", 429, 4},
                                           StatusCase{"Internal", 500, 4}, StatusCase{"BadGateway", 502, 4},
                                           StatusCase{"Unavailable", 503, 4},
                                           StatusCase{"GatewayTimeout", 504, 4},
                                           StatusCase{"BadRequest", 400, 1}, StatusCase{"Forbidden", 403, 1},
                                           StatusCase{"NotFound", 404, 1}, StatusCase{"Conflict", 409, 1},
                                           StatusCase{"Gone", 410, 1}, StatusCase{"Invalid", 422, 1},
                                           StatusCase{"NotImplemented", 501, 1}),
                         ScenarioName());

struct RetryAfterCase {
  const char* name;
  std::string retry_after;
  milliseconds backoff_max;
  milliseconds min_pause;  // inclusive
  milliseconds max_pause;  // inclusive
};

class RetryAfterTest : public ScriptedClientTest, public ::testing::WithParamInterface<RetryAfterCase> {};

// The pause after a 429 is Retry-After (seconds) when it is below
// backoff_max, else backoff_max; a Retry-After that is not a number of
// seconds gets the usual jittered backoff (first attempt: [25, 50) ms).
TEST_P(RetryAfterTest, RetryAfterIsHonouredUpToBackoffMax) {
  options_.backoff_max = GetParam().backoff_max;
  auto& c = client();
  transport_->script({respond(429, "", GetParam().retry_after), respond(200)});
  EXPECT_EQ(c.get("/throttled").status, 200);
  const auto s = sleeps();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_GE(s[0], GetParam().min_pause);
  EXPECT_LE(s[0], GetParam().max_pause);
}

INSTANTIATE_TEST_SUITE_P(
    Scenarios, RetryAfterTest,
    ::testing::Values(RetryAfterCase{"OneSecondUnderTheCap", "1", 5000ms, 1000ms, 1000ms},
                      RetryAfterCase{"OneSecondOverTheCap", "1", 200ms, 200ms, 200ms},
                      RetryAfterCase{"SpacesAround", " 2 ", 5000ms, 2000ms, 2000ms},
                      RetryAfterCase{"Zero", "0", 5000ms, 0ms, 0ms},
                      RetryAfterCase{"HttpDateIsIgnored", "Wed, 21 Oct 2015 07:28:00 GMT", 5000ms, 25ms,
                                     49ms},
                      RetryAfterCase{"NegativeIsIgnored", "-1", 5000ms, 25ms, 49ms},
                      RetryAfterCase{"Absent", "", 5000ms, 25ms, 49ms}),
    ScenarioName());

TEST_F(ScriptedClientTest, WhenNoAttemptGetsAResponseTheErrorNamesTheServerAndTheAttempts) {
  options_.max_attempts = 3;
  config_.token = "s3cret-token-value";
  auto& c = client();
  transport_->script({fail_with("connection timed out"), fail_with("connection timed out"),
                      fail_with("reading the response failed or timed out")});
  try {
    c.get("/api");
    FAIL() << "no ApiError";
  } catch (const kube::ApiError& e) {
    EXPECT_EQ(std::string(e.what()),
              "cannot reach the Kubernetes API server at https://scripted.example:6443: reading the response "
              "failed or timed out (after 3 attempts)");
  }
  EXPECT_EQ(sleeps().size(), 2u) << "connection errors back off like server errors";
}

TEST_F(ScriptedClientTest, AResponseIsReturnedEvenWhenALaterAttemptGotNone) {
  options_.max_attempts = 2;
  auto& c = client();
  transport_->script({respond(503, "busy"), fail_with("connection timed out")});
  const auto res = c.get("/api");
  EXPECT_EQ(res.status, 503);
  EXPECT_EQ(res.body, "busy");
}

class TokenFileScriptTest : public ScriptedClientTest {
 protected:
  void SetUp() override {
    write_text_file(dir_ / "token", "token-1\n");
    config_.token.clear();
    config_.token_file = (dir_ / "token").string();
  }
  std::vector<std::string> bearers() const {
    std::vector<std::string> out;
    for (const auto& r : transport_->requests()) out.push_back(r.header("Authorization"));
    return out;
  }
  TempDir dir_{"cdcguard-token"};
};

// The kubelet rotated the token: the 401 makes the client read the file at
// once and try again, without a pause and without using up an attempt.
TEST_F(TokenFileScriptTest, AnUnauthorizedRequestRereadsTheFileAtOnceAndTriesOnceMore) {
  options_.max_attempts = 1;
  options_.token_check_interval = std::chrono::hours(1);
  auto& c = client();
  transport_->script({respond(200)});
  EXPECT_EQ(c.get("/who").status, 200);
  replace_file(dir_ / "token", "token-2\n");
  transport_->script({respond(401), respond(200)});
  EXPECT_EQ(c.get("/who").status, 200);
  EXPECT_EQ(bearers(), (std::vector<std::string>{"Bearer token-1", "Bearer token-1", "Bearer token-2"}));
  EXPECT_TRUE(clock_->sleeps().empty());
}

TEST_F(TokenFileScriptTest, ASecond401IsReturned) {
  auto& c = client();
  transport_->script({respond(401), respond(401)});
  EXPECT_EQ(c.get("/who").status, 401);
  EXPECT_EQ(transport_->requests().size(), 2u);
}

TEST_F(ScriptedClientTest, AStaticToken401IsReturnedAtOnce) {
  auto& c = client();
  transport_->script({respond(401)});
  EXPECT_EQ(c.get("/who").status, 401);
  EXPECT_EQ(transport_->requests().size(), 1u);
}

TEST_F(TokenFileScriptTest, ARotatedFileIsReadOnceTheCheckIntervalHasPassed) {
  auto& c = client();
  transport_->set_handler([](const kube::HttpRequest&) { return respond(200); });
  c.get("/a");
  replace_file(dir_ / "token", "token-2\n");
  clock_->advance(999ms);
  c.get("/b");
  clock_->advance(1ms);
  c.get("/c");
  EXPECT_EQ(bearers(), (std::vector<std::string>{"Bearer token-1", "Bearer token-1", "Bearer token-2"}));
}

// A stream handler that sends `pieces` as they are, then ends the body
// cleanly (or not).
ScriptedTransport::StreamHandler chunks(std::vector<std::string> pieces, bool complete = true,
                                        int status = 200) {
  return [pieces = std::move(pieces), complete, status](
             const kube::HttpRequest&, const std::function<bool(std::string_view)>& on_data) {
    kube::StreamOutcome outcome;
    outcome.response = kube::HttpResponse{status, "", "application/json", ""};
    outcome.complete = complete;
    for (const auto& piece : pieces) {
      if (status != 200) {
        outcome.response->body += piece;
      } else if (!on_data(piece)) {
        outcome.complete = false;
        break;
      }
    }
    return outcome;
  };
}

std::vector<std::string> stream_lines(kube::KubeClient& c, int* status = nullptr) {
  std::vector<std::string> lines;
  const auto res = c.stream(
      "/watch",
      [&](std::string_view line) {
        lines.emplace_back(line);
        return true;
      },
      1s);
  if (status) *status = res.status;
  return lines;
}

TEST_F(ScriptedClientTest, AStreamIsSplitIntoLinesAcrossPieces) {
  auto& c = client();
  transport_->set_stream_handler(chunks({"{\"a\":", "1}\n{\"b\"", ":2}\r\n\n{\"c", "\":3}\n{\"d\":4}"}));
  int status = 0;
  EXPECT_EQ(stream_lines(c, &status),
            (std::vector<std::string>{"{\"a\":1}", "{\"b\":2}", "{\"c\":3}", "{\"d\":4}"}));
  EXPECT_EQ(status, 200);
  ASSERT_EQ(transport_->stream_requests().size(), 1u);
  EXPECT_EQ(transport_->stream_requests()[0].header("Authorization"), "Bearer static-token");
}

TEST_F(ScriptedClientTest, ATornLastLineIsDroppedWhenTheStreamDidNotEndCleanly) {
  auto& c = client();
  transport_->set_stream_handler(chunks({"{\"a\":1}\n{\"b\""}, /*complete=*/false));
  EXPECT_EQ(stream_lines(c), (std::vector<std::string>{"{\"a\":1}"}));
}

TEST_F(ScriptedClientTest, OnLineReturningFalseEndsTheStreamAndNothingMoreIsDelivered) {
  auto& c = client();
  transport_->set_stream_handler(chunks({"{\"a\":1}\n{\"b\":2}\n", "{\"c\":3}"}));
  int lines = 0;
  const auto res = c.stream(
      "/watch",
      [&](std::string_view) {
        ++lines;
        return false;
      },
      1s);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(lines, 1);
}

TEST_F(TokenFileScriptTest, AStreamAnswered401MakesTheNextRequestRereadTheFile) {
  options_.token_check_interval = std::chrono::hours(1);
  auto& c = client();
  transport_->set_handler([](const kube::HttpRequest&) { return respond(200); });
  c.get("/a");
  replace_file(dir_ / "token", "token-2\n");
  transport_->set_stream_handler(chunks({status_body(401, "Unauthorized", "Unauthorized")}, true, 401));
  int status = 0;
  EXPECT_TRUE(stream_lines(c, &status).empty());
  EXPECT_EQ(status, 401);
  c.get("/b");
  EXPECT_EQ(bearers(), (std::vector<std::string>{"Bearer token-1", "Bearer token-2"}));
}

TEST_F(ScriptedClientTest, AStreamWithoutAResponseIsAnApiErrorUnlessStopped) {
  auto& c = client();
  transport_->set_stream_handler([](const kube::HttpRequest&, const std::function<bool(std::string_view)>&) {
    kube::StreamOutcome outcome;
    outcome.failure = "TLS handshake failed";
    return outcome;
  });
  EXPECT_THROW(stream_lines(c), kube::ApiError);
  transport_->set_stream_handler([](const kube::HttpRequest&, const std::function<bool(std::string_view)>&) {
    return ScriptedTransport::stopped_outcome();
  });
  int status = -1;
  EXPECT_TRUE(stream_lines(c, &status).empty());
  EXPECT_EQ(status, 0);
}

TEST_F(ScriptedClientTest, AfterStopStreamsNoStreamIsStarted) {
  auto& c = client();
  c.stop_streams();
  int status = -1;
  EXPECT_TRUE(stream_lines(c, &status).empty());
  EXPECT_EQ(status, 0);
  EXPECT_TRUE(transport_->stream_requests().empty());
}

}  // namespace
}  // namespace cdcguard::testing_support
