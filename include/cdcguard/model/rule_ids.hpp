#pragma once

#include <span>
#include <string_view>

// The stable rule ids of DESIGN.md. Registries, exceptions, JSON output and
// metrics all name rules by these strings.
namespace cdcguard::rule {

inline constexpr std::string_view kServerIdMissing = "server-id-missing";
inline constexpr std::string_view kServerIdInvalid = "server-id-invalid";
inline constexpr std::string_view kServerIdUnresolvable = "server-id-unresolvable";
inline constexpr std::string_view kServerIdOutOfRange = "server-id-out-of-range";
inline constexpr std::string_view kServerIdOutsideTeamRange = "server-id-outside-team-range";
inline constexpr std::string_view kServerIdReserved = "server-id-reserved";
inline constexpr std::string_view kServerIdDuplicate = "server-id-duplicate";
inline constexpr std::string_view kServerIdEmbargoed = "server-id-embargoed";
inline constexpr std::string_view kServerIdUnregistered = "server-id-unregistered";
inline constexpr std::string_view kConfigGenerationMixed = "config-generation-mixed";
inline constexpr std::string_view kTopicPrefixMissing = "topic-prefix-missing";
inline constexpr std::string_view kTopicPrefixInvalid = "topic-prefix-invalid";
inline constexpr std::string_view kTopicPrefixDuplicate = "topic-prefix-duplicate";
inline constexpr std::string_view kTopicPrefixOverlap = "topic-prefix-overlap";
inline constexpr std::string_view kSchemaHistoryTopicMissing = "schema-history-topic-missing";
inline constexpr std::string_view kSchemaHistoryTopicInvalid = "schema-history-topic-invalid";
inline constexpr std::string_view kSchemaHistoryTopicShared = "schema-history-topic-shared";
inline constexpr std::string_view kSchemaHistoryTopicCollides = "schema-history-topic-collides";
inline constexpr std::string_view kTopicNameCollision = "topic-name-collision";
inline constexpr std::string_view kConnectGroupIdDuplicate = "connect-group-id-duplicate";
inline constexpr std::string_view kConnectStorageTopicDuplicate = "connect-storage-topic-duplicate";

std::span<const std::string_view> all();
bool is_known(std::string_view id);

}  // namespace cdcguard::rule
