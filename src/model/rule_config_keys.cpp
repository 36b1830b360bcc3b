#include <algorithm>
#include <array>
#include <string_view>

#include "cdcguard/model/manifest.hpp"

namespace cdcguard {

bool is_rule_config_key(std::string_view key) {
  // Kept in the order of DESIGN.md "Connector facts", then KafkaConnect.
  static constexpr std::array<std::string_view, 18> kKeys = {
      "database.server.id",
      "topic.prefix",
      "database.server.name",
      "topic.delimiter",
      "schema.history.internal.kafka.topic",
      "database.history.kafka.topic",
      "schema.history.internal",
      "database.history",
      "database.hostname",
      "database.port",
      "database.include.list",
      "database.whitelist",
      "table.include.list",
      "table.whitelist",
      "group.id",
      "offset.storage.topic",
      "config.storage.topic",
      "status.storage.topic",
  };
  if (std::find(kKeys.begin(), kKeys.end(), key) != kKeys.end()) return true;
  // config-generation-mixed reads which generation's names a config uses.
  for (const std::string_view family : {"schema.history.internal.", "database.history.", "driver."}) {
    if (key.starts_with(family)) return true;
  }
  return false;
}

}  // namespace cdcguard
