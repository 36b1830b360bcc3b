// Credential plugins (kubeconfig `exec`) as client-go runs them: the request
// in KUBERNETES_EXEC_INFO and the reading of the answer (pure, in tables),
// then real /bin/sh plugins written at test time run by a KubeClient on a
// scripted transport: the cache until expirationTimestamp on an injected wall
// clock, the re-run and retry after a 401, env and args, and every way a
// plugin can fail. The timeout is measured on a FakeClock the test moves.
#include "cdcguard/kube/exec_credential.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "cdcguard/admission/admission_review.hpp"
#include "cdcguard/kube/kube_client.hpp"
#include "cdcguard/model/time.hpp"
#include "kube/fake_clock.hpp"
#include "kube/scripted_transport.hpp"
#include "support/scoped_env.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

namespace cdcguard::kube {
namespace {

using namespace std::chrono_literals;
using testing_support::FakeClock;
using testing_support::respond;
using testing_support::ScopedEnv;
using testing_support::ScriptedTransport;
using testing_support::TempDir;
using testing_support::write_text_file;
namespace fs = std::filesystem;

constexpr const char* kV1 = "client.authentication.k8s.io/v1";
constexpr const char* kV1beta1 = "client.authentication.k8s.io/v1beta1";
// Only keeps a broken test from hanging; no claim about speed.
constexpr auto kHangGuard = 30s;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

ExecPluginConfig plugin(const std::string& api_version) {
  ExecPluginConfig exec;
  exec.api_version = api_version;
  exec.command = "plugin";
  exec.origin = "kubeconfig /k: user \"u\"";
  return exec;
}

// --- The request, pure ---

TEST(ExecCredentialRequestTest, WithoutClusterInfoOnlyKindVersionAndInteractiveFalse) {
  ClusterConfig config;
  config.server = "https://api.example:6443";
  config.ca_pem = "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n";
  config.exec = plugin(kV1beta1);
  EXPECT_EQ(exec_credential_request(config),
            R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1",)"
            R"("spec":{"interactive":false}})");
}

TEST(ExecCredentialRequestTest, ClusterInfoCarriesTheClusterAndItsExecExtension) {
  ClusterConfig config;
  config.server = "https://10.0.0.1:6443";
  config.tls_server_name = "api.internal";
  config.insecure_skip_tls_verify = true;
  config.ca_pem = "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n";
  config.exec = plugin(kV1);
  config.exec->provide_cluster_info = true;
  config.exec->cluster_config_json = R"({"audience":"cdc","retries":3})";
  const auto request = nlohmann::json::parse(exec_credential_request(config));
  EXPECT_EQ(request["spec"]["interactive"], false);
  EXPECT_EQ(request["spec"]["cluster"],
            (nlohmann::json{{"server", "https://10.0.0.1:6443"},
                            {"tls-server-name", "api.internal"},
                            {"insecure-skip-tls-verify", true},
                            {"certificate-authority-data", admission::base64_encode(config.ca_pem)},
                            {"config", {{"audience", "cdc"}, {"retries", 3}}}}));
}

// --- The answer, pure ---

TEST(ParseExecCredentialTest, TokenAndExpiry) {
  const auto credential = parse_exec_credential(
      R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1",
          "status":{"token":"t0k","expirationTimestamp":"2026-01-15T10:30:00Z"}})",
      kV1);
  EXPECT_EQ(credential.token, "t0k");
  ASSERT_TRUE(credential.expires);
  EXPECT_EQ(*credential.expires, std::chrono::sys_days{std::chrono::year{2026} / 1 / 15} + 10h + 30min);
}

TEST(ParseExecCredentialTest, CertificateAndKeyWithoutExpiry) {
  const auto credential = parse_exec_credential(
      R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1",
          "status":{"clientCertificateData":"CERT","clientKeyData":"KEY"}})",
      kV1beta1);
  EXPECT_EQ(credential.token, "");
  EXPECT_EQ(credential.client_certificate_pem, "CERT");
  EXPECT_EQ(credential.client_key_pem, "KEY");
  EXPECT_FALSE(credential.expires);
}

struct BadAnswer {
  std::string name;
  std::string output;
  std::string expected;  // in the message
};

class ParseExecCredentialErrorTest : public ::testing::TestWithParam<BadAnswer> {};

