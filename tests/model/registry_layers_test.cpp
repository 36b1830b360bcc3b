// The policy/state union and what a write puts back into the state
// (DESIGN.md "Policy and state, like spec and status").
#include "cdcguard/model/registry_layers.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cdcguard/model/registry_parser.hpp"
#include "cdcguard/model/registry_writer.hpp"

namespace cdcguard {
namespace {

const char* kPolicy = R"(rules:
  range: {from: 184000, to: 184999}
  embargoDays: 45
teams:
  - {name: team-a, namespaces: [ecommerce], range: {from: 184000, to: 184099}}
reserved:
  - {serverId: 184999, reason: primary}
exceptions:
  - {connector: legacy/old-cdc, rules: [topic-prefix-overlap]}
entries:
  - {connector: ecommerce/orders-cdc, serverId: 184001, status: Active, date: 2026-01-15}
  - {connector: ecommerce/payments-cdc, serverId: 184005, status: Reserved, date: 2026-11-01}
)";

const char* kState = R"(entries:
  - {connector: ecommerce/payments-cdc, serverId: 184005, status: Active, date: 2026-11-20, cluster: eu}
  - {connector: ecommerce/billing-cdc, serverId: 184002, status: Active, date: 2026-11-21}
)";

std::vector<std::string> connectors(const std::vector<RegistryEntry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) out.push_back(e.connector + " " + std::string(to_string(e.status)));
  return out;
}

class RegistryLayers : public testing::Test {
 protected:
  Registry policy_ = parse_registry(kPolicy, "policy");
  Registry state_ = parse_registry(kState, "state");
};

TEST_F(RegistryLayers, TheUnionIsThePolicysSectionsAndEntriesWithTheStatesOverridingPerConnector) {
  const Registry merged = merge_registry_layers(policy_, state_);
  EXPECT_EQ(merged.rules, policy_.rules);
  EXPECT_EQ(merged.teams, policy_.teams);
  EXPECT_EQ(merged.reserved, policy_.reserved);
  EXPECT_EQ(merged.exceptions, policy_.exceptions);
  EXPECT_EQ(connectors(merged.entries),
            (std::vector<std::string>{"ecommerce/orders-cdc Active", "ecommerce/payments-cdc Active",
                                      "ecommerce/billing-cdc Active"}));
  EXPECT_TRUE(registry_problems(merged).empty());
}

TEST_F(RegistryLayers, TheStatesOwnSectionsAreNotUsed) {
  Registry state = state_;
  state.teams.push_back(Team{"old", {"ecommerce"}, IdRange{1, 9}, 0});
  state.rules.embargo_days = 1;
  EXPECT_TRUE(has_policy_sections(state));
  EXPECT_FALSE(has_policy_sections(state_));
  const Registry merged = merge_registry_layers(policy_, state);
  EXPECT_EQ(merged.teams, policy_.teams);
  EXPECT_EQ(merged.rules.embargo_days, 45);
}

TEST_F(RegistryLayers, TheStateGetsOnlyTheConnectorsWhoseEntriesDifferFromThePolicys) {
  Registry merged = merge_registry_layers(policy_, state_);
  // Unchanged: the state's two connectors, nothing of the policy's.
  EXPECT_EQ(connectors(state_entries_for(merged, policy_)), connectors(state_.entries));
  // A policy entry changed (orders-cdc decommissioned): it joins the state.
  for (auto& e : merged.entries)
    if (e.connector == "ecommerce/orders-cdc") {
      e.status = EntryStatus::Decommissioned;
      e.decommissioned_at = TimePoint{Date{std::chrono::year{2026} / 11 / 30}};
    }
  EXPECT_EQ(connectors(state_entries_for(merged, policy_)),
            (std::vector<std::string>{"ecommerce/orders-cdc Decommissioned", "ecommerce/payments-cdc Active",
                                      "ecommerce/billing-cdc Active"}));
}

TEST_F(RegistryLayers, AStateEntryEqualToThePolicysIsDroppedAndThePolicyShowsThrough) {
  Registry merged = merge_registry_layers(policy_, state_);
  for (auto& e : merged.entries)
    if (e.connector == "ecommerce/payments-cdc") e = policy_.entries[1];
  EXPECT_EQ(connectors(state_entries_for(merged, policy_)),
            (std::vector<std::string>{"ecommerce/billing-cdc Active"}));
}

// A connector's entries are replaced as a whole: history and a new id together.
TEST_F(RegistryLayers, AllEntriesOfAConnectorGoToTheStateTogether) {
  Registry merged = merge_registry_layers(policy_, Registry{});
  RegistryEntry again = policy_.entries[0];
  again.server_id = 184003;
  merged.entries[0].status = EntryStatus::Decommissioned;
  merged.entries[0].decommissioned_at = TimePoint{Date{std::chrono::year{2026} / 11 / 30}};
  merged.entries.push_back(again);
  const auto state = state_entries_for(merged, policy_);
  ASSERT_EQ(state.size(), 2u);
  Registry written;
  written.entries = state;
  const Registry after = merge_registry_layers(policy_, written);
  EXPECT_EQ(connectors(after.entries),
            (std::vector<std::string>{"ecommerce/payments-cdc Reserved",
                                      "ecommerce/orders-cdc Decommissioned", "ecommerce/orders-cdc Active"}));
}

TEST_F(RegistryLayers, APolicyEntryCannotBeRemovedThroughTheState) {
  Registry merged = merge_registry_layers(policy_, state_);
  std::erase_if(merged.entries, [](const RegistryEntry& e) {
    return e.connector == "ecommerce/orders-cdc" || e.connector == "ecommerce/billing-cdc" ||
           e.connector == "ecommerce/payments-cdc";
  });
  std::vector<std::string> unremovable;
  Registry state;
  state.entries = state_entries_for(merged, policy_, &unremovable);
  EXPECT_TRUE(state.entries.empty()) << "a state-only entry is removed, policy ones cannot be";
  EXPECT_EQ(unremovable, (std::vector<std::string>{"ecommerce/orders-cdc", "ecommerce/payments-cdc"}));
  EXPECT_EQ(connectors(merge_registry_layers(policy_, state).entries), connectors(policy_.entries));
}

TEST_F(RegistryLayers, TheStateDocumentIsEntriesOnlyAndReadsBack) {
  EXPECT_EQ(render_checked_entries_yaml(Registry{}), "entries: []\n");
  EXPECT_TRUE(parse_registry(render_checked_entries_yaml(Registry{}), "state").entries.empty());
  const std::string text = render_checked_entries_yaml(state_);
  EXPECT_TRUE(text.starts_with("entries:\n  - {connector: ecommerce/billing-cdc, serverId: 184002")) << text;
  EXPECT_EQ(text.find("rules"), std::string::npos) << text;
  const Registry back = parse_registry(text, "state");
  EXPECT_EQ(back.entries.size(), 2u);
  EXPECT_FALSE(has_policy_sections(back));
  Registry broken = state_;
  broken.entries[0].connector = "not a key";
  EXPECT_THROW(render_checked_entries_yaml(broken), RegistryError);
}

}  // namespace
}  // namespace cdcguard
