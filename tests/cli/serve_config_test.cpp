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
  EXPECT_EQ(c.server.handler.cluster_name, "") << "standalone claims belong to no cluster";
}

TEST(ServeConfig, PolicyConfigMapSplitsTheRegistry) {
  const ServeConfig c = parse_serve_args(cluster({"--policy-configmap", "platform/cdc-guard-policy"}));
  EXPECT_TRUE(c.split_mode());
  EXPECT_EQ(c.policy_namespace, "platform");
  EXPECT_EQ(c.policy_name, "cdc-guard-policy");
  EXPECT_EQ(c.configmap_namespace, "cdc-guard") << "the state";
  EXPECT_EQ(c.configmap_name, "registry");
}

TEST(ServeConfig, ClusterDefaults) {
  const ServeConfig c = parse_serve_args(cluster());
  EXPECT_TRUE(c.cluster_mode());
  EXPECT_FALSE(c.split_mode()) << "without --policy-configmap the registry ConfigMap holds it all";
  EXPECT_EQ(c.configmap_namespace, "cdc-guard");
  EXPECT_EQ(c.configmap_name, "registry");
  EXPECT_EQ(c.kubeconfig, "");
  EXPECT_TRUE(c.namespaces.empty());
  EXPECT_TRUE(c.server.handler.pending_claims);
  EXPECT_EQ(c.server.handler.claim_ttl, seconds(300));
  EXPECT_EQ(c.server.handler.on_api_error, admission::OnApiError::Deny);
  EXPECT_EQ(c.cluster_name, "default");
  EXPECT_EQ(c.server.handler.cluster_name, "default");
  EXPECT_EQ(c.resync_period, seconds(60));
  EXPECT_TRUE(c.leader_election);
  EXPECT_EQ(c.lease_namespace, "cdc-guard") << "the registry ConfigMap's";
  EXPECT_EQ(c.lease_name, "cdc-guard-reconciler");
  EXPECT_EQ(c.lease_duration, seconds(15));
  EXPECT_EQ(c.renew_deadline, seconds(10));
  EXPECT_EQ(c.retry_period, seconds(2));
}

TEST(ServeConfig, ReconcilerAndLeaderElectionFlags) {
  const ServeConfig c = parse_serve_args(
      cluster({"--cluster-name", "prod-eu", "--resync-period", "1m30s", "--leader-election=false",
               "--leader-election-namespace", "ops", "--leader-election-name", "cdc-guard-eu",
               "--lease-duration", "30s", "--renew-deadline", "20s", "--retry-period", "500ms"}));
  EXPECT_EQ(c.cluster_name, "prod-eu");
  EXPECT_EQ(c.server.handler.cluster_name, "prod-eu") << "claims carry the cluster";
  EXPECT_EQ(c.resync_period, seconds(90));
  EXPECT_FALSE(c.leader_election);
  EXPECT_EQ(c.lease_namespace, "ops");
  EXPECT_EQ(c.lease_name, "cdc-guard-eu");
  EXPECT_EQ(c.lease_duration, seconds(30));
  EXPECT_EQ(c.renew_deadline, seconds(20));
  EXPECT_EQ(c.retry_period, milliseconds(500));
  // Go's boolean flag forms.
  EXPECT_TRUE(parse_serve_args(cluster({"--leader-election"})).leader_election);
  EXPECT_TRUE(parse_serve_args(cluster({"--leader-election", "true"})).leader_election);
  EXPECT_FALSE(parse_serve_args(cluster({"--leader-election", "false"})).leader_election);
  EXPECT_TRUE(parse_serve_args(cluster({"--leader-election", "--cluster-name", "x"})).leader_election);
  EXPECT_EQ(parse_serve_args(cluster({"--resync-period", "45"})).resync_period, seconds(45))
      << "bare: seconds";
}

