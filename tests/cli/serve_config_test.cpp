#include "cli/serve_config.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.hpp"

namespace cdcguard::cli {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Args = std::vector<std::string>;

Args standalone(Args extra = {}) {
  Args args{"--tls-cert", "tls.crt", "--tls-key", "tls.key", "--registry-file", "registry.yaml"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

Args cluster(Args extra = {}) {
  Args args{"--tls-cert", "tls.crt", "--tls-key", "tls.key", "--registry-configmap", "cdc-guard/registry"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

TEST(ServeConfig, StandaloneDefaults) {
  const ServeConfig c = parse_serve_args(standalone());
  EXPECT_FALSE(c.help);
  EXPECT_FALSE(c.cluster_mode());
  EXPECT_EQ(c.registry_file, "registry.yaml");
  EXPECT_EQ(c.server.tls_cert, "tls.crt");
  EXPECT_EQ(c.server.tls_key, "tls.key");
  EXPECT_EQ(c.server.port, 8443);
  EXPECT_EQ(c.server.metrics_port, 8080);
  EXPECT_EQ(c.server.address, "0.0.0.0");
  EXPECT_EQ(c.server.threads, 64u);
  EXPECT_EQ(c.server.read_timeout, seconds(10));
  EXPECT_EQ(c.server.idle_timeout, seconds(5));
  EXPECT_EQ(c.server.max_connections, 1000u);
  EXPECT_EQ(c.server.max_body_bytes, 4u * 1024 * 1024);
  EXPECT_EQ(c.server.certificate_poll, milliseconds(1000));
  EXPECT_EQ(c.server.shutdown_timeout, seconds(20));
  EXPECT_EQ(c.shutdown_delay, seconds(5));
  EXPECT_EQ(c.log_format, server::LogFormat::Text);
  EXPECT_EQ(c.log_level, spdlog::level::info);
  EXPECT_FALSE(c.server.handler.pending_claims) << "claims are a cluster-mode thing";
  EXPECT_EQ(c.confirm_interval, milliseconds(10000));
}

TEST(ServeConfig, ClusterDefaults) {
  const ServeConfig c = parse_serve_args(cluster());
  EXPECT_TRUE(c.cluster_mode());
  EXPECT_EQ(c.configmap_namespace, "cdc-guard");
  EXPECT_EQ(c.configmap_name, "registry");
  EXPECT_EQ(c.kubeconfig, "");
  EXPECT_TRUE(c.namespaces.empty());
  EXPECT_TRUE(c.server.handler.pending_claims);
  EXPECT_EQ(c.server.handler.claim_ttl, seconds(300));
  EXPECT_EQ(c.server.handler.on_api_error, admission::OnApiError::Deny);
  EXPECT_EQ(c.confirm_interval, milliseconds(10000));
}

TEST(ServeConfig, EveryServerFlag) {
  const ServeConfig c = parse_serve_args(standalone({"--port",
                                                     "0",
                                                     "--metrics-port",
                                                     "-1",
                                                     "--address",
                                                     "127.0.0.1",
                                                     "--threads",
                                                     "3",
                                                     "--read-timeout",
                                                     "7",
                                                     "--idle-timeout",
                                                     "9",
                                                     "--max-connections",
                                                     "12",
                                                     "--max-body-bytes",
                                                     "2048",
                                                     "--certificate-poll-ms",
                                                     "50",
                                                     "--shutdown-delay",
                                                     "0",
                                                     "--shutdown-timeout",
                                                     "4",
                                                     "--log-format",
                                                     "json",
                                                     "--log-level",
                                                     "warn"}));
  EXPECT_EQ(c.server.port, 0);
  EXPECT_EQ(c.server.metrics_port, -1);
  EXPECT_EQ(c.server.address, "127.0.0.1");
  EXPECT_EQ(c.server.threads, 3u);
  EXPECT_EQ(c.server.read_timeout, seconds(7));
  EXPECT_EQ(c.server.idle_timeout, seconds(9));
  EXPECT_EQ(c.server.max_connections, 12u);
  EXPECT_EQ(c.server.max_body_bytes, 2048u);
  EXPECT_EQ(c.server.certificate_poll, milliseconds(50));
  EXPECT_EQ(c.shutdown_delay, seconds(0));
  EXPECT_EQ(c.server.shutdown_timeout, seconds(4));
  EXPECT_EQ(c.log_format, server::LogFormat::Json);
  EXPECT_EQ(c.log_level, spdlog::level::warn);
}

TEST(ServeConfig, EveryClusterFlag) {
  const ServeConfig c = parse_serve_args(
      cluster({"--kubeconfig", "/etc/kube/config", "--namespaces", "ecommerce,warehouse", "--on-api-error",
               "allow-from-cache", "--claim-ttl", "60", "--confirm-interval-ms", "25"}));
  EXPECT_EQ(c.kubeconfig, "/etc/kube/config");
  EXPECT_EQ(c.namespaces, (std::vector<std::string>{"ecommerce", "warehouse"}));
  EXPECT_EQ(c.server.handler.on_api_error, admission::OnApiError::AllowFromCache);
  EXPECT_EQ(c.server.handler.claim_ttl, seconds(60));
  EXPECT_EQ(c.confirm_interval, milliseconds(25));
}

TEST(ServeConfig, EqualsFormAndHelp) {
  EXPECT_EQ(parse_serve_args(standalone({"--port=9443"})).server.port, 9443);
  EXPECT_TRUE(parse_serve_args({"--help"}).help);
  EXPECT_TRUE(parse_serve_args({"-h"}).help);
}

struct UsageCase {
  std::string name;
  Args args;
  std::string message;
};

class ServeConfigUsage : public testing::TestWithParam<UsageCase> {};

TEST_P(ServeConfigUsage, ThrowsTheMessageServePrints) {
  try {
    parse_serve_args(GetParam().args);
    FAIL() << "no UsageError";
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()), GetParam().message);
  }
}

INSTANTIATE_TEST_SUITE_P(
    UsageErrors, ServeConfigUsage,
    testing::Values(
        UsageCase{"no_cert", {"--tls-key", "k", "--registry-file", "r"}, "--tls-cert is required"},
        UsageCase{"no_key", {"--tls-cert", "c", "--registry-file", "r"}, "--tls-key is required"},
        UsageCase{"no_registry",
                  {"--tls-cert", "c", "--tls-key", "k"},
                  "give one of --registry-file and --registry-configmap"},
        UsageCase{"both_registries", standalone({"--registry-configmap", "cdc-guard/registry"}),
                  "give one of --registry-file and --registry-configmap"},
        UsageCase{"configmap_without_namespace",
                  {"--tls-cert", "c", "--tls-key", "k", "--registry-configmap", "registry"},
                  "--registry-configmap must be NAMESPACE/NAME, got \"registry\""},
        UsageCase{"configmap_with_two_slashes",
                  {"--tls-cert", "c", "--tls-key", "k", "--registry-configmap", "a/b/c"},
                  "--registry-configmap must be NAMESPACE/NAME, got \"a/b/c\""},
        UsageCase{"kubeconfig_with_a_file", standalone({"--kubeconfig", "kc"}),
                  "--kubeconfig needs --registry-configmap"},
        UsageCase{"claim_ttl_with_a_file", standalone({"--claim-ttl", "60"}),
                  "--claim-ttl needs --registry-configmap"},
        UsageCase{"bad_on_api_error", cluster({"--on-api-error", "maybe"}),
                  "--on-api-error must be deny or allow-from-cache, got \"maybe\""},
        UsageCase{"empty_namespace", cluster({"--namespaces", "a,,b"}),
                  "--namespaces has an empty name in \"a,,b\""},
        UsageCase{"claim_ttl_too_short", cluster({"--claim-ttl", "5"}),
                  "--claim-ttl must be an integer in 10..86400, got \"5\""},
        UsageCase{"bad_port", standalone({"--port", "70000"}),
                  "--port must be an integer in 0..65535, got \"70000\""},
        UsageCase{"port_not_a_number", standalone({"--port", "8443x"}),
                  "--port must be an integer in 0..65535, got \"8443x\""},
        UsageCase{"delay_not_shorter", standalone({"--shutdown-delay", "20"}),
                  "--shutdown-delay must be shorter than --shutdown-timeout"},
        UsageCase{"bad_log_format", standalone({"--log-format", "xml"}),
                  "--log-format must be text or json, got \"xml\""},
        UsageCase{"bad_log_level", standalone({"--log-level", "loud"}),
                  "--log-level must be trace, debug, info, warn, error or off, got \"loud\""},
        UsageCase{"positional", standalone({"extra"}), "unexpected argument \"extra\""}),
    [](const testing::TestParamInfo<UsageCase>& param_info) { return param_info.param.name; });

TEST(ServeConfig, RunServePrintsTheUsageErrorAndHelpAndExitsTwo) {
  std::istringstream in;
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(run_serve(standalone({"--port", "x"}), Streams{in, out, err}), kExitUsage);
  EXPECT_EQ(err.str().rfind("cdc-guard serve: --port must be an integer in 0..65535, got \"x\"\n\n", 0), 0u)
      << err.str();
  EXPECT_NE(err.str().find(serve_help()), std::string::npos);
  EXPECT_EQ(out.str(), "");
}

TEST(ServeConfig, RunServeHelpExitsZero) {
  std::istringstream in;
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(run_serve({"--help"}, Streams{in, out, err}), kExitOk);
  EXPECT_EQ(out.str(), serve_help());
  EXPECT_EQ(err.str(), "");
}

}  // namespace
}  // namespace cdcguard::cli
