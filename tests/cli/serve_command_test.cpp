// `cdc-guard serve` as a process: started from the built binary, called over
// HTTPS, stopped with SIGTERM; and its start-up errors.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/fake_api_server.hpp"
#include "support/fixtures.hpp"
#include "support/steady_load.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"
#include "support/tls_client.hpp"

extern char** environ;

namespace cdcguard::testing_support {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

// A running cdc-guard with stdout and stderr collected by a reader thread.
class ServeProcess {
 public:
  explicit ServeProcess(const std::vector<std::string>& args) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
    std::vector<std::string> storage{CDCGUARD_BINARY};
    storage.insert(storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : storage) argv.push_back(s.data());
    argv.push_back(nullptr);
    const int error = ::posix_spawn(&pid_, CDCGUARD_BINARY, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (error != 0) {
      ::close(fds[0]);
      throw std::runtime_error("posix_spawn failed");
    }
    reader_ = std::thread([this, fd = fds[0]] {
      char buf[4096];
      ssize_t n;
      while ((n = ::read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
        if (n <= 0) continue;
        std::lock_guard guard(mutex_);
        output_.append(buf, static_cast<std::size_t>(n));
      }
      ::close(fd);
    });
  }
  ~ServeProcess() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      int status;
      ::waitpid(pid_, &status, 0);
    }
    if (reader_.joinable()) reader_.join();
  }