TEST_P(ParseExecCredentialErrorTest, SaysWhatIsWrongWithoutQuotingTheSecret) {
  try {
    parse_exec_credential(GetParam().output, kV1);
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(GetParam().expected), std::string::npos) << message;
    EXPECT_EQ(message.find("s3cret"), std::string::npos) << message;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Answers, ParseExecCredentialErrorTest,
    ::testing::Values(
        BadAnswer{"Empty", "", "printed nothing"},
        BadAnswer{"NotJson", "token: s3cret", "not an ExecCredential JSON"},
        BadAnswer{"WrongKind", R"({"kind":"Secret","apiVersion":"client.authentication.k8s.io/v1"})",
                  "kind \"Secret\""},
        BadAnswer{"OtherApiVersion",
                  R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1",)"
                  R"("status":{"token":"s3cret"}})",
                  "configured to use API version client.authentication.k8s.io/v1, plugin returned version "
                  "\"client.authentication.k8s.io/v1beta1\""},
        BadAnswer{"NoStatus", R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1"})",
                  "no status"},
        BadAnswer{"NoToken",
                  R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","status":{}})",
                  "neither a token nor a client certificate"},
        BadAnswer{"CertificateWithoutKey",
                  R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1",)"
                  R"("status":{"clientCertificateData":"s3cret"}})",
                  "without a key"},
        BadAnswer{"TokenNotAString",
                  R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1",)"
                  R"("status":{"token":42}})",
                  "status.token must be a string"},
        BadAnswer{"ExpiryNotRfc3339",
                  R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1",)"
                  R"("status":{"token":"s3cret","expirationTimestamp":"2026-01-15"}})",
                  "expirationTimestamp \"2026-01-15\" is not an RFC 3339 time"}),
    [](const ::testing::TestParamInfo<BadAnswer>& param_info) { return param_info.param.name; });

// --- Real plugins ---

// Counts its runs in DIR/count, records its args, two variables and its
// KUBERNETES_EXEC_INFO, and prints token-N with the expirationTimestamp in
// DIR/expiry (none when that file is absent), in the apiVersion named by
// $PLUGIN_API_VERSION (set through the kubeconfig's env).
constexpr const char* kCountingPlugin = R"(
n=$(( $(cat "$d/count" 2>/dev/null || echo 0) + 1 ))
echo "$n" > "$d/count"
printf '%s' "$KUBERNETES_EXEC_INFO" > "$d/exec-info"
: > "$d/args"
for a in "$@"; do printf '%s\n' "$a" >> "$d/args"; done
printf '%s\n' "${PLUGIN_GREETING-unset}" "${PARENT_ONLY-unset}" > "$d/env"
exp=$(cat "$d/expiry" 2>/dev/null)
[ -n "$exp" ] && exp=",\"expirationTimestamp\":\"$exp\""
printf '{"kind":"ExecCredential","apiVersion":"%s","status":{"token":"token-%s"%s}}\n' \
  "$PLUGIN_API_VERSION" "$n" "$exp"
)";

class ExecPluginTest : public ::testing::Test {
 protected:
  ExecPluginTest() {
    options_.clock = clock_;
    options_.max_attempts = 1;
    options_.exec_timeout = 10s;
    options_.wall_clock = [this] { return wall_; };
  }

  // DIR/plugin: a /bin/sh script with `d` set to DIR, then `body`.
  void write_plugin(const std::string& body, const std::string& name = "plugin") {
    write_text_file(dir_ / name, "#!/bin/sh\nd='" + dir_.path().string() + "'\n" + body);
    fs::permissions(dir_ / name, fs::perms::owner_all);
  }

  // A kubeconfig (DIR/config) whose user runs `command` (default DIR/plugin)
  // with `exec_extra` (YAML lines at the exec's indentation), and in its env
  // PLUGIN_API_VERSION (its apiVersion unless `plugin_api_version` says
  // otherwise) and then `extra_env` (list items).
  ClusterConfig load(const std::string& api_version = kV1, const std::string& exec_extra = "",
                     const std::string& command = "", const std::string& plugin_api_version = "",
                     const std::string& extra_env = "") {
    write_text_file(dir_ / "config",
                    "apiVersion: v1\nkind: Config\ncurrent-context: ctx\n"
                    "clusters:\n- name: c\n  cluster:\n    server: https://api.example:6443\n"
                    "contexts:\n- name: ctx\n  context:\n    cluster: c\n    user: u\n"
                    "users:\n- name: u\n  user:\n    exec:\n"
                    "      apiVersion: " +
                        api_version +
                        "\n      command: " + (command.empty() ? (dir_ / "plugin").string() : command) +
                        "\n" + (api_version == kV1 ? "      interactiveMode: IfAvailable\n" : "") +
                        exec_extra + "      env:\n      - name: PLUGIN_API_VERSION\n        value: " +
                        (plugin_api_version.empty() ? api_version : plugin_api_version) + "\n" + extra_env);
    return load_kubeconfig((dir_ / "config").string());
  }

