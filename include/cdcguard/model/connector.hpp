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
  ConfigFact history_topic;   // schema.history.internal.kafka.topic, else database.history.kafka.topic
  std::string history_class;  // schema.history.internal, else database.history
  std::string database_hostname;
  std::string database_port;
  std::string database_include_list;

  std::string key() const { return namespace_name + "/" + name; }
  // Any Debezium connector (io.debezium.connector.*): topic rules apply.
  bool is_debezium() const;
  // Reads a MySQL binlog (MySQL or MariaDB connector): server-id rules apply.
  bool reads_binlog() const;
  // Schema history kept in a Kafka topic (the default when no class is set).
  bool kafka_schema_history() const;
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
