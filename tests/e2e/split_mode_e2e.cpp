// Split mode (`serve --policy-configmap`, DESIGN.md "Policy and state") on a
// control plane of its own, installed as the Helm chart runs it: the policy
// ConfigMap made by the installer, no state ConfigMap, and the split RBAC
// (the policy read-only by name, the state by name, create on ConfigMaps).
// cdc-guard creates the state and writes only there; a policy replaced with
// kubectl is obeyed by the next admissions; the state keeps every entry.
#include "cdcguard/model/registry_writer.hpp"
#include "e2e/e2e_helpers.hpp"

namespace cdcguard::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The installer's registry, with an id documented for shop/payments-cdc before it is deployed.
std::string split_policy() {
  return default_registry() +
         "  - {connector: shop/payments-cdc, serverId: 184005, database: payments, status: Reserved, owner: "
         "shop, date: 2026-01-01}\n";
}

class SplitMode : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = std::make_unique<ControlPlane>(kube_tools_dir(), world().dir / "split-cluster");
    InstallOptions o;
    o.strimzi = world().strimzi;
    o.replicas = 2;
    o.split = true;
    o.registry_yaml = split_policy();
    o.extra_serve_args = {"--claim-ttl=10", "--resync-period=2s", "--lease-duration=8s",
                          "--renew-deadline=5s", "--retry-period=1s"};
    install_ = std::make_unique<CdcGuardInstall>(*cluster_, o);
    for (const char* ns : {"shop", "billing"}) cluster_->must({"create", "namespace", ns});
  }
  static void TearDownTestSuite() {
    install_.reset();
    cluster_.reset();
  }

  static ProcessResult create_connector(const ConnectorSpec& spec, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"create", "-f", "-"};
    args.insert(args.end(), extra.begin(), extra.end());
    return cluster_->kubectl(args, connector_yaml(spec));
  }
  static std::string get(const std::string& configmap, const std::string& jsonpath) {
    const auto r = cluster_->kubectl(
        {"get", "configmap", configmap, "-n", kReleaseNamespace, "-o=jsonpath=" + jsonpath});
    return r.ok() ? r.out : "";
  }
  static Registry state() { return parse_registry(install_->registry_yaml(), "state ConfigMap"); }
  static std::string logs(const ProcessResult& r) { return r.describe() + install_->replica_logs(); }
  // Replaces the policy ConfigMap, as `helm upgrade` does, with `registry_yaml`.
  static void replace_policy(const std::string& registry_yaml) {
    write_file(install_->dir() / "policy.yaml", registry_yaml);
    const std::string manifest =
        cluster_->must({"create", "configmap", kPolicyConfigMap, "-n", kReleaseNamespace,
                        "--from-file=registry.yaml=" + (install_->dir() / "policy.yaml").string(),
                        "--dry-run=client", "-o=yaml"});
    cluster_->must({"replace", "-f", "-"}, manifest);
  }

  static std::unique_ptr<ControlPlane> cluster_;
  static std::unique_ptr<CdcGuardInstall> install_;
};

std::unique_ptr<ControlPlane> SplitMode::cluster_;
std::unique_ptr<CdcGuardInstall> SplitMode::install_;