  KubeClient& client(const ClusterConfig& config) {
    auto transport = std::make_unique<ScriptedTransport>();
    transport_ = transport.get();
    client_ = std::make_unique<KubeClient>(config, options_, std::move(transport));
    return *client_;
  }

  int runs() const {
    const std::string text = read_text(dir_ / "count");
    return text.empty() ? 0 : std::stoi(text);
  }
  void expire_at(std::chrono::system_clock::time_point at) {
    write_text_file(dir_ / "expiry", format_timestamp(std::chrono::floor<std::chrono::seconds>(at)));
  }
  std::vector<std::string> bearers() const {
    std::vector<std::string> out;
    for (const auto& request : transport_->requests()) out.push_back(request.header("Authorization"));
    return out;
  }
  // The message of the CredentialError that a request throws.
  std::string failure(KubeClient& c) {
    try {
      c.get("/api");
    } catch (const CredentialError& e) {
      return e.what();
    }
    ADD_FAILURE() << "no CredentialError";
    return "";
  }

  TempDir dir_{"cdcguard-exec"};
  std::shared_ptr<FakeClock> clock_ = std::make_shared<FakeClock>();
  std::chrono::system_clock::time_point wall_ = std::chrono::sys_days{std::chrono::year{2026} / 1 / 15} + 10h;
  ClientOptions options_;
  ScriptedTransport* transport_ = nullptr;  // owned by client_
  std::unique_ptr<KubeClient> client_;
};

TEST_F(ExecPluginTest, TheTokenIsKeptWhileValid) {
  write_plugin(kCountingPlugin);
  expire_at(wall_ + 1h);
  auto& c = client(load());
  transport_->set_handler([](const HttpRequest&) { return respond(200, "{}"); });
  for (int i = 0; i < 5; ++i) EXPECT_EQ(c.get("/api").status, 200);
  EXPECT_EQ(runs(), 1);
  EXPECT_EQ(bearers(), std::vector<std::string>(5, "Bearer token-1"));
}

TEST_F(ExecPluginTest, ConcurrentRequestsWaitForOneRun) {
  write_plugin(kCountingPlugin);
  auto& c = client(load());
  transport_->set_handler([](const HttpRequest&) { return respond(200, "{}"); });
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) c.get("/api");
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(runs(), 1);
  EXPECT_EQ(bearers(), std::vector<std::string>(40, "Bearer token-1"));
}

// client-go's test: expired once the wall clock is past expirationTimestamp.
TEST_F(ExecPluginTest, TheTokenIsRenewedOnceItHasExpired) {
  write_plugin(kCountingPlugin);
  const auto expiry = wall_ + 10min;
  expire_at(expiry);
  auto& c = client(load());
  transport_->set_handler([](const HttpRequest&) { return respond(200, "{}"); });
  c.get("/a");
  wall_ = expiry;  // not past it yet
  c.get("/b");
  EXPECT_EQ(runs(), 1);
  wall_ = expiry + 1s;
  expire_at(wall_ + 1h);
  c.get("/c");
  c.get("/d");
  EXPECT_EQ(runs(), 2);
  EXPECT_EQ(bearers(), (std::vector<std::string>{"Bearer token-1", "Bearer token-1", "Bearer token-2",
                                                 "Bearer token-2"}));
}

TEST_F(ExecPluginTest, WithoutExpiryTheTokenIsKeptUntilA401ThenTheRetryCarriesANewOne) {
  write_plugin(kCountingPlugin);
  auto& c = client(load());
  transport_->script({respond(200)});
  c.get("/a");
  wall_ += 24h * 30;
  transport_->script({respond(401), respond(200), respond(200)});
  EXPECT_EQ(c.get("/b").status, 200);
  EXPECT_EQ(c.get("/c").status, 200);
  EXPECT_EQ(runs(), 2);
  EXPECT_EQ(bearers(), (std::vector<std::string>{"Bearer token-1", "Bearer token-1", "Bearer token-2",
                                                 "Bearer token-2"}));
  // The retry is not a backoff and uses no attempt (max_attempts is 1).
  EXPECT_TRUE(clock_->sleeps().empty());
}

TEST_F(ExecPluginTest, ASecond401IsReturned) {
  write_plugin(kCountingPlugin);
  auto& c = client(load());
  transport_->script({respond(401), respond(401)});
  EXPECT_EQ(c.get("/a").status, 401);
  EXPECT_EQ(runs(), 2);
  EXPECT_EQ(bearers(), (std::vector<std::string>{"Bearer token-1", "Bearer token-2"}));
}

