#include "cdcguard/kube/kube_config.hpp"
#include "cdcguard/admission/admission_review.hpp"

#include <gtest/gtest.h>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/scoped_env.hpp"
#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

namespace cdcguard::kube {
namespace {

using testing_support::ScopedEnv;
using testing_support::TempDir;
using testing_support::write_text_file;

// Two clusters, two users, three contexts: enough to tell which entry was used.
std::string kubeconfig(const std::string& cluster_a_extra, const std::string& user_a_extra,
                       const std::string& current = "a") {
  return "apiVersion: v1\n"
         "kind: Config\n"
         "current-context: " +
         current +
         "\n"
         "clusters:\n"
         "- name: cluster-a\n"
         "  cluster:\n"
         "    server: https://a.example:6443\n" +
         cluster_a_extra +
         "- name: cluster-b\n"
         "  cluster:\n"
         "    server: https://10.0.0.2\n"
         "    insecure-skip-tls-verify: true\n"
         "contexts:\n"
         "- name: a\n"
         "  context:\n"
         "    cluster: cluster-a\n"
         "    user: user-a\n"
         "- name: b\n"
         "  context:\n"
         "    cluster: cluster-b\n"
         "    user: user-b\n"
         "- name: dangling-cluster\n"
         "  context:\n"
         "    cluster: nowhere\n"
         "    user: user-a\n"
         "- name: dangling-user\n"
         "  context:\n"
         "    cluster: cluster-a\n"
         "    user: nobody\n"
         "users:\n"
         "- name: user-a\n"
         "  user:\n" +
         user_a_extra +
         "- name: user-b\n"
         "  user:\n"
         "    token: token-b\n";
}

TEST(KubeconfigTest, CurrentContextWithInlineData) {
  TempDir dir;
  testing_support::TestCa ca;
  const auto client = ca.issue("client");
  // Wrapped base64, as a hand edit might leave it.
  std::string ca_data = admission::base64_encode(ca.cert_pem());
  ca_data.insert(40, "\n      ");
  write_text_file(dir / "config",
                  kubeconfig("    certificate-authority-data: |\n      " + ca_data + "\n",
                             "    client-certificate-data: " + admission::base64_encode(client.cert) +
                                 "\n    client-key-data: " + admission::base64_encode(client.key) + "\n"));
  const ClusterConfig config = load_kubeconfig((dir / "config").string());
  EXPECT_EQ(config.server, "https://a.example:6443");
  EXPECT_EQ(config.host, "a.example");
  EXPECT_EQ(config.port, 6443);
  EXPECT_EQ(config.ca_pem, ca.cert_pem());
  EXPECT_EQ(config.client_cert_pem, client.cert);
  EXPECT_EQ(config.client_key_pem, client.key);
  EXPECT_FALSE(config.insecure_skip_tls_verify);
  EXPECT_TRUE(config.token.empty());
  EXPECT_NE(config.source.find((dir / "config").string()), std::string::npos);
  EXPECT_NE(config.source.find("context a"), std::string::npos);
}

TEST(KubeconfigTest, ExplicitContextWinsOverCurrent) {
  TempDir dir;
  write_text_file(dir / "config", kubeconfig("", "    token: token-a\n"));
  const ClusterConfig config = load_kubeconfig((dir / "config").string(), "b");
  EXPECT_EQ(config.host, "10.0.0.2");
  EXPECT_EQ(config.port, 443);
  EXPECT_TRUE(config.insecure_skip_tls_verify);
  EXPECT_EQ(config.token, "token-b");
}

TEST(KubeconfigTest, FilePathsResolveAgainstTheKubeconfigDirectory) {
  TempDir dir;
  testing_support::TestCa ca;
  const auto client = ca.issue("client");
  std::filesystem::create_directories(dir / "kube" / "pki");
  write_text_file(dir / "kube" / "pki" / "ca.crt", ca.cert_pem());
  write_text_file(dir / "kube" / "pki" / "client.crt", client.cert);
  write_text_file(dir / "kube" / "pki" / "client.key", client.key);
  write_text_file(dir / "kube" / "token", "file-token\n");
  write_text_file(dir / "kube" / "config", kubeconfig("    certificate-authority: pki/ca.crt\n",
                                                      "    client-certificate: pki/client.crt\n"
                                                      "    client-key: " +
                                                          (dir / "kube" / "pki" / "client.key").string() +
                                                          "\n"
                                                          "    tokenFile: token\n"));
  const ClusterConfig config = load_kubeconfig((dir / "kube" / "config").string());
  EXPECT_EQ(config.ca_pem, ca.cert_pem());
  EXPECT_EQ(config.client_cert_pem, client.cert);
  EXPECT_EQ(config.client_key_pem, client.key);
  EXPECT_EQ(config.token_file, (dir / "kube" / "token").string());
}

TEST(KubeconfigTest, StaticToken) {
  TempDir dir;
  write_text_file(dir / "config", kubeconfig("", "    token: token-a\n"));
  const ClusterConfig config = load_kubeconfig((dir / "config").string());
  EXPECT_EQ(config.token, "token-a");
  EXPECT_TRUE(config.token_file.empty());
}

struct ServerCase {
  std::string server;
  std::string host;
  int port;
};

class KubeconfigServerTest : public ::testing::TestWithParam<ServerCase> {};

TEST_P(KubeconfigServerTest, ParsesTheServerUrl) {
  TempDir dir;
  std::string text = kubeconfig("", "    token: t\n");
  text.replace(text.find("https://a.example:6443"), std::string("https://a.example:6443").size(),
               GetParam().server);
  write_text_file(dir / "config", text);
  const ClusterConfig config = load_kubeconfig((dir / "config").string());
  EXPECT_EQ(config.server, GetParam().server);
  EXPECT_EQ(config.host, GetParam().host);
  EXPECT_EQ(config.port, GetParam().port);
}

INSTANTIATE_TEST_SUITE_P(Urls, KubeconfigServerTest,
                         ::testing::Values(ServerCase{"https://api.example", "api.example", 443},
                                           ServerCase{"https://api.example/", "api.example", 443},
                                           ServerCase{"https://127.0.0.1:6443", "127.0.0.1", 6443},
                                           ServerCase{"https://[::1]:6443", "::1", 6443},
                                           ServerCase{"https://[fd00::10]", "fd00::10", 443}));

struct ErrorCase {
  std::string name;
  std::string cluster_a_extra;  // replaces nothing; appended to cluster-a
  std::string user_a_extra;
  std::string context;
  std::string server;                 // replaces cluster-a's server when not empty
  std::vector<std::string> expected;  // all must appear in the message
};

class KubeconfigErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(KubeconfigErrorTest, NamesTheFileAndTheProblem) {
  const ErrorCase& c = GetParam();
  TempDir dir;
  std::string text = kubeconfig(c.cluster_a_extra, c.user_a_extra);
  if (!c.server.empty()) {
    text.replace(text.find("https://a.example:6443"), std::string("https://a.example:6443").size(), c.server);
  }
  const auto path = (dir / "config").string();
  write_text_file(path, text);
  try {
    load_kubeconfig(path, c.context);
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("kubeconfig " + path + ": "), std::string::npos) << message;
    for (const auto& part : c.expected) EXPECT_NE(message.find(part), std::string::npos) << message;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Errors, KubeconfigErrorTest,
    ::testing::Values(
        ErrorCase{"MissingContext", "", "", "foo", "", {"context \"foo\" not found"}},
        ErrorCase{"MissingCluster", "", "", "dangling-cluster", "", {"cluster \"nowhere\"", "not found"}},
        ErrorCase{"MissingUser", "", "", "dangling-user", "", {"user \"nobody\"", "not found"}},
        ErrorCase{"ProxyUrl",
                  "    proxy-url: http://proxy.example:3128\n",
                  "",
                  "",
                  "",
                  {"cluster \"cluster-a\"", "proxy-url", "does not support proxies", "remove proxy-url"}},
        ErrorCase{"AuthProvider",
                  "",
                  "    auth-provider:\n      name: gcp\n",
                  "",
                  "",
                  {"auth-provider", "not supported"}},
        ErrorCase{"PlainHttp", "", "", "", "http://a.example:8080", {"server", "http", "only https"}},
        ErrorCase{"NotAUrl", "", "", "", "a.example:6443", {"server", "not an https:// URL"}},
        ErrorCase{"BadPort", "", "", "", "https://a.example:99999", {"invalid port"}},
        ErrorCase{"UnbracketedIpv6", "", "", "", "https://fd00::1:6443", {"brackets"}},
        ErrorCase{"BadBase64",
                  "    certificate-authority-data: \"not*base64\"\n",
                  "",
                  "",
                  "",
                  {"cluster \"cluster-a\"", "certificate-authority-data", "base64"}},
        ErrorCase{"MissingCaFile",
                  "    certificate-authority: missing/ca.crt\n",
                  "",
                  "",
                  "",
                  {"certificate-authority", "missing/ca.crt"}},
        ErrorCase{
            "KeyWithoutCertificate",
            "",
            "    client-key-data: " +
                admission::base64_encode("-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n") +
                "\n",
            "",
            "",
            {"without"}}),
    [](const ::testing::TestParamInfo<ErrorCase>& param_info) { return param_info.param.name; });

TEST(KubeconfigTest, TlsServerName) {
  TempDir dir;
  write_text_file(dir / "config", kubeconfig("    tls-server-name: api.internal\n", "    token: t\n"));
  const ClusterConfig config = load_kubeconfig((dir / "config").string());
  EXPECT_EQ(config.host, "a.example");
  EXPECT_EQ(config.tls_server_name, "api.internal");
  EXPECT_EQ(load_kubeconfig((dir / "config").string(), "b").tls_server_name, "");
}

TEST(KubeconfigExecTest, ReadsEveryField) {
  TempDir dir;
  std::filesystem::create_directories(dir / "kube");
  write_text_file(dir / "kube" / "config", kubeconfig("    extensions:\n"
                                                      "    - name: other/thing\n"
                                                      "      extension: {ignored: true}\n"
                                                      "    - name: client.authentication.k8s.io/exec\n"
                                                      "      extension:\n"
                                                      "        audience: cdc\n"
                                                      "        retries: 3\n"
                                                      "        verbose: true\n"
                                                      "        quoted: \"true\"\n"
                                                      "        nothing: null\n"
                                                      "        scopes: [a, b]\n",
                                                      "    exec:\n"
                                                      "      apiVersion: client.authentication.k8s.io/v1\n"
                                                      "      command: ../bin/cdc-auth\n"
                                                      "      args: [token, --cluster, a]\n"
                                                      "      env:\n"
                                                      "      - name: AWS_PROFILE\n"
                                                      "        value: prod\n"
                                                      "      - name: EMPTY\n"
                                                      "      installHint: brew install cdc-auth\n"
                                                      "      interactiveMode: Never\n"
                                                      "      provideClusterInfo: true\n"));
  const ClusterConfig config = load_kubeconfig((dir / "kube" / "config").string());
  ASSERT_TRUE(config.exec);
  const ExecPluginConfig& exec = *config.exec;
  EXPECT_EQ(exec.api_version, "client.authentication.k8s.io/v1");
  // A relative path with a slash is the kubeconfig directory's (client-go).
  EXPECT_EQ(exec.command, (dir / "bin" / "cdc-auth").string());
  EXPECT_EQ(exec.args, (std::vector<std::string>{"token", "--cluster", "a"}));
  EXPECT_EQ(exec.env,
            (std::vector<std::pair<std::string, std::string>>{{"AWS_PROFILE", "prod"}, {"EMPTY", ""}}));
  EXPECT_EQ(exec.install_hint, "brew install cdc-auth");
  EXPECT_TRUE(exec.provide_cluster_info);
  EXPECT_EQ(
      nlohmann::json::parse(exec.cluster_config_json),
      nlohmann::json::parse(
          R"({"audience":"cdc","retries":3,"verbose":true,"quoted":"true","nothing":null,"scopes":["a","b"]})"));
  EXPECT_EQ(exec.origin, "kubeconfig " + (dir / "kube" / "config").string() + ": user \"user-a\"");
  EXPECT_TRUE(config.token.empty());
}

TEST(KubeconfigExecTest, ABareCommandStaysForPathAndV1beta1NeedsNoInteractiveMode) {
  TempDir dir;
  write_text_file(dir / "config", kubeconfig("",
                                             "    exec:\n"
                                             "      apiVersion: client.authentication.k8s.io/v1beta1\n"
                                             "      command: aws\n"));
  const ClusterConfig config = load_kubeconfig((dir / "config").string());
  ASSERT_TRUE(config.exec);
  EXPECT_EQ(config.exec->command, "aws");
  EXPECT_FALSE(config.exec->provide_cluster_info);
  EXPECT_EQ(config.exec->cluster_config_json, "");
}

// client-go: a token or client certificate beside exec wins; the plugin never runs.
TEST(KubeconfigExecTest, AnotherCredentialWinsOverExec) {
  TempDir dir;
  write_text_file(dir / "config", kubeconfig("",
                                             "    token: static\n"
                                             "    exec:\n"
                                             "      apiVersion: client.authentication.k8s.io/v1beta1\n"
                                             "      command: aws\n"));
  const ClusterConfig config = load_kubeconfig((dir / "config").string());
  EXPECT_EQ(config.token, "static");
  EXPECT_FALSE(config.exec);
}

struct ExecErrorCase {
  std::string name;
  std::string exec;  // the lines under `exec:`
  std::string expected;
};

class KubeconfigExecErrorTest : public ::testing::TestWithParam<ExecErrorCase> {};

TEST_P(KubeconfigExecErrorTest, NamesTheFileTheUserAndTheProblem) {
  TempDir dir;
  const auto path = (dir / "config").string();
  write_text_file(path, kubeconfig("", "    exec:\n" + GetParam().exec));
  try {
    load_kubeconfig(path);
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("kubeconfig " + path + ": user \"user-a\": exec: "), std::string::npos) << message;
    EXPECT_NE(message.find(GetParam().expected), std::string::npos) << message;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Errors, KubeconfigExecErrorTest,
    ::testing::Values(
        ExecErrorCase{"NoApiVersion", "      command: aws\n", "apiVersion is missing"},
        ExecErrorCase{"V1alpha1",
                      "      apiVersion: client.authentication.k8s.io/v1alpha1\n      command: aws\n",
                      "v1alpha1 is no longer supported"},
        ExecErrorCase{"UnknownApiVersion",
                      "      apiVersion: client.authentication.k8s.io/v2\n      command: aws\n",
                      "apiVersion \"client.authentication.k8s.io/v2\" is not supported"},
        ExecErrorCase{"NoCommand",
                      "      apiVersion: client.authentication.k8s.io/v1\n      interactiveMode: Never\n",
                      "command is missing"},
        ExecErrorCase{"V1WithoutInteractiveMode",
                      "      apiVersion: client.authentication.k8s.io/v1\n      command: aws\n",
                      "interactiveMode is missing"},
        ExecErrorCase{"InteractiveAlways",
                      "      apiVersion: client.authentication.k8s.io/v1\n      command: aws\n"
                      "      interactiveMode: Always\n",
                      "interactiveMode Always needs a terminal, which cdc-guard never has"},
        ExecErrorCase{"InteractiveSometimes",
                      "      apiVersion: client.authentication.k8s.io/v1beta1\n      command: aws\n"
                      "      interactiveMode: Sometimes\n",
                      "interactiveMode \"Sometimes\" is not Never, IfAvailable or Always"},
        ExecErrorCase{"EnvWithoutName",
                      "      apiVersion: client.authentication.k8s.io/v1beta1\n      command: aws\n"
                      "      env:\n      - value: x\n",
                      "env: every entry needs a name"},
        ExecErrorCase{"ArgsNotAList",
                      "      apiVersion: client.authentication.k8s.io/v1beta1\n      command: aws\n"
                      "      args: token\n",
                      "args must be a list of strings"}),
    [](const ::testing::TestParamInfo<ExecErrorCase>& param_info) { return param_info.param.name; });

// --- Several files, merged as kubectl merges $KUBECONFIG ---

std::string cluster_entry(const std::string& name, const std::string& server, const std::string& extra = "") {
  return "- name: " + name + "\n  cluster:\n    server: " + server + "\n" + extra;
}
std::string user_entry(const std::string& name, const std::string& body) {
  return "- name: " + name + "\n  user:\n" + body;
}
std::string context_entry(const std::string& name, const std::string& cluster, const std::string& user) {
  return "- name: " + name + "\n  context:\n    cluster: " + cluster + "\n    user: " + user + "\n";
}

class KubeconfigMergeTest : public ::testing::Test {
 protected:
  KubeconfigMergeTest() {
    std::filesystem::create_directories(dir_ / "one");
    std::filesystem::create_directories(dir_ / "two");
    std::filesystem::create_directories(dir_ / "three");
    // one: no current-context; the first word on cluster-a (its CA file beside it) and user-a.
    write_text_file(dir_ / "one" / "config", "clusters:\n" +
                                                 cluster_entry("cluster-a", "https://one.example",
                                                               "    certificate-authority: ca.crt\n") +
                                                 "users:\n" + user_entry("user-a", "    token: one\n"));
    write_text_file(dir_ / "one" / "ca.crt", ca_.cert_pem());
    // two: current-context ctx, and its own cluster-a and user-a that lose.
    write_text_file(dir_ / "two" / "config",
                    "current-context: ctx\n"
                    "clusters:\n" +
                        cluster_entry("cluster-a", "https://two.example") +
                        cluster_entry("cluster-b", "https://b.two.example") + "users:\n" +
                        user_entry("user-a", "    token: two\n") +
                        user_entry("user-b", "    tokenFile: token\n") + "contexts:\n" +
                        context_entry("ctx", "cluster-a", "user-a") +
                        context_entry("b", "cluster-b", "user-b"));
    write_text_file(dir_ / "two" / "token", "token-two\n");
    // three: another current-context and another ctx, both too late.
    write_text_file(dir_ / "three" / "config",
                    "current-context: late\n"
                    "clusters:\n" +
                        cluster_entry("cluster-c", "https://three.example") + "users:\n" +
                        user_entry("user-c", "    token: three\n") + "contexts:\n" +
                        context_entry("ctx", "cluster-c", "user-c") +
                        context_entry("late", "cluster-c", "user-c") +
                        context_entry("mixed", "cluster-a", "user-b"));
  }
  std::string path(const std::string& sub) const { return (dir_ / sub / "config").string(); }