TEST_F(SplitMode, TheStateIsCreatedWrittenAndKeptWhileThePolicyIsReplaced) {
  // The ServiceAccount may not write the policy: whatever cdc-guard does, it cannot.
  const auto can =
      cluster_->kubectl_as(install_->serviceaccount_kubeconfig(),
                           {"auth", "can-i", "update", "configmap/cdc-guard-policy", "-n", "cdc-guard"});
  EXPECT_EQ(can.out, "no\n") << can.describe();

  // cdc-guard created the state, labelled, with no entries.
  ASSERT_TRUE(eventually([] {
    return get(kRegistryConfigMap, "{.metadata.labels.app\\.kubernetes\\.io/managed-by}") == "cdc-guard";
  })) << install_->replica_logs();
  EXPECT_TRUE(state().entries.empty()) << install_->registry_yaml();

  // A connector through kubectl: its claim lands in the state.
  const auto orders = create_connector({.ns = "shop", .name = "orders-cdc", .server_id = 184010});
  ASSERT_TRUE(orders.ok()) << logs(orders);
  ASSERT_TRUE(live_entry(state(), "shop/orders-cdc").has_value()) << install_->registry_yaml();
  EXPECT_EQ(live_entry(state(), "shop/orders-cdc")->server_id, 184010u);
  // The connector the policy documented (Reserved): deployed with its id, it
  // becomes Active in the state, while the policy still says Reserved.
  const auto payments = create_connector({.ns = "shop", .name = "payments-cdc", .server_id = 184005});
  ASSERT_TRUE(payments.ok()) << logs(payments);
  EXPECT_TRUE(eventually([] {
    const auto e = live_entry(state(), "shop/payments-cdc");
    return e && e->status == EntryStatus::Active && e->server_id == 184005u;
  })) << install_->registry_yaml();
  EXPECT_TRUE(eventually([] {
    const auto e = live_entry(state(), "shop/orders-cdc");
    return e && e->status == EntryStatus::Active;
  })) << install_->registry_yaml();
  EXPECT_EQ(get(kPolicyConfigMap, "{.data.registry\\.yaml}"), split_policy()) << "cdc-guard wrote the policy";
  EXPECT_THAT(get(kRegistryConfigMap, "{.data.registry\\.md}"), HasSubstr("| legacy/retired-cdc | 184900 |"))
      << "registry.md shows the union";

  // The policy replaced (helm upgrade): a team for namespace billing and one more reserved id.
  Registry policy = parse_registry(split_policy(), "policy");
  policy.teams.push_back(Team{"billing", {"billing"}, IdRange{184200, 184299}, 0});
  policy.reserved.push_back(Reservation{184011, "a DBA's replica", 0});
  replace_policy(render_registry_yaml(policy));
  const std::string policy_version = get(kPolicyConfigMap, "{.metadata.resourceVersion}");
  // Seen as soon as the watches deliver it (a dry run claims nothing).
  ASSERT_TRUE(eventually([] {
    const auto r =
        create_connector({.ns = "shop", .name = "probe-cdc", .server_id = 184011}, {"--dry-run=server"});
    return !r.ok() && r.err.find("server-id-reserved") != std::string::npos;
  })) << install_->replica_logs();
  const auto reserved = create_connector({.ns = "shop", .name = "refunds-cdc", .server_id = 184011});
  ASSERT_FALSE(reserved.ok()) << reserved.describe();
  EXPECT_THAT(reserved.err, HasSubstr("server-id-reserved"));
  const auto outside = create_connector({.ns = "billing", .name = "invoices-cdc", .server_id = 184012});
  ASSERT_FALSE(outside.ok()) << outside.describe();
  EXPECT_THAT(outside.err, HasSubstr("server-id-outside-team-range"));
  const auto assigned = create_connector({.ns = "billing", .name = "ledger-cdc"});
  ASSERT_TRUE(assigned.ok()) << logs(assigned);
  EXPECT_EQ(cluster_->must({"get", "kafkaconnector", "ledger-cdc", "-n", "billing",
                            "-o=jsonpath={.spec.config.database\\.server\\.id}"}),
            "184200")
      << "the new team's range";

  // The state kept every entry; the policy is as replaced.
  const Registry after = state();
  EXPECT_TRUE(live_entry(after, "shop/orders-cdc").has_value()) << install_->registry_yaml();
  EXPECT_TRUE(live_entry(after, "shop/payments-cdc").has_value()) << install_->registry_yaml();
  EXPECT_TRUE(live_entry(after, "billing/ledger-cdc").has_value()) << install_->registry_yaml();
  EXPECT_TRUE(entries_of(after, "shop/refunds-cdc").empty());
  EXPECT_TRUE(after.teams.empty() && after.reserved.empty()) << "the state holds entries only";
  EXPECT_EQ(get(kPolicyConfigMap, "{.metadata.resourceVersion}"), policy_version);
  EXPECT_THAT(install_->replica_logs(100000), Not(HasSubstr("forbidden")));
}

}  // namespace
}  // namespace cdcguard::e2e
