#include <algorithm>
#include <cctype>

#include "cdcguard/model/manifest.hpp"

namespace cdcguard {
namespace {

constexpr std::string_view kStrimziGroup = "kafka.strimzi.io/";

bool served_strimzi_version(std::string_view api_version) {
  return api_version == "kafka.strimzi.io/v1" || api_version == "kafka.strimzi.io/v1beta2";
}

std::string scalar_or_empty(const YamlNode* node) {
  return node && node->is_scalar() ? node->scalar() : std::string{};
}

// A config value as Strimzi passes it on: a string, whatever its YAML type.
// Returns false when the key is absent.
bool config_text(const YamlNode& config, std::string_view key, std::string& value, int& line) {
  const YamlNode* node = config.find(key);
  if (!node) return false;
  line = config.key_line(key);
  if (node->is_scalar()) {
    value = node->scalar();
  } else if (node->is_null()) {
    value.clear();
  } else {
    value = node->is_map() ? "<a map>" : "<a list>";
  }
  return true;
}

ConfigFact first_config(const YamlNode& config, std::initializer_list<std::string_view> keys) {
  ConfigFact fact;
  for (const auto key : keys) {
    std::string value;
    int line = 0;
    if (config_text(config, key, value, line) && !value.empty()) {
      fact.value = std::move(value);
      fact.key = std::string(key);
      fact.line = line;
      return fact;
    }
  }
  return fact;
}

// Names only Debezium 2.x+ reads: topic.prefix, schema.history.internal[.*], driver.*.
bool only_in_2x(std::string_view key) {
  constexpr std::string_view kHistory = "schema.history.internal";
  return key == "topic.prefix" || key == kHistory ||
         (key.starts_with(kHistory) && key.size() > kHistory.size() && key[kHistory.size()] == '.') ||
         key.starts_with("driver.");
}

// Which Debezium generation the config's names are written for, and the 1.x
// names a 2.x config holds without their 2.x names (Debezium 2.x ignores them).
void read_generation(const YamlNode& config, int class_line, ConnectorFacts& f) {
  bool v1_names = false;
  for (const auto& [key, node] : config.entries()) {
    if (only_in_2x(key)) {
      if (f.generation_marker.empty()) {
        f.generation_marker = key;
        f.generation_marker_line = config.key_line(key);
      }
    } else if (!renamed_in_2x(key).empty()) {
      v1_names = true;
    }
  }
  // The MariaDB connector exists since Debezium 2.5 only.
  if (f.generation_marker.empty() && f.connector_class == kMariaDbConnectorClass) {
    f.generation_marker = "class " + f.connector_class;
    f.generation_marker_line = class_line;
  }
  f.generation = !f.generation_marker.empty() ? ConfigGeneration::V2
                 : v1_names                   ? ConfigGeneration::V1
                                              : ConfigGeneration::Unknown;
  if (f.generation != ConfigGeneration::V2 || !v1_names) return;
  for (const auto& [key, node] : config.entries()) {
    std::string renamed = renamed_in_2x(key);
    if (renamed.empty()) continue;
    std::string value;
    int line = 0;
    std::string renamed_value;
    int renamed_line = 0;
    if (config_text(config, renamed, renamed_value, renamed_line) && !renamed_value.empty()) continue;
    config_text(config, key, value, line);
    LegacyConfigKey k;
    k.key = key;
    k.renamed = std::move(renamed);
    if (key == "database.server.name" || key == "database.history" || key == "database.history.kafka.topic")
      k.value = std::move(value);
    k.line = line;
    f.legacy_keys.push_back(std::move(k));
  }
}

struct ObjectHeader {
  std::string api_version;
  std::string kind;
  std::string namespace_name;
  std::string name;
  const YamlNode* metadata = nullptr;
  const YamlNode* spec = nullptr;
};

bool read_header(const YamlNode& object, const SourceLocation& where, std::string_view default_namespace,
                 ObjectHeader& h, std::vector<ManifestError>& errors) {
  h.api_version = scalar_or_empty(object.find("apiVersion"));
  h.kind = scalar_or_empty(object.find("kind"));
  h.metadata = object.find("metadata");
  if (!h.metadata || !h.metadata->is_map()) {
    errors.push_back({where, h.kind + " has no metadata"});
    return false;
  }
  h.name = scalar_or_empty(h.metadata->find("name"));
  if (h.name.empty()) {
    errors.push_back({where, h.kind + " has no metadata.name"});
    return false;
  }
  h.namespace_name = scalar_or_empty(h.metadata->find("namespace"));
  if (h.namespace_name.empty()) h.namespace_name = std::string(default_namespace);
  h.spec = object.find("spec");
  if (h.spec && !h.spec->is_map() && !h.spec->is_null()) {
    errors.push_back({{where.file, h.spec->line()},
                      h.kind + " " + h.namespace_name + "/" + h.name + ": spec must be a map"});
    return false;
  }
  return true;
}

std::vector<std::string> split_bootstrap(std::string_view text) {
  std::vector<std::string> servers;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view part = text.substr(start, end - start);
    while (!part.empty() && std::isspace(static_cast<unsigned char>(part.front()))) part.remove_prefix(1);
    while (!part.empty() && std::isspace(static_cast<unsigned char>(part.back()))) part.remove_suffix(1);
    if (!part.empty()) {
      std::string s(part);
      std::transform(s.begin(), s.end(), s.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      servers.push_back(std::move(s));
    }
    start = end + 1;
  }
  std::sort(servers.begin(), servers.end());
  servers.erase(std::unique(servers.begin(), servers.end()), servers.end());
  return servers;
}

// `kind: List`, or a typed list such as KafkaConnectorList.
bool is_list(const YamlNode& object) {
  const std::string kind = scalar_or_empty(object.find("kind"));
  return kind == "List" || (kind.ends_with("List") && object.find("items"));
}

void visit(const YamlNode& object, const std::string& file, std::string_view default_namespace,
           ManifestSet& out, int depth) {
  if (!object.is_map()) return;
  const SourceLocation where{file, object.line()};
  const std::string api_version = scalar_or_empty(object.find("apiVersion"));
  const std::string kind = scalar_or_empty(object.find("kind"));
  if (is_list(object)) {
    const YamlNode* items = object.find("items");
    if (depth > 4 || !items) return;
    if (!items->is_sequence()) {
      if (!items->is_null()) out.errors.push_back({where, kind + ": items must be a list"});
      return;
    }
    for (const auto& item : items->items()) visit(item, file, default_namespace, out, depth + 1);
    return;
  }
  if (kind != "KafkaConnector" && kind != "KafkaConnect") return;
  if (!api_version.starts_with(kStrimziGroup)) return;  // somebody else's kind of that name
  if (!served_strimzi_version(api_version)) {
    out.errors.push_back(
        {where, kind + " with apiVersion " + api_version +
                    " is not supported: use kafka.strimzi.io/v1 or kafka.strimzi.io/v1beta2"});
    return;
  }
  if (kind == "KafkaConnector") {
    if (auto facts = connector_from_object(object, where, default_namespace, out.errors)) {
      out.connectors.push_back(std::move(*facts));
    }
  } else {
    if (auto facts = connect_cluster_from_object(object, where, default_namespace, out.errors)) {
      out.connect_clusters.push_back(std::move(*facts));
    }
  }
}

}  // namespace

std::optional<ConnectorFacts> connector_from_object(const YamlNode& object, const SourceLocation& where,
                                                    std::string_view default_namespace,
                                                    std::vector<ManifestError>& errors) {
  ObjectHeader h;
  if (!read_header(object, where, default_namespace, h, errors)) return std::nullopt;
  ConnectorFacts f;
  f.namespace_name = std::move(h.namespace_name);
  f.name = std::move(h.name);
  f.api_version = std::move(h.api_version);
  f.location = where;
  f.uid = scalar_or_empty(h.metadata->find("uid"));
  if (const YamlNode* labels = h.metadata->find("labels"))
    f.cluster = scalar_or_empty(labels->find("strimzi.io/cluster"));
  if (!h.spec || h.spec->is_null()) return f;
  f.connector_class = scalar_or_empty(h.spec->find("class"));
  const YamlNode* config = h.spec->find("config");
  if (!config || config->is_null()) {
    f.server_id = parse_server_id("", false);
    return f;
  }
  if (!config->is_map()) {
    errors.push_back(
        {{where.file, config->line()}, "KafkaConnector " + f.key() + ": spec.config must be a map"});
    return std::nullopt;
  }
  std::string value;
  int line = 0;
  const bool has_id = config_text(*config, "database.server.id", value, line);
  f.server_id = parse_server_id(value, has_id);
  f.server_id_line = line;
  read_generation(*config, h.spec->key_line("class"), f);
  // Each generation reads its own names and ignores the other's.
  if (f.generation == ConfigGeneration::V1) {
    f.topic_prefix = first_config(*config, {"database.server.name"});
    f.history_topic = first_config(*config, {"database.history.kafka.topic"});
    f.history_class = first_config(*config, {"database.history"}).value;
  } else {
    f.topic_prefix = first_config(*config, {"topic.prefix"});
    if (config_text(*config, "topic.delimiter", value, line) && !value.empty()) {
      f.topic_delimiter = value;
      f.topic_delimiter_line = line;
    }
    f.history_topic = first_config(*config, {"schema.history.internal.kafka.topic"});
    f.history_class = first_config(*config, {"schema.history.internal"}).value;
  }
  f.database_hostname = first_config(*config, {"database.hostname"}).value;
  f.database_port = first_config(*config, {"database.port"}).value;
  f.database_include_list = first_config(*config, {"database.include.list", "database.whitelist"}).value;
  f.table_include_list = first_config(*config, {"table.include.list", "table.whitelist"}).value;
  return f;
}

std::optional<ConnectClusterFacts> connect_cluster_from_object(const YamlNode& object,
                                                               const SourceLocation& where,
                                                               std::string_view default_namespace,
                                                               std::vector<ManifestError>& errors) {
  ObjectHeader h;
  if (!read_header(object, where, default_namespace, h, errors)) return std::nullopt;
  ConnectClusterFacts f;
  f.namespace_name = std::move(h.namespace_name);
  f.name = std::move(h.name);
  f.api_version = std::move(h.api_version);
  f.location = where;
  const bool v1beta2 = f.api_version == "kafka.strimzi.io/v1beta2";
  static const YamlNode kEmpty = YamlNode::make_map(0);
  const YamlNode& spec = h.spec && h.spec->is_map() ? *h.spec : kEmpty;
  if (const YamlNode* bootstrap = spec.find("bootstrapServers"); bootstrap && bootstrap->is_scalar()) {
    f.bootstrap_servers = split_bootstrap(bootstrap->scalar());
    f.bootstrap_line = spec.key_line("bootstrapServers");
  }
  const YamlNode* config = spec.find("config");
  if (config && !config->is_map() && !config->is_null()) {
    errors.push_back(
        {{where.file, config->line()}, "KafkaConnect " + f.key() + ": spec.config must be a map"});
    return std::nullopt;
  }
  // Strimzi: a dedicated field (v1, and v1beta2 since 0.46), else the v1beta2
  // config key, else (v1beta2 only) Strimzi's default.
  auto topic = [&](std::string_view field, std::string_view config_key, std::string_view fallback) {
    ConnectTopicFact t;
    if (const YamlNode* node = spec.find(field); node && node->is_scalar() && !node->scalar().empty()) {
      t.value = node->scalar();
      t.path = "spec." + std::string(field);
      t.line = spec.key_line(field);
      return t;
    }
    std::string value;
    int line = 0;
    if (config && config->is_map() && config_text(*config, config_key, value, line) && !value.empty()) {
      t.value = std::move(value);
      t.path = "spec.config." + std::string(config_key);
      t.line = line;
      return t;
    }
    if (v1beta2) {
      t.value = std::string(fallback);
      t.path = "spec.config." + std::string(config_key);
      t.line = where.line;
      t.defaulted = true;
    }
    return t;
  };
  f.group_id = topic("groupId", "group.id", "connect-cluster");
  f.offset_topic = topic("offsetStorageTopic", "offset.storage.topic", "connect-cluster-offsets");
  f.config_topic = topic("configStorageTopic", "config.storage.topic", "connect-cluster-configs");
  f.status_topic = topic("statusStorageTopic", "status.storage.topic", "connect-cluster-status");
  return f;
}

template <class T>
void append(std::vector<T>& to, std::vector<T>& from) {
  to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
  from.clear();
}

void parse_manifests(std::string_view text, const std::string& file, std::string_view default_namespace,
                     ManifestSet& out) {
  // The items of a top-level list are read one at a time (a `kubectl get -o
  // yaml` of a big cluster is tens of MB), before it is known whether the
  // document is a List at all (kubectl prints `items` before `kind`): what they
  // hold waits in `items` until the document is seen, as it would have been
  // read from the whole tree.
  ManifestSet items;
  const YamlItemStream stream{"items",
                              [&](const YamlNode& item) { visit(item, file, default_namespace, items, 1); }};
  try {
    for_each_yaml_document(
        text,
        [&](const YamlDocument& doc) {
          visit(doc.root, file, default_namespace, out, 0);  // a List's own list is empty here
          if (doc.root.is_map() && is_list(doc.root)) {
            append(out.connectors, items.connectors);
            append(out.connect_clusters, items.connect_clusters);
            append(out.errors, items.errors);
          }
          items = ManifestSet{};
        },
        stream);
  } catch (const YamlParseError& e) {
    out.errors.push_back({{file, e.line()}, std::string("malformed YAML: ") + e.what()});
  }
}

std::vector<RegistryConfigMap> find_registry_configmaps(std::string_view text, const std::string& file) {
  return find_registry_configmaps(parse_yaml_documents(text), file);
}

std::vector<RegistryConfigMap> find_registry_configmaps(const std::vector<YamlDocument>& docs,
                                                        const std::string& file) {
  std::vector<RegistryConfigMap> found;
  for (const auto& doc : docs) {
    const YamlNode& o = doc.root;
    if (!o.is_map() || scalar_or_empty(o.find("kind")) != "ConfigMap") continue;
    const YamlNode* data = o.find("data");
    const YamlNode* text_node = data ? data->find("registry.yaml") : nullptr;
    if (!text_node || !text_node->is_scalar()) continue;
    RegistryConfigMap cm;
    if (const YamlNode* md = o.find("metadata")) {
      cm.name = scalar_or_empty(md->find("name"));
      cm.namespace_name = scalar_or_empty(md->find("namespace"));
    }
    cm.text = text_node->scalar();
    cm.location = {file, text_node->line()};
    // A block scalar's first line of text is the line after its `|`.
    cm.line_offset = text_node->block_scalar() ? text_node->line() : 0;
    found.push_back(std::move(cm));
  }
  return found;
}

}  // namespace cdcguard
