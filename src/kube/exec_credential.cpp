#include "cdcguard/kube/exec_credential.hpp"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>
#include <vector>

#include "cdcguard/admission/admission_review.hpp"
#include "cdcguard/model/time.hpp"
#include "kube/child_process.hpp"

extern char** environ;

namespace cdcguard::kube {

namespace {

constexpr std::size_t kStderrTail = 16 * 1024;
constexpr int kStderrLines = 5;
constexpr const char* kPluginDocs =
    "https://kubernetes.io/docs/reference/access-authn-authz/authentication/#client-go-credential-plugins";

std::string in_quotes(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

// Ours, then the plugin's `env` over it, then KUBERNETES_EXEC_INFO: a later
// value of a name replaces an earlier one, as Go's os/exec does.
std::vector<std::string> plugin_environment(const ExecPluginConfig& exec, const std::string& info) {
  std::vector<std::string> out;
  for (char** variable = environ; variable && *variable; ++variable) out.emplace_back(*variable);
  const auto set = [&](const std::string& name, const std::string& value) {
    const std::string prefix = name + "=";
    std::erase_if(out, [&](const std::string& v) { return v.compare(0, prefix.size(), prefix) == 0; });
    out.push_back(prefix + value);
  };
  for (const auto& [name, value] : exec.env) set(name, value);
  set("KUBERNETES_EXEC_INFO", info);
  return out;
}

// The last lines of what the plugin said on stderr, on one line.
std::string stderr_tail(const std::string& err) {
  std::vector<std::string> lines;
  std::size_t end = err.size();
  while (end > 0 && static_cast<int>(lines.size()) < kStderrLines) {
    const auto start = err.rfind('\n', end - 1);
    const std::size_t from = start == std::string::npos ? 0 : start + 1;
    std::string line = err.substr(from, end - from);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.pop_back();
    if (!line.empty()) lines.insert(lines.begin(), std::move(line));
    if (start == std::string::npos) break;
    end = start;
  }
  std::string out;
  for (const auto& line : lines) out += (out.empty() ? "" : " | ") + line;
  return out;
}

std::string not_runnable(const ExecPluginConfig& exec, int error) {
  std::string hint = exec.install_hint;
  while (!hint.empty() && std::isspace(static_cast<unsigned char>(hint.back()))) hint.pop_back();
  if (error != ENOENT) {
    std::string message = std::string("cannot be run: ") + std::strerror(error);
    if (!hint.empty()) message += ". " + hint;
    return message;
  }
  std::string message = exec.command.find('/') == std::string::npos ? "not found on PATH" : "not found";
  if (!hint.empty()) return message + ". " + hint;
  return message + " (a client-go credential plugin that is not installed? see " + std::string(kPluginDocs) +
         ")";
}

std::string string_field(const nlohmann::json& object, const char* key, const std::string& what) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return "";
  if (!it->is_string()) throw std::invalid_argument(what + " must be a string");
  return it->get<std::string>();
}

}  // namespace

std::string exec_credential_request(const ClusterConfig& config) {
  const ExecPluginConfig& exec = config.exec.value();
  nlohmann::ordered_json request = {
      {"kind", "ExecCredential"}, {"apiVersion", exec.api_version}, {"spec", {{"interactive", false}}}};
  if (exec.provide_cluster_info) {
    nlohmann::ordered_json cluster = {{"server", config.server}};
    if (!config.tls_server_name.empty()) cluster["tls-server-name"] = config.tls_server_name;
    if (config.insecure_skip_tls_verify) cluster["insecure-skip-tls-verify"] = true;
    if (!config.ca_pem.empty())
      cluster["certificate-authority-data"] = admission::base64_encode(config.ca_pem);
    if (!exec.cluster_config_json.empty()) {
      cluster["config"] = nlohmann::ordered_json::parse(exec.cluster_config_json);
    }
    request["spec"]["cluster"] = std::move(cluster);
  }
  return request.dump();
}

ExecCredential parse_exec_credential(std::string_view output, std::string_view api_version) {
  const auto doc = nlohmann::json::parse(output, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    throw std::invalid_argument(
        output.find_first_not_of(" \t\r\n") == std::string_view::npos
            ? "printed nothing on stdout (an ExecCredential was expected)"
            : "printed something on stdout that is not an ExecCredential JSON object");
  }
  const std::string kind = string_field(doc, "kind", "kind");
  if (kind != "ExecCredential") {
    throw std::invalid_argument("printed " +
                                (kind.empty() ? std::string("no kind") : "kind " + in_quotes(kind)) +
                                " instead of an ExecCredential");
  }
  const std::string version = string_field(doc, "apiVersion", "apiVersion");
  if (version != api_version) {
    throw std::invalid_argument("is configured to use API version " + std::string(api_version) +
                                ", plugin returned version " +
                                (version.empty() ? std::string("(none)") : in_quotes(version)));
  }
  const auto status = doc.find("status");
  if (status == doc.end() || !status->is_object()) throw std::invalid_argument("returned no status");

  ExecCredential credential;
  credential.token = string_field(*status, "token", "status.token");
  credential.client_certificate_pem =
      string_field(*status, "clientCertificateData", "status.clientCertificateData");
  credential.client_key_pem = string_field(*status, "clientKeyData", "status.clientKeyData");
  if (credential.token.empty() && credential.client_certificate_pem.empty() &&
      credential.client_key_pem.empty()) {
    throw std::invalid_argument("returned neither a token nor a client certificate and key");
  }
  if (credential.client_certificate_pem.empty() != credential.client_key_pem.empty()) {
    throw std::invalid_argument("returned a client certificate without a key or a key without a certificate");
  }
  const std::string expires = string_field(*status, "expirationTimestamp", "status.expirationTimestamp");
  if (!expires.empty()) {
    const auto at = parse_timestamp(expires);
    // A bare date is no timestamp to a Kubernetes client (metav1.Time).
    if (!at || expires.find_first_of("Tt") == std::string::npos) {
      throw std::invalid_argument("status.expirationTimestamp " + in_quotes(expires) +
                                  " is not an RFC 3339 time");
    }
    credential.expires = std::chrono::system_clock::time_point(*at);
  }
  return credential;
}

ExecCredential run_exec_plugin(const ClusterConfig& config, const ExecPluginLimits& limits) {
  const ExecPluginConfig& exec = config.exec.value();
  const std::string what = exec.origin + ": exec plugin " + in_quotes(exec.command);
  const auto clock = limits.clock ? limits.clock : steady_monotonic_clock();

  ChildOutcome outcome;
  try {
    outcome = run_child({exec.command, exec.args, plugin_environment(exec, exec_credential_request(config))},
                        {limits.timeout, limits.max_output, kStderrTail, clock.get()});
  } catch (const std::system_error& e) {
    throw CredentialError(what + ": cannot be started: " + e.what());
  }
  const std::string said = stderr_tail(outcome.err);
  const std::string stderr_note = said.empty() ? "" : "; its stderr ends: " + said;
  switch (outcome.ending) {
    case ChildOutcome::Ending::NotStarted:
      throw CredentialError(what + " " + not_runnable(exec, outcome.spawn_error));
    case ChildOutcome::Ending::TimedOut:
      throw CredentialError(what + " did not finish within " + std::to_string(limits.timeout.count()) +
                            " ms and was killed" + stderr_note);
    case ChildOutcome::Ending::OutputTooLarge:
      throw CredentialError(what + " printed more than " + std::to_string(limits.max_output) +
                            " bytes on stdout and was killed");
    case ChildOutcome::Ending::Killed:
      throw CredentialError(what + " was killed by signal " + std::to_string(outcome.signal) + " (" +
                            ::strsignal(outcome.signal) + ")" + stderr_note);
    case ChildOutcome::Ending::Exited:
      break;
  }
  if (outcome.exit_code != 0) {
    throw CredentialError(what + " failed with exit code " + std::to_string(outcome.exit_code) + stderr_note);
  }
  // As client-go, which hands the plugin our stderr: what it says there on
  // success (a warning, a deprecation) is still seen.
  if (!outcome.err.empty()) {
    [[maybe_unused]] const auto written = ::write(STDERR_FILENO, outcome.err.data(), outcome.err.size());
  }
  try {
    return parse_exec_credential(outcome.out, exec.api_version);
  } catch (const std::invalid_argument& e) {
    throw CredentialError(what + " " + e.what());
  }
}

}  // namespace cdcguard::kube
