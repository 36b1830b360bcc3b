#include "cdcguard/kube/kube_config.hpp"
#include "cdcguard/admission/admission_review.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <optional>
#include <string>
#include <vector>

#include "support/temp_dir.hpp"
#include "support/test_pki.hpp"

namespace cdcguard::kube {
namespace {

using testing_support::TempDir;
using testing_support::write_text_file;

// Sets an environment variable for one test and puts the old value back.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::optional<std::string>& value) : name_(name) {
    if (const char* old = ::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

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
        ErrorCase{"ExecPlugin",
                  "",
                  "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: aws\n",
                  "",
                  "",
                  {"user \"user-a\"", "exec", "not supported", "token", "client certificate"}},
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

TEST(ResolveClusterConfigTest, KubeconfigUsesTheFirstExistingFile) {
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