  pid_t pid() const { return pid_; }
  std::string output() {
    std::lock_guard guard(mutex_);
    return output_;
  }
  // The first match of `pattern` in the output, waiting up to `timeout`: the
  // whole match and each group, as copies (empty when there was none).
  std::vector<std::string> wait_for(const std::regex& pattern, milliseconds timeout = milliseconds(30000)) {
    const auto deadline = steady_clock::now() + timeout;
    while (steady_clock::now() < deadline) {
      const std::string text = output();
      std::smatch m;
      if (std::regex_search(text, m, pattern)) {
        std::vector<std::string> groups;
        for (const auto& group : m) groups.push_back(group.str());
        return groups;
      }
      std::this_thread::sleep_for(milliseconds(20));
    }
    return {};
  }
  // The exit status after `sig` (none: wait for it to end), or -1 after `timeout`.
  int stop(int sig, milliseconds timeout = milliseconds(30000)) {
    if (sig) ::kill(pid_, sig);
    const auto deadline = steady_clock::now() + timeout;
    while (steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        if (reader_.joinable()) reader_.join();
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(milliseconds(10));
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  std::thread reader_;
  std::mutex mutex_;
  std::string output_;
};

// The TCP port `pid` listens on with the lowest fd (the webhook binds first),
// read from /proc: the socket inodes among its fds, matched in /proc/net/tcp.
std::string listening_port(pid_t pid) {
  std::vector<std::pair<int, std::string>> sockets;  // fd, inode
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    std::error_code link_ec;
    const std::string target = fs::read_symlink(entry.path(), link_ec).string();
    if (!link_ec && target.starts_with("socket:[")) {
      sockets.emplace_back(std::stoi(entry.path().filename().string()), target.substr(8, target.size() - 9));
    }
  }
  std::sort(sockets.begin(), sockets.end());
  std::ifstream tcp("/proc/net/tcp");
  std::vector<std::pair<std::string, std::string>> listening;  // inode, port
  std::string line;
  std::getline(tcp, line);
  while (std::getline(tcp, line)) {
    std::istringstream f(line);
    std::string sl, local, remote, state, queues, timer, retr, uid, timeout, inode;
    f >> sl >> local >> remote >> state >> queues >> timer >> retr >> uid >> timeout >> inode;
    if (state != "0A") continue;  // LISTEN
    listening.emplace_back(inode, std::to_string(std::stoi(local.substr(local.find(':') + 1), nullptr, 16)));
  }
  for (const auto& [fd, inode] : sockets) {
    for (const auto& [listen_inode, port] : listening) {
      if (listen_inode == inode) return port;
    }
  }
  return {};
}

class ServeCommand : public testing::Test {
 protected:
  void SetUp() override {
    write_text_file(dir_ / "registry.yaml", read_fixture_file("admission/registry.yaml"));
    const PemPair pair = ca_.issue();
    write_text_file(dir_ / "tls.crt", pair.cert);
    write_text_file(dir_ / "tls.key", pair.key);
  }
  std::vector<std::string> serve_args(std::vector<std::string> extra = {}) const {
    std::vector<std::string> args{"serve",
                                  "--tls-cert",
                                  (dir_ / "tls.crt").string(),
                                  "--tls-key",
                                  (dir_ / "tls.key").string(),
                                  "--registry-file",
                                  (dir_ / "registry.yaml").string(),
                                  "--port",
                                  "0",
                                  "--metrics-port",
                                  "0",
                                  "--address",
                                  "127.0.0.1"};
    // No shutdown delay unless a test asks for one: SIGTERM ends at once.
    if (std::find(extra.begin(), extra.end(), "--shutdown-delay") == extra.end())
      extra.insert(extra.end(), {"--shutdown-delay", "0"});
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  TestCa ca_;
  TempDir dir_{"cdcguard-serve"};
};

TEST_F(ServeCommand, ServesOverHttpsLogsEachAdmissionAndExitsZeroOnSigterm) {
  ServeProcess serve(serve_args({"--log-format", "json"}));
  const auto m = serve.wait_for(std::regex(R"("msg":"serving","port":(\d+))"));
  ASSERT_FALSE(m.empty()) << serve.output();
  const int port = std::stoi(m[1]);
  TlsConnection::Options o;
  o.ca_pem = ca_.cert_pem();
  auto c = std::make_unique<TlsConnection>(port, o);
  const HttpReply r = c->request("POST", "/validate", read_fixture_file("admission/create-duplicate-id.json"),
                                 "application/json");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(nlohmann::json::parse(r.body)["response"]["allowed"], false);
  ASSERT_FALSE(serve.wait_for(std::regex(R"("msg":"admission")")).empty()) << serve.output();
  // An idle kept-alive connection is kept until its idle timeout (a request
  // the client sends on it meanwhile is answered): the API server closes its own too.
  c.reset();

  EXPECT_EQ(serve.stop(SIGTERM), 0) << serve.output();
  const std::string out = serve.output();
  EXPECT_NE(out.find(R"("msg":"stopped")"), std::string::npos) << out;
  std::size_t admissions = 0;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    const auto j = nlohmann::json::parse(line);  // every line is JSON
    if (j["msg"] != "admission") continue;
    ++admissions;
    EXPECT_EQ(j["uid"], "0d3f6c2e-1a1b-4c1d-8e1f-000000000002");
    EXPECT_EQ(j["verdict"], "denied");
    EXPECT_EQ(j["rules"], "server-id-duplicate");
    EXPECT_TRUE(j.contains("latency_us"));
  }
  EXPECT_EQ(admissions, 1u);
}

// Issue 9, defect 6: under 8 kept-alive connections the old server exited in
// 0.02 s on SIGTERM and the next request on each connection got EOF. Now:
// readiness off and `Connection: close` at once, serving on through the
// delay, then drain; no request written whole goes unanswered.
TEST_F(ServeCommand, SigtermUnderSteadyLoadLosesNoRequest) {
  ::signal(SIGPIPE, SIG_IGN);  // a write to a closed connection is counted, not fatal
  ServeProcess serve(serve_args(
      {"--log-format", "json", "--shutdown-delay", "1", "--shutdown-timeout", "20", "--idle-timeout", "30"}));
  const auto m = serve.wait_for(std::regex(R"("msg":"serving","port":(\d+))"));
  ASSERT_FALSE(m.empty()) << serve.output();
  const int port = std::stoi(m[1]);
  TlsConnection::Options o;
  o.ca_pem = ca_.cert_pem();
  o.timeout = milliseconds(30000);  // a hang guard
  SteadyLoad load(port, o,
                  admission_post("/validate", read_fixture_file("admission/create-registered-id.json")), 8);
  const auto guard = steady_clock::now() + milliseconds(30000);
  while (load.answered() < 200 && steady_clock::now() < guard) std::this_thread::sleep_for(milliseconds(5));
  ASSERT_GE(load.answered(), 200) << serve.output();
  load.mark_shutdown();
  ::kill(serve.pid(), SIGTERM);
  // Readiness fails while the listener still takes connections (the delay).
  int ready = 0;
  while (steady_clock::now() < guard) {
    ready = TlsConnection(port, o).request("GET", "/readyz", "", "").status;
    if (ready == 503) break;
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_EQ(ready, 503);
  EXPECT_EQ(serve.stop(0, milliseconds(30000)), 0) << serve.output();
  load.join();
  EXPECT_EQ(load.lost(), 0) << serve.output();
  EXPECT_GT(load.answered_after_shutdown(), 0);
  EXPECT_GE(load.told_to_close(), 8) << "every kept-alive connection is told to close";
  const std::string out = serve.output();
  EXPECT_NE(
      out.find(R"("msg":"shutting down: not ready, still serving","signal":"SIGTERM","delaySeconds":1)"),
      std::string::npos)
      << out;
  EXPECT_NE(out.find(R"("msg":"stopped")"), std::string::npos) << out;
}

TEST_F(ServeCommand, SigintAlsoStopsCleanlyWithTextLogs) {
  ServeProcess serve(serve_args());
  ASSERT_FALSE(serve.wait_for(std::regex(R"(info serving port=\d+)")).empty()) << serve.output();
  EXPECT_EQ(serve.stop(SIGINT), 0) << serve.output();
  EXPECT_NE(serve.output().find("info stopped"), std::string::npos) << serve.output();
}

TEST_F(ServeCommand, LogLevelWarnDropsAdmissionLinesButKeepsRefusals) {
  ServeProcess serve(serve_args({"--log-format", "json", "--log-level", "warn"}));
  // At warn the "serving port=" line is not printed: the port comes from /proc.
  std::string port;
  const auto deadline = steady_clock::now() + milliseconds(30000);
  while (port.empty() && steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(20));
    port = listening_port(serve.pid());
  }
  ASSERT_FALSE(port.empty()) << serve.output();
  TlsConnection::Options o;
  o.ca_pem = ca_.cert_pem();
  {
    TlsConnection c(std::stoi(port), o);
    ASSERT_EQ(c.request("POST", "/validate", read_fixture_file("admission/create-duplicate-id.json")).status,
              200);
    ASSERT_EQ(c.request("POST", "/validate", "{", "application/json").status, 400);
  }
  EXPECT_EQ(serve.stop(SIGTERM), 0) << serve.output();
  const std::string out = serve.output();
  EXPECT_EQ(out.find(R"("msg":"admission")"), std::string::npos) << out;
  EXPECT_EQ(out.find(R"("level":"info")"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("msg":"request refused")"), std::string::npos) << out;
}

struct StartError {
  std::string name;
  std::vector<std::string> args;
  std::string message;
};
void PrintTo(const StartError& c, std::ostream* os) {
  *os << c.name;
}

class ServeStartErrors : public ServeCommand, public testing::WithParamInterface<StartError> {};

TEST_P(ServeStartErrors, ExitTwoWithAClearMessage) {
  const auto& c = GetParam();
  std::vector<std::string> args;
  for (std::string a : c.args) {
    if (const auto at = a.find("{dir}"); at != std::string::npos) a.replace(at, 5, dir_.path().string());
    args.push_back(a);
  }
  write_text_file(dir_ / "broken.yaml", "rules:\n  range: {from: 5, to: 1}\n");
  write_text_file(dir_ / "not-a-cert.pem", "hello\n");
  write_text_file(dir_ / "other.key", ca_.issue().key);
  ServeProcess serve(args);
  EXPECT_EQ(serve.stop(0), 2) << serve.output();
  EXPECT_NE(serve.output().find(c.message), std::string::npos) << serve.output();
}

INSTANTIATE_TEST_SUITE_P(
    Serve, ServeStartErrors,
    testing::Values(
        StartError{"no-cert",
                   {"serve", "--tls-key", "{dir}/tls.key", "--registry-file", "{dir}/registry.yaml"},
                   "--tls-cert is required"},
        StartError{"no-registry",
                   {"serve", "--tls-cert", "{dir}/tls.crt", "--tls-key", "{dir}/tls.key"},
                   "give one of --registry-file and --registry-configmap"},
        StartError{"both-registries",
                   {"serve", "--tls-cert", "{dir}/tls.crt", "--tls-key", "{dir}/tls.key", "--registry-file",
                    "{dir}/registry.yaml", "--registry-configmap", "cdc-guard/registry"},
                   "give one of --registry-file and --registry-configmap"},
        StartError{"configmap-without-namespace",
                   {"serve", "--tls-cert", "{dir}/tls.crt", "--tls-key", "{dir}/tls.key",
                    "--registry-configmap", "registry"},
                   "--registry-configmap must be NAMESPACE/NAME, got \"registry\""},
        StartError{"kubeconfig-with-a-file",
                   {"serve", "--tls-cert", "{dir}/tls.crt", "--tls-key", "{dir}/tls.key", "--registry-file",
                    "{dir}/registry.yaml", "--kubeconfig", "{dir}/kubeconfig"},
                   "--kubeconfig needs --registry-configmap"},
        StartError{"bad-on-api-error",
                   {"serve", "--tls-cert", "{dir}/tls.crt", "--tls-key", "{dir}/tls.key",
                    "--registry-configmap", "cdc-guard/registry", "--on-api-error", "allow"},
                   "--on-api-error must be deny or allow-from-cache"},
        StartError{"missing-kubeconfig",
                   {"serve", "--tls-cert", "{dir}/tls.crt", "--tls-key", "{dir}/tls.key",
                    "--registry-configmap", "cdc-guard/registry", "--kubeconfig", "{dir}/no-kubeconfig",
                    "--port", "0", "--metrics-port", "-1"},
                   "no-kubeconfig"},
        StartError{"bad-port",
                   {"serve", "--tls-cert", "{dir}/tls.crt", "--tls-key", "{dir}/tls.key", "--registry-file",
                    "{dir}/registry.yaml", "--port", "99999"},
                   "--port must be an integer in 0..65535"},
        StartError{"bad-log-format",
                   {"serve", "--tls-cert", "{dir}/tls.crt", "--tls-key", "{dir}/tls.key", "--registry-file",
                    "{dir}/registry.yaml", "--log-format", "xml"},
                   "--log-format must be text or json"},
        StartError{"bad-log-level",
                   {"serve", "--tls-cert", "{dir}/tls.crt", "--tls-key", "{dir}/tls.key", "--registry-file",
                    "{dir}/registry.yaml", "--log-level", "loud"},
                   "--log-level must be trace, debug, info, warn, error or off"},
        StartError{"missing-registry",
                   {"serve", "--tls-cert", "{dir}/tls.crt", "--tls-key", "{dir}/tls.key", "--registry-file",
                    "{dir}/nope.yaml", "--port", "0", "--metrics-port", "-1"},
                   "nope.yaml"},
        StartError{"broken-registry",
                   {"serve", "--tls-cert", "{dir}/tls.crt", "--tls-key", "{dir}/tls.key", "--registry-file",
                    "{dir}/broken.yaml", "--port", "0", "--metrics-port", "-1"},
                   "broken.yaml:2"},
        StartError{"not-a-certificate",
                   {"serve", "--tls-cert", "{dir}/not-a-cert.pem", "--tls-key", "{dir}/tls.key",
                    "--registry-file", "{dir}/registry.yaml", "--port", "0", "--metrics-port", "-1"},
                   "no certificate in"},
        StartError{"key-does-not-match",
                   {"serve", "--tls-cert", "{dir}/tls.crt", "--tls-key", "{dir}/other.key", "--registry-file",
                    "{dir}/registry.yaml", "--port", "0", "--metrics-port", "-1"},
                   "does not match the certificate"}),
    ScenarioName());

TEST_F(ServeCommand, APortInUseIsReported) {
  ServeProcess first(serve_args());
  const auto m = first.wait_for(std::regex(R"(serving port=(\d+))"));
  ASSERT_FALSE(m.empty()) << first.output();
  const std::string port = m[1];
  ServeProcess second({"serve", "--tls-cert", (dir_ / "tls.crt").string(), "--tls-key",
                       (dir_ / "tls.key").string(), "--registry-file", (dir_ / "registry.yaml").string(),
                       "--address", "127.0.0.1", "--port", port, "--metrics-port", "-1"});
  EXPECT_EQ(second.stop(0), 2) << second.output();
  EXPECT_NE(second.output().find("cannot listen on 127.0.0.1:" + port), std::string::npos) << second.output();
  EXPECT_EQ(first.stop(SIGTERM), 0);
}

// Cluster mode against the fake API server (support/fake_api_server.hpp: it
// stands in for kube-apiserver, which cannot run here): the kubeconfig is
// read, /readyz turns 200 once the ConfigMap and the connectors are listed, a
// claim lands in the ConfigMap, and SIGTERM ends the open watches at once.
TEST_F(ServeCommand, ClusterModeClaimsInTheRegistryConfigMapAndStopsPromptly) {
  FakeApiServer api(ca_.issue("kube-apiserver"));
  api.start();
  api.apply({{"apiVersion", "v1"},
             {"kind", "ConfigMap"},
             {"metadata", {{"name", "registry"}, {"namespace", "cdc-guard"}}},
             {"data", {{"registry.yaml", read_fixture_file("admission/registry.yaml")}}}});
  write_text_file(dir_ / "ca.crt", ca_.cert_pem());
  write_text_file(dir_ / "token", "test-token");
  write_text_file(dir_ / "kubeconfig",
                  "apiVersion: v1\nkind: Config\ncurrent-context: fake\nclusters:\n- name: fake\n  cluster:\n"
                  "    server: " +
                      api.url() +
                      "\n    certificate-authority: ca.crt\n"
                      "contexts:\n- name: fake\n  context: {cluster: fake, user: webhook}\n"
                      "users:\n- name: webhook\n  user: {tokenFile: " +
                      (dir_ / "token").string() + "}\n");
  ServeProcess serve({"serve", "--tls-cert", (dir_ / "tls.crt").string(), "--tls-key",
                      (dir_ / "tls.key").string(), "--registry-configmap", "cdc-guard/registry",
                      "--kubeconfig", (dir_ / "kubeconfig").string(), "--port", "0", "--metrics-port", "0",
                      "--address", "127.0.0.1", "--log-format", "json", "--resync-period=100ms",
                      // One replica: the Lease has tests of its own (kube/leader_election_test, e2e).
                      "--leader-election=false", "--shutdown-delay", "0"});
  const auto m = serve.wait_for(std::regex(R"("msg":"serving","port":(\d+),"metricsPort":(\d+))"));
  ASSERT_FALSE(m.empty()) << serve.output();
  // Read at once: the match points into output that later reads may move.
  const int port = std::stoi(m[1]);
  const int metrics_port = std::stoi(m[2]);
  ASSERT_FALSE(
      serve.wait_for(std::regex(R"("msg":"ready: registry ConfigMap read and cluster cache synced")"))
          .empty())
      << serve.output();
  TlsConnection::Options o;
  o.ca_pem = ca_.cert_pem();
  {
    TlsConnection c(port, o);
    EXPECT_EQ(c.request("GET", "/readyz", "", "").status, 200);
    const HttpReply r =
        c.request("POST", "/validate", read_fixture_file("admission/create-new-id-v1beta2.json"));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(nlohmann::json::parse(r.body)["response"]["allowed"], true) << r.body;
  }
  const auto registry_text = [&] {
    return (*api.get("ConfigMap", "cdc-guard", "registry"))["data"]["registry.yaml"].get<std::string>();
  };
  EXPECT_NE(registry_text().find("{connector: ecommerce/refunds-cdc, serverId: 184010, status: Pending"),
            std::string::npos)
      << registry_text();
  // The connector is created: the claim is confirmed, Active without claimUid/expiresAt.
  api.apply(
      nlohmann::json::parse(read_fixture_file("admission/create-new-id-v1beta2.json"))["request"]["object"]);
  ASSERT_FALSE(
      serve
          .wait_for(std::regex(
              R"("msg":"registry reconciled with the cluster","change":"confirm","connector":"ecommerce/refunds-cdc")"))
          .empty())
      << serve.output();
  EXPECT_NE(registry_text().find(
                "{connector: ecommerce/refunds-cdc, serverId: 184010, status: Active, owner: team-a, date: "),
            std::string::npos)
      << registry_text();
  EXPECT_EQ(registry_text().find("claimUid"), std::string::npos) << registry_text();
  // The reconciler recorded the object's uid, this cluster, and the topics.
  EXPECT_NE(registry_text().find("topicPrefix: refunds, schemaHistoryTopic: schema-history.refunds, cluster: "
                                 "default, uid: "),
            std::string::npos)
      << registry_text();
  // Two writes so far (the claim, the confirmation), no conflict, one connector seen.
  const std::string metrics = plain_http_get(metrics_port, "/metrics").body;
  EXPECT_NE(metrics.find("\ncdcguard_registry_puts_total 2\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\ncdcguard_registry_conflicts_total 0\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\ncdcguard_cluster_cache_synced 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\ncdcguard_cluster_connectors 1\n"), std::string::npos) << metrics;
  // The watches ask for 300 s and read with a longer timeout: a stop they
  // held would miss this bound (a hang guard, generous for a loaded machine).
  EXPECT_EQ(serve.stop(SIGTERM, milliseconds(60000)), 0) << "the watches held the stop\n" << serve.output();
  EXPECT_NE(serve.output().find(R"("source":"kubeconfig)"), std::string::npos) << serve.output();
}

}  // namespace
}  // namespace cdcguard::testing_support