TEST_F(ExecPluginTest, AWatchRefusedWith401RunsThePluginForTheNextRequest) {
  write_plugin(kCountingPlugin);
  auto& c = client(load());
  transport_->set_stream_handler([](const HttpRequest&, const std::function<bool(std::string_view)>&) {
    StreamOutcome outcome;
    outcome.response = HttpResponse{401, "{}", "application/json", ""};
    return outcome;
  });
  EXPECT_EQ(c.stream(
                 "/watch", [](std::string_view) { return true; }, 1s)
                .status,
            401);
  transport_->script({respond(200)});
  c.get("/a");
  EXPECT_EQ(runs(), 2);
  EXPECT_EQ(transport_->stream_requests().at(0).header("Authorization"), "Bearer token-1");
  EXPECT_EQ(bearers(), (std::vector<std::string>{"Bearer token-2"}));
}

class ExecApiVersionTest : public ExecPluginTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(ExecApiVersionTest, RunsWithItsApiVersionInTheRequest) {
  write_plugin(kCountingPlugin);
  auto& c = client(load(GetParam()));
  transport_->script({respond(200)});
  EXPECT_EQ(c.get("/a").status, 200);
  EXPECT_EQ(bearers(), (std::vector<std::string>{"Bearer token-1"}));
  const auto info = nlohmann::json::parse(read_text(dir_ / "exec-info"));
  EXPECT_EQ(info,
            (nlohmann::json{
                {"kind", "ExecCredential"}, {"apiVersion", GetParam()}, {"spec", {{"interactive", false}}}}));
}

INSTANTIATE_TEST_SUITE_P(Versions, ExecApiVersionTest, ::testing::Values(kV1, kV1beta1),
                         [](const ::testing::TestParamInfo<const char*>& param_info) {
                           return std::string(param_info.param).ends_with("v1") ? "V1" : "V1beta1";
                         });

TEST_F(ExecPluginTest, ArgsAndEnvReachThePluginOverOurEnvironment) {
  write_plugin(kCountingPlugin);
  ScopedEnv parent_only("PARENT_ONLY", "from-parent");
  ScopedEnv greeting("PLUGIN_GREETING", "from-parent");
  auto& c = client(load(kV1, "      args: [\"--region\", \"eu west 1\", \"\"]\n", "", "",
                        "      - name: PLUGIN_GREETING\n"
                        "        value: hello from the kubeconfig\n"));
  transport_->script({respond(200)});
  c.get("/a");
  EXPECT_EQ(read_text(dir_ / "args"), "--region\neu west 1\n\n");
  EXPECT_EQ(read_text(dir_ / "env"), "hello from the kubeconfig\nfrom-parent\n");
}

TEST_F(ExecPluginTest, ClusterInfoReachesThePlugin) {
  write_plugin(kCountingPlugin);
  ClusterConfig config = load(kV1, "      provideClusterInfo: true\n");
  auto& c = client(config);
  transport_->script({respond(200)});
  c.get("/a");
  const auto info = nlohmann::json::parse(read_text(dir_ / "exec-info"));
  EXPECT_EQ(info["spec"]["cluster"], (nlohmann::json{{"server", "https://api.example:6443"}}));
}

TEST_F(ExecPluginTest, ABareCommandIsLookedUpOnPath) {
  write_plugin(kCountingPlugin, "cdcguard-test-credential-plugin");
  const char* path = ::getenv("PATH");
  ScopedEnv search_path("PATH", dir_.path().string() + ":" + (path ? path : "/usr/bin:/bin"));
  auto& c = client(load(kV1, "", "cdcguard-test-credential-plugin"));
  transport_->script({respond(200)});
  c.get("/a");
  EXPECT_EQ(bearers(), (std::vector<std::string>{"Bearer token-1"}));
}

TEST_F(ExecPluginTest, AMissingCommandShowsTheInstallHint) {
  auto& c = client(load(kV1, "      installHint: install it with `brew install cdc-auth`\n",
                        "cdcguard-no-such-credential-plugin"));
  const std::string message = failure(c);
  for (const std::string& part :
       {"kubeconfig " + (dir_ / "config").string(), std::string("user \"u\""),
        std::string("\"cdcguard-no-such-credential-plugin\""), std::string("not found on PATH"),
        std::string("install it with `brew install cdc-auth`")}) {
    EXPECT_NE(message.find(part), std::string::npos) << message;
  }
  EXPECT_TRUE(transport_->requests().empty());
}

