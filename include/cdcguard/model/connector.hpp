#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// What the rules read about a Strimzi KafkaConnector or KafkaConnect: a few
// facts, not the whole object.
namespace cdcguard {

struct SourceLocation {
  std::string file;  // "" when the object did not come from a file (admission)
  int line = 0;      // 1-based; 0 when unknown
};

// `database.server.id` as written, and what it is.
struct ServerIdValue {
  enum class State {
    Missing,      // no key, or an empty value
    Auto,         // "auto": asks /mutate for an id
    Placeholder,  // ${provider:path:key}: cannot be checked offline
    Invalid,      // not a decimal integer in 1..4294967295
    Valid,
  };
  State state = State::Missing;
  std::string text;      // the value as written (numbers as their digits)
  std::uint32_t id = 0;  // when Valid
};

ServerIdValue parse_server_id(std::string_view text, bool present);

inline constexpr std::string_view kMySqlConnectorClass = "io.debezium.connector.mysql.MySqlConnector";
inline constexpr std::string_view kMariaDbConnectorClass = "io.debezium.connector.mariadb.MariaDbConnector";

// A config value, the key it came from and the line it sits on.
struct ConfigFact {
  std::string value;
  std::string key;  // e.g. "topic.prefix" or the 1.x "database.server.name"
  int line = 0;
  bool from_template = false;  // filled from rules.schemaHistoryTopicTemplate, as /mutate would
  bool present() const { return !key.empty(); }
};

// Debezium 2.0 renamed `database.server.name` to `topic.prefix` and
// `database.history.*` to `schema.history.internal.*`; each generation ignores
// the other's names. What a config's names say it is written for.
enum class ConfigGeneration {
  Unknown,  // none of the renamed keys: read as 2.x (nothing differs)
  V1,       // 1.x names only
  V2,       // a 2.x-only name (topic.prefix, schema.history.internal*, driver.*) or a 2.x-only class
};

// A 1.x name in a 2.x config whose 2.x name is not set: Debezium 2.x ignores
// it, so the setting is lost. (A leftover next to its 2.x name is harmless.)
struct LegacyConfigKey {
  std::string key;      // e.g. "database.server.name"
  std::string renamed;  // its 2.x name, e.g. "topic.prefix"
  std::string value;    // kept for database.server.name, database.history and
                        // database.history.kafka.topic only (others may hold secrets)
  int line = 0;
};

// A topic name as Kafka compares names for collisions: '.' and '_' are one
// character (metric names cannot tell them apart), so "shop.orders" and
// "shop_orders" fold to the same "shop_orders".
std::string fold_topic_name(std::string_view name);

// The 2.x name of a 1.x key ("" when `key` is none of the renamed ones).
std::string renamed_in_2x(std::string_view key);
// The 2.x class of a 1.x schema history class (the value is kept when unknown).
std::string schema_history_class_in_2x(std::string_view value);

struct ConnectorFacts {
  std::string namespace_name;
  std::string name;
  std::string uid;
  std::string api_version;  // "kafka.strimzi.io/v1" or ".../v1beta2"
  std::string cluster;      // label strimzi.io/cluster
  std::string connector_class;
  SourceLocation location;  // the object (its apiVersion line)

  ServerIdValue server_id;
  int server_id_line = 0;
  ConfigFact topic_prefix;  // topic.prefix, else database.server.name
  std::string topic_delimiter = ".";
  int topic_delimiter_line = 0;
  ConfigFact history_topic;   // schema.history.internal.kafka.topic, else database.history.kafka.topic
  std::string history_class;  // schema.history.internal, else database.history
  std::string database_hostname;
  std::string database_port;
  std::string database_include_list;
  std::string table_include_list;

  ConfigGeneration generation = ConfigGeneration::Unknown;
  std::string generation_marker;  // V2: the first 2.x-only key, or the class when only 2.x has it
  int generation_marker_line = 0;
  std::vector<LegacyConfigKey> legacy_keys;  // V2 only

  std::string key() const { return namespace_name + "/" + name; }
  // Any Debezium connector (io.debezium.connector.*): topic rules apply.
  bool is_debezium() const;
  // Reads a MySQL binlog (MySQL or MariaDB connector): server-id rules apply.
  bool reads_binlog() const;
  // Schema history kept in a Kafka topic (the default when no class is set).
  bool kafka_schema_history() const;
  // A 1.x key of this (2.x) config that 2.x ignores, if kept.
  const LegacyConfigKey* legacy_key(std::string_view key) const;
  // The line to point at for a field (falls back to the object's line).
  SourceLocation at(int line) const { return {location.file, line > 0 ? line : location.line}; }
};

struct ConnectTopicFact {
  std::string value;
  std::string path;  // "spec.config.offset.storage.topic" or "spec.offsetStorageTopic"
  int line = 0;
  bool defaulted = false;  // Strimzi's default, not written in the object
};

// A Strimzi KafkaConnect cluster, for the connect-* rules.
struct ConnectClusterFacts {
  std::string namespace_name;
  std::string name;
  std::string api_version;
  SourceLocation location;
  std::vector<std::string> bootstrap_servers;  // "host:port", trimmed, lower-cased host
  int bootstrap_line = 0;
  ConnectTopicFact group_id;
  ConnectTopicFact offset_topic;
  ConnectTopicFact config_topic;
  ConnectTopicFact status_topic;

  std::string key() const { return namespace_name + "/" + name; }
};

}  // namespace cdcguard