TEST(ServeConfig, DurationsAreGoStyle) {
  EXPECT_EQ(parse_duration("15s"), milliseconds(15000));
  EXPECT_EQ(parse_duration("1m30s"), milliseconds(90000));
  EXPECT_EQ(parse_duration("2h"), milliseconds(7200000));
  EXPECT_EQ(parse_duration("250ms"), milliseconds(250));
  EXPECT_EQ(parse_duration("1s500ms"), milliseconds(1500));
  EXPECT_EQ(parse_duration("7"), milliseconds(7000));
  for (const char* bad : {"", "s", "1x", "-1s", "1m30", "1.5s", "ms", "1 s", "99999999999999h"})
    EXPECT_EQ(parse_duration(bad), std::nullopt) << bad;
  EXPECT_EQ(format_duration(milliseconds(15000)), "15s");
  EXPECT_EQ(format_duration(milliseconds(120000)), "2m");
  EXPECT_EQ(format_duration(milliseconds(500)), "500ms");
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
  const ServeConfig c =
      parse_serve_args(cluster({"--kubeconfig", "/etc/kube/config", "--namespaces", "ecommerce,warehouse",
                                "--on-api-error", "allow-from-cache", "--claim-ttl", "60"}));
  EXPECT_EQ(c.kubeconfig, "/etc/kube/config");
  EXPECT_EQ(c.namespaces, (std::vector<std::string>{"ecommerce", "warehouse"}));
  EXPECT_EQ(c.server.handler.on_api_error, admission::OnApiError::AllowFromCache);
  EXPECT_EQ(c.server.handler.claim_ttl, seconds(60));
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
        UsageCase{"policy_with_a_file", standalone({"--policy-configmap", "cdc-guard/policy"}),
                  "--policy-configmap needs --registry-configmap"},
        UsageCase{"policy_without_namespace", cluster({"--policy-configmap", "policy"}),
                  "--policy-configmap must be NAMESPACE/NAME, got \"policy\""},
        UsageCase{"policy_is_the_state", cluster({"--policy-configmap", "cdc-guard/registry"}),
                  "--policy-configmap must name another ConfigMap than --registry-configmap (the state)"},
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
        UsageCase{"positional", standalone({"extra"}), "unexpected argument \"extra\""},
        UsageCase{"cluster_name_with_a_file", standalone({"--cluster-name", "eu"}),
                  "--cluster-name needs --registry-configmap"},
        UsageCase{"leader_election_with_a_file", standalone({"--leader-election=false"}),
                  "--leader-election needs --registry-configmap"},
        UsageCase{"bad_cluster_name", cluster({"--cluster-name", "prod eu"}),
                  "--cluster-name may hold only letters, digits, '.', '_' and '-', got \"prod eu\""},
        UsageCase{"bad_leader_election", cluster({"--leader-election=maybe"}),
                  "--leader-election must be true or false, got \"maybe\""},
        UsageCase{
            "bad_lease_name", cluster({"--leader-election-name", "Lease_1"}),
            "--leader-election-name \"Lease_1\" is not a valid Lease name: it must consist of lowercase "
            "letters, digits, '-' and '.', and each dot-separated part must start and end with a letter or "
            "digit"},
        UsageCase{
            "bad_duration", cluster({"--lease-duration", "15 s"}),
            "--lease-duration must be a duration from 100ms to 1h (like 500ms, 15s, 1m30s), got \"15 s\""},
        UsageCase{"lease_not_longer_than_renew", cluster({"--lease-duration", "10s"}),
                  "--lease-duration must be longer than --renew-deadline"},
        UsageCase{"renew_not_longer_than_retry", cluster({"--retry-period", "9s"}),
                  "--renew-deadline must be longer than 1.2 x --retry-period"},
        UsageCase{
            "resync_too_long", cluster({"--resync-period", "25h"}),
            "--resync-period must be a duration from 10ms to 24h (like 500ms, 15s, 1m30s), got \"25h\""}),
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