TEST_F(ExecPluginTest, AMissingCommandWithoutHintPointsToTheDocs) {
  auto& c = client(load(kV1, "", (dir_ / "absent").string()));
  const std::string message = failure(c);
  EXPECT_NE(message.find("not found"), std::string::npos) << message;
  EXPECT_NE(message.find("client-go-credential-plugins"), std::string::npos) << message;
}

TEST_F(ExecPluginTest, ANonZeroExitCarriesTheExitCodeAndTheLastLinesOfStderr) {
  write_plugin(
      "for i in 1 2 3 4 5 6 7; do echo \"line $i\" >&2; done\n"
      "echo 'token expired: run login first' >&2\nexit 3\n");
  auto& c = client(load());
  const std::string message = failure(c);
  EXPECT_NE(message.find("user \"u\""), std::string::npos) << message;
  EXPECT_NE(message.find("exit code 3"), std::string::npos) << message;
  EXPECT_NE(message.find("line 7 | token expired: run login first"), std::string::npos) << message;
  EXPECT_EQ(message.find("line 1"), std::string::npos) << message;  // only the last lines
  EXPECT_TRUE(transport_->requests().empty());
}

TEST_F(ExecPluginTest, OutputThatIsNoExecCredentialIsAnError) {
  write_plugin("echo 'not json'\n");
  auto& c = client(load());
  const std::string message = failure(c);
  EXPECT_NE(message.find((dir_ / "plugin").string()), std::string::npos) << message;
  EXPECT_NE(message.find("not an ExecCredential JSON"), std::string::npos) << message;
}

TEST_F(ExecPluginTest, AnotherApiVersionInTheAnswerIsAnError) {
  write_plugin(kCountingPlugin);
  auto& c = client(load(kV1, "", "", kV1beta1));
  const std::string message = failure(c);
  EXPECT_NE(message.find("plugin returned version \"client.authentication.k8s.io/v1beta1\""),
            std::string::npos)
      << message;
}

TEST_F(ExecPluginTest, TooMuchOutputIsCutOff) {
  write_plugin("yes aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa | head -c 3000000\n");
  auto& c = client(load());
  const std::string message = failure(c);
  EXPECT_NE(message.find("more than 1048576 bytes"), std::string::npos) << message;
}

// The plugin never ends: only moving the fake clock past exec_timeout ends
// the request, and the plugin is gone afterwards.
TEST_F(ExecPluginTest, AHungPluginIsKilledAtTheTimeout) {
  write_plugin("echo $$ > \"$d/pid\"\nexec sleep 1000\n");
  options_.exec_timeout = 5s;
  auto& c = client(load());
  auto request = std::async(std::launch::async, [&] { return failure(c); });
  const auto guard = std::chrono::steady_clock::now() + kHangGuard;
  while (read_text(dir_ / "pid").empty() && std::chrono::steady_clock::now() < guard) {
    std::this_thread::sleep_for(5ms);
  }
  const std::string pid_text = read_text(dir_ / "pid");
  ASSERT_FALSE(pid_text.empty()) << "the plugin did not start";
  clock_->advance(4s);
  EXPECT_EQ(request.wait_for(200ms), std::future_status::timeout) << "ended before the timeout";
  clock_->advance(1s);
  ASSERT_EQ(request.wait_for(kHangGuard), std::future_status::ready) << "the timeout did not end the plugin";
  const std::string message = request.get();
  EXPECT_NE(message.find("did not finish within 5000 ms"), std::string::npos) << message;
  // Killed and reaped: no such process any more.
  EXPECT_EQ(::kill(std::stoi(pid_text), 0), -1);
  EXPECT_EQ(errno, ESRCH);
}

TEST_F(ExecPluginTest, AClientCertificateGoesToTheTransportOnce) {
  testing_support::TestCa ca;
  const auto pair = ca.issue_client("exec-user");
  const nlohmann::json answer = {
      {"kind", "ExecCredential"},
      {"apiVersion", kV1},
      {"status", {{"clientCertificateData", pair.cert}, {"clientKeyData", pair.key}}}};
  write_text_file(dir_ / "answer.json", answer.dump());
  write_plugin(
      "n=$(( $(cat \"$d/count\" 2>/dev/null || echo 0) + 1 )); echo \"$n\" > \"$d/count\"\n"
      "cat \"$d/answer.json\"\n");
  auto& c = client(load());
  transport_->script({respond(200), respond(200)});
  c.get("/a");
  c.get("/b");
  EXPECT_EQ(runs(), 1);
  EXPECT_EQ(bearers(), (std::vector<std::string>{"", ""}));
  EXPECT_EQ(transport_->client_certificates(),
            (std::vector<std::pair<std::string, std::string>>{{pair.cert, pair.key}}));
}

}  // namespace
}  // namespace cdcguard::kube
