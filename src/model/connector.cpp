#include "cdcguard/model/connector.hpp"

namespace cdcguard {

ServerIdValue parse_server_id(std::string_view text, bool present) {
  ServerIdValue v;
  v.text = std::string(text);
  if (!present || text.empty()) {
    v.state = ServerIdValue::State::Missing;
    return v;
  }
  if (text == "auto") {
    v.state = ServerIdValue::State::Auto;
    return v;
  }
  if (text.find("${") != std::string_view::npos) {
    v.state = ServerIdValue::State::Placeholder;
    return v;
  }
  // Plain decimal digits only: no sign, no spaces, no exponent. Debezium 2.x only
  // checks > 0, so 4294967296 would get through it; MySQL's server_id is 32-bit.
  // A leading zero is refused: kubectl's YAML 1.1 reads an unquoted 0123 as
  // octal 83, so the cluster and this check would disagree on the id.
  if (text.size() > 1 && text.front() == '0') {
    v.state = ServerIdValue::State::Invalid;
    return v;
  }
  std::uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') {
      v.state = ServerIdValue::State::Invalid;
      return v;
    }
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
    if (value > 4294967295ULL) {
      v.state = ServerIdValue::State::Invalid;
      return v;
    }
  }
  if (value == 0) {
    v.state = ServerIdValue::State::Invalid;
    return v;
  }
  v.state = ServerIdValue::State::Valid;
  v.id = static_cast<std::uint32_t>(value);
  return v;
}

bool ConnectorFacts::is_debezium() const {
  return connector_class.starts_with("io.debezium.connector.");
}

bool ConnectorFacts::reads_binlog() const {
  return connector_class == kMySqlConnectorClass || connector_class == kMariaDbConnectorClass;
}

std::string fold_topic_name(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c == '.') c = '_';
  }
  return out;
}

std::string renamed_in_2x(std::string_view key) {
  if (key == "database.server.name") return "topic.prefix";
  constexpr std::string_view kHistory = "database.history";
  if (key == kHistory) return "schema.history.internal";
  if (key.starts_with(kHistory) && key.size() > kHistory.size() && key[kHistory.size()] == '.')
    return "schema.history.internal" + std::string(key.substr(kHistory.size()));
  return {};
}

std::string schema_history_class_in_2x(std::string_view value) {
  if (value == "io.debezium.relational.history.KafkaDatabaseHistory")
    return "io.debezium.storage.kafka.history.KafkaSchemaHistory";
  if (value == "io.debezium.relational.history.FileDatabaseHistory")
    return "io.debezium.storage.file.history.FileSchemaHistory";
  if (value == "io.debezium.relational.history.MemoryDatabaseHistory")
    return "io.debezium.relational.history.MemorySchemaHistory";
  return std::string(value);
}

const LegacyConfigKey* ConnectorFacts::legacy_key(std::string_view key) const {
  for (const auto& k : legacy_keys) {
    if (k.key == key) return &k;
  }
  return nullptr;
}

bool ConnectorFacts::kafka_schema_history() const {
  if (history_class.empty()) return true;
  return history_class.ends_with("KafkaSchemaHistory") || history_class.ends_with("KafkaDatabaseHistory");
}

}  // namespace cdcguard
