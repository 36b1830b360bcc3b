#pragma once

#include <string>
#include <string_view>

// Kubernetes object names as the API server validates them, and the registry
// key "namespace/name" built from them (DESIGN.md "Names and keys"). Every
// place that builds, records or reads a key asks here, so the webhook never
// claims a key that the registry parser would refuse.
namespace cdcguard {

inline constexpr std::size_t kMaxLabelLength = 63;       // a namespace
inline constexpr std::size_t kMaxSubdomainLength = 253;  // a custom resource's name

// Why `text` is not a DNS-1123 label (a namespace name: at most 63 lowercase
// alphanumerics or '-', starting and ending with an alphanumeric); "" when it is.
std::string dns1123_label_problem(std::string_view text);

// Why `text` is not a DNS-1123 subdomain (a custom resource name: at most 253
// characters, dot-separated parts that are each lowercase alphanumerics or
// '-' starting and ending with an alphanumeric); "" when it is.
std::string dns1123_subdomain_problem(std::string_view text);

// Why namespace/name cannot key a registry entry, naming the part at fault
// ("namespace \"\" is not ..."); "" when it can.
std::string connector_key_problem(std::string_view namespace_name, std::string_view name);

// The same for a key as written in the registry ("namespace/name"), naming
// the key: connector "a/b/c": name "b/c" is not ...
std::string connector_key_problem(std::string_view key);

inline constexpr std::size_t kMaxTopicLength = 249;  // Kafka's limit for a topic name

// Why `text` cannot be a Kafka topic name, or part of one (a topic prefix or
// delimiter): 1..249 characters of [a-zA-Z0-9._-], as Kafka and Debezium
// check them. `what` names the field in the message; "" when it can.
std::string kafka_topic_problem(std::string_view text, std::string_view what);

// Why `text` cannot be a registry entry's `uid` or `cluster` (1..`max`
// characters of [a-zA-Z0-9._-]); "" when it can.
std::string token_problem(std::string_view text, std::string_view what, std::size_t max);

inline constexpr std::size_t kMaxEntryUidLength = 128;    // an object's metadata.uid (a UUID) fits with room
inline constexpr std::size_t kMaxClusterNameLength = 63;  // a --cluster-name: a DNS-1123 label fits

// Why `text` cannot be a registry entry's `uid`; "" when it can.
std::string entry_uid_problem(std::string_view text);

// Why `text` cannot be a registry entry's `cluster` (a --cluster-name, which
// the reconciler writes into every entry it owns); "" when it can.
std::string cluster_name_problem(std::string_view text);

}  // namespace cdcguard
