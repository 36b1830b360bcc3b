#include "cdcguard/model/rule_ids.hpp"

#include <algorithm>
#include <array>

namespace cdcguard::rule {

namespace {
constexpr std::array kAll{
    kServerIdMissing,           kServerIdInvalid,          kServerIdUnresolvable,
    kServerIdOutOfRange,        kServerIdOutsideTeamRange, kServerIdReserved,
    kServerIdDuplicate,         kServerIdEmbargoed,        kServerIdUnregistered,
    kConfigGenerationMixed,     kTopicPrefixMissing,       kTopicPrefixInvalid,
    kTopicPrefixDuplicate,      kTopicPrefixOverlap,       kSchemaHistoryTopicMissing,
    kSchemaHistoryTopicInvalid, kSchemaHistoryTopicShared, kSchemaHistoryTopicCollides,
    kTopicNameCollision,        kConnectGroupIdDuplicate,  kConnectStorageTopicDuplicate,
};
}  // namespace

std::span<const std::string_view> all() {
  return kAll;
}

bool is_known(std::string_view id) {
  return std::find(kAll.begin(), kAll.end(), id) != kAll.end();
}

}  // namespace cdcguard::rule
