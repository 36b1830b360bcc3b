// What the scenarios share: kubectl as the client, and reads of what the API
// server then stores (connectors, the registry ConfigMap).
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cdcguard/model/registry.hpp"
#include "cdcguard/model/registry_parser.hpp"
#include "e2e/e2e_environment.hpp"

namespace cdcguard::e2e {

inline ControlPlane& cluster() {
  return *world().cluster;
}
inline CdcGuardInstall& install() {
  return *world().install;
}

// The webhook configurations away for a scope (connectors made as if before
// cdc-guard came), put back however the scope ends.
struct WebhooksAway {
  WebhooksAway() { install().unregister_webhooks(); }
  ~WebhooksAway() { install().register_webhooks(); }
  WebhooksAway(const WebhooksAway&) = delete;
  WebhooksAway& operator=(const WebhooksAway&) = delete;
};

inline ProcessResult kubectl(const std::vector<std::string>& args,
                             std::optional<std::string> stdin_text = {}) {
  return cluster().kubectl(args, std::move(stdin_text));
}

inline ProcessResult apply(const std::string& yaml, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"apply", "-f", "-"};
  args.insert(args.end(), extra.begin(), extra.end());
  return kubectl(args, yaml);
}

inline ProcessResult create(const std::string& yaml) {
  return kubectl({"create", "-f", "-"}, yaml);
}

// A field of a stored connector (jsonpath), or nullopt when it is not stored.
inline std::optional<std::string> stored(const std::string& ns, const std::string& name,
                                         const std::string& jsonpath) {
  const auto r =
      kubectl({"get", "kafkaconnectors.kafka.strimzi.io", name, "-n", ns, "-o=jsonpath=" + jsonpath});
  if (!r.ok()) return std::nullopt;
  return r.out;
}

inline std::optional<std::string> stored_server_id(const std::string& ns, const std::string& name) {
  return stored(ns, name, "{.spec.config.database\\.server\\.id}");
}

inline Registry registry_now() {
  return parse_registry(install().registry_yaml(), "registry ConfigMap");
}

// The registry's entries for one connector key ("ns/name").
inline std::vector<RegistryEntry> entries_of(const Registry& registry, const std::string& key) {
  std::vector<RegistryEntry> out;
  for (const auto& e : registry.entries)
    if (e.connector == key) out.push_back(e);
  return out;
}

inline std::optional<RegistryEntry> live_entry(const Registry& registry, const std::string& key) {
  for (const auto& e : registry.entries)
    if (e.connector == key && e.status != EntryStatus::Decommissioned) return e;
  return std::nullopt;
}

// Polls `condition` (hang guard only: a healthy run meets it in seconds).
template <class F>
bool eventually(F condition, std::chrono::seconds guard = std::chrono::seconds(90)) {
  const auto deadline = std::chrono::steady_clock::now() + guard;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return condition();
}

inline std::string with_logs(const ProcessResult& r) {
  return r.describe() + install().replica_logs(1500);
}

}  // namespace cdcguard::e2e