  TempDir dir_;
  testing_support::TestCa ca_;
};

TEST_F(KubeconfigMergeTest, EachNameFromTheFirstFileThatDefinesIt) {
  const ClusterConfig config = load_kubeconfig_files({path("one"), path("two"), path("three")});
  EXPECT_EQ(config.server, "https://one.example");
  EXPECT_EQ(config.token, "one");
  EXPECT_EQ(config.source, "kubeconfig " + path("two") + " (context ctx, cluster from " + path("one") +
                               ", user from " + path("one") + ")");
}

TEST_F(KubeconfigMergeTest, CurrentContextFromTheFirstFileThatSetsIt) {
  EXPECT_EQ(load_kubeconfig_files({path("one"), path("three"), path("two")}).server, "https://three.example");
  EXPECT_EQ(load_kubeconfig_files({path("three"), path("two")}).source,
            "kubeconfig " + path("three") + " (context late)");
}

// The context in three, its cluster in one, its user in two: each file's
// relative paths against its own directory.
TEST_F(KubeconfigMergeTest, RelativePathsResolveAgainstTheirOwnFile) {
  const ClusterConfig config = load_kubeconfig_files({path("one"), path("two"), path("three")}, "mixed");
  EXPECT_EQ(config.server, "https://one.example");
  EXPECT_EQ(config.ca_pem, ca_.cert_pem());
  EXPECT_EQ(config.token_file, (dir_ / "two" / "token").string());
  EXPECT_EQ(config.source, "kubeconfig " + path("three") + " (context mixed, cluster from " + path("one") +
                               ", user from " + path("two") + ")");
}

TEST_F(KubeconfigMergeTest, MissingFilesAreSkippedAndRepeatsReadOnce) {
  const ClusterConfig config =
      load_kubeconfig_files({"", (dir_ / "absent").string(), path("two"), path("two"), path("three")});
  EXPECT_EQ(config.server, "https://two.example");
  EXPECT_EQ(config.token, "two");
  EXPECT_EQ(config.source, "kubeconfig " + path("two") + " (context ctx)");
}

TEST_F(KubeconfigMergeTest, NoExistingFileIsAnError) {
  try {
    load_kubeconfig_files({(dir_ / "a").string(), (dir_ / "b").string()});
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find((dir_ / "a").string() + ":" + (dir_ / "b").string()),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("none of these files exists"), std::string::npos) << e.what();
  }
}

TEST_F(KubeconfigMergeTest, AnUnreadableFileIsAnErrorNotSkipped) {
  write_text_file(dir_ / "bad", "clusters: [\n");
  try {
    load_kubeconfig_files({path("one"), (dir_ / "bad").string(), path("two")});
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("kubeconfig " + (dir_ / "bad").string() + ": not valid YAML"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(KubeconfigMergeTest, AnErrorNamesTheFileOfTheEntry) {
  write_text_file(dir_ / "one" / "config",
                  "clusters:\n" + cluster_entry("cluster-a", "http://one.example") + "users: []\n");
  try {
    load_kubeconfig_files({path("one"), path("two")});
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("kubeconfig " + path("one") + ": cluster \"cluster-a\": server"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(KubeconfigMergeTest, AContextMissingFromEveryFileNamesThemAll) {
  try {
    load_kubeconfig_files({path("one"), path("two")}, "nowhere");
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("kubeconfig " + path("one") + ":" + path("two") +
                                         ": context \"nowhere\" not found"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(KubeconfigMergeTest, ResolveMergesTheFilesOfKubeconfigButTheFlagTakesOneFile) {
  ScopedEnv kubeconfig_env("KUBECONFIG", (dir_ / "absent").string() + ":" + path("one") + ":" + path("two"));
  const ClusterConfig merged = resolve_cluster_config("");
  EXPECT_EQ(merged.server, "https://one.example");
  EXPECT_EQ(merged.token, "one");
  const ClusterConfig alone = resolve_cluster_config(path("two"));
  EXPECT_EQ(alone.server, "https://two.example");
  EXPECT_EQ(alone.token, "two");
}

TEST(KubeconfigTest, NoCurrentContext) {
  TempDir dir;
  write_text_file(dir / "config", kubeconfig("", "", "\"\""));
  EXPECT_THROW(load_kubeconfig((dir / "config").string()), ConfigError);
  EXPECT_NO_THROW(load_kubeconfig((dir / "config").string(), "b"));
}

TEST(KubeconfigTest, MissingFileAndBadYaml) {
  TempDir dir;
  try {
    load_kubeconfig((dir / "nope").string());
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find((dir / "nope").string()), std::string::npos);
  }
  write_text_file(dir / "bad", "clusters: [\n");
  EXPECT_THROW(load_kubeconfig((dir / "bad").string()), ConfigError);
}

TEST(ResolveClusterConfigTest, KubeconfigSkipsMissingFiles) {
  TempDir dir;
  write_text_file(dir / "second", kubeconfig("", "    token: second\n"));
  write_text_file(dir / "third", kubeconfig("", "    token: third\n"));
  ScopedEnv kubeconfig_env("KUBECONFIG", (dir / "first").string() + ":" + (dir / "second").string() + ":" +
                                             (dir / "third").string());
  EXPECT_EQ(resolve_cluster_config("").token, "second");
  // The flag wins over the environment.
  EXPECT_EQ(resolve_cluster_config((dir / "third").string()).token, "third");
}

TEST(ResolveClusterConfigTest, KubeconfigWithNoExistingFileIsAnError) {
  TempDir dir;
  ScopedEnv kubeconfig_env("KUBECONFIG", (dir / "a").string() + ":" + (dir / "b").string());
  EXPECT_THROW(resolve_cluster_config(""), ConfigError);
}

class InClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing_support::TestCa ca;
    ca_pem_ = ca.cert_pem();
    write_text_file(dir_ / "token", "pod-token\n");
    write_text_file(dir_ / "ca.crt", ca_pem_);
  }
  TempDir dir_;
  std::string ca_pem_;
};

TEST_F(InClusterTest, ReadsTheServiceAccount) {
  ScopedEnv host("KUBERNETES_SERVICE_HOST", "10.96.0.1");
  ScopedEnv port("KUBERNETES_SERVICE_PORT", "443");
  const ClusterConfig config = in_cluster_config(dir_.path().string());
  EXPECT_EQ(config.server, "https://10.96.0.1:443");
  EXPECT_EQ(config.host, "10.96.0.1");
  EXPECT_EQ(config.port, 443);
  EXPECT_EQ(config.ca_pem, ca_pem_);
  EXPECT_EQ(config.token_file, (dir_ / "token").string());
  EXPECT_TRUE(config.token.empty());
  EXPECT_EQ(config.source, "in-cluster service account");
}

TEST_F(InClusterTest, Ipv6ServiceHost) {
  ScopedEnv host("KUBERNETES_SERVICE_HOST", "fd00:10:96::1");
  ScopedEnv port("KUBERNETES_SERVICE_PORT", "6443");
  const ClusterConfig config = in_cluster_config(dir_.path().string());
  EXPECT_EQ(config.server, "https://[fd00:10:96::1]:6443");
  EXPECT_EQ(config.host, "fd00:10:96::1");
  EXPECT_EQ(config.port, 6443);
}

TEST_F(InClusterTest, ResolveFallsBackToInCluster) {
  ScopedEnv kubeconfig_env("KUBECONFIG", std::nullopt);
  ScopedEnv host("KUBERNETES_SERVICE_HOST", "10.96.0.1");
  ScopedEnv port("KUBERNETES_SERVICE_PORT", "443");
  // The default secrets dir does not exist here: the error shows in-cluster was chosen.
  try {
    resolve_cluster_config("");
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("in-cluster"), std::string::npos) << e.what();
  }
}

TEST_F(InClusterTest, Errors) {
  {
    ScopedEnv host("KUBERNETES_SERVICE_HOST", std::nullopt);
    ScopedEnv port("KUBERNETES_SERVICE_PORT", "443");
    EXPECT_THROW(in_cluster_config(dir_.path().string()), ConfigError);
  }
  {
    ScopedEnv host("KUBERNETES_SERVICE_HOST", "10.96.0.1");
    ScopedEnv port("KUBERNETES_SERVICE_PORT", std::nullopt);
    EXPECT_THROW(in_cluster_config(dir_.path().string()), ConfigError);
  }
  ScopedEnv host("KUBERNETES_SERVICE_HOST", "10.96.0.1");
  ScopedEnv port("KUBERNETES_SERVICE_PORT", "443");
  TempDir empty;
  try {
    in_cluster_config(empty.path().string());
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find((empty / "token").string()), std::string::npos) << e.what();
  }
  write_text_file(empty / "token", "t");
  try {
    in_cluster_config(empty.path().string());
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("ca.crt"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace cdcguard::kube
