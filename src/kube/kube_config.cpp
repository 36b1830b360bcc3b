#include "cdcguard/kube/kube_config.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string_view>
#include <vector>

namespace cdcguard::kube {

namespace {

namespace fs = std::filesystem;

std::string in_quotes(const std::string& s) {
  return "\"" + s + "\"";
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

// Reads a whole file; `what` prefixes the message so it names whose file it
// was.
std::string read_file(const fs::path& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw ConfigError(what + ": cannot read " + path.string() + ": " + std::strerror(errno));
  }
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) throw ConfigError(what + ": cannot read " + path.string());
  return out.str();
}

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Standard base64 as kubectl writes it. Whitespace is skipped because
// hand-edited kubeconfigs wrap long values; padding is optional for the same
// reason. Returns false on anything else rather than decoding garbage.
bool decode_base64(std::string_view in, std::string& out) {
  out.clear();
  unsigned int acc = 0;
  int bits = 0;
  int padding = 0;
  for (const char c : in) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    if (c == '=') {
      ++padding;
      continue;
    }
    if (padding > 0) return false;  // data after padding
    const int v = base64_value(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<unsigned int>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xffu));
    }
  }
  // A lone leftover sextet cannot encode a byte: the input was truncated.
  if (bits >= 6 || padding > 2) return false;
  return true;
}

struct ServerUrl {
  std::string host;
  int port = 443;
};

bool parse_port(std::string_view text, int& port) {
  if (text.empty() || text.size() > 5) return false;
  int value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  if (value < 1 || value > 65535) return false;
  port = value;
  return true;
}

// `what` names the origin for messages, e.g. "kubeconfig /x/config: cluster
// \"c\": server".
ServerUrl parse_server(const std::string& server, const std::string& what) {
  const std::string_view https = "https://";
  if (server.empty()) throw ConfigError(what + " is missing");
  if (server.rfind("http://", 0) == 0) {
    throw ConfigError(what + " " + in_quotes(server) +
                      " is plain http; only https is supported (the token "
                      "would be sent in clear text)");
  }
  if (server.rfind(https, 0) != 0) {
    throw ConfigError(what + " " + in_quotes(server) + " is not an https:// URL");
  }
  std::string_view rest = std::string_view(server).substr(https.size());
  const auto slash = rest.find_first_of("/?#");
  if (slash != std::string_view::npos) {
    const auto tail = rest.substr(slash);
    // The client sends API paths from the root; a prefix would be silently
    // dropped.
    if (tail != "/") {
      throw ConfigError(what + " " + in_quotes(server) +
                        " has a path; only https://host[:port] is supported");
    }
    rest = rest.substr(0, slash);
  }
  if (rest.find('@') != std::string_view::npos) {
    throw ConfigError(what + " " + in_quotes(server) + " has user information, which is not supported");
  }
  ServerUrl url;
  std::string_view port_text;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) {
      throw ConfigError(what + " " + in_quotes(server) + " has an unterminated IPv6 address");
    }
    url.host = std::string(rest.substr(1, close - 1));
    in6_addr addr{};
    if (::inet_pton(AF_INET6, url.host.c_str(), &addr) != 1) {
      throw ConfigError(what + " " + in_quotes(server) + " has an invalid IPv6 address");
    }
    const auto after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') throw ConfigError(what + " " + in_quotes(server) + " is not a valid URL");
      port_text = after.substr(1);
      if (port_text.empty()) throw ConfigError(what + " " + in_quotes(server) + " has an empty port");
    }
  } else {
    const auto colon = rest.find(':');
    if (colon != std::string_view::npos) {
      if (rest.find(':', colon + 1) != std::string_view::npos) {
        throw ConfigError(what + " " + in_quotes(server) + ": an IPv6 address must be in brackets");
      }
      url.host = std::string(rest.substr(0, colon));
      port_text = rest.substr(colon + 1);
      if (port_text.empty()) throw ConfigError(what + " " + in_quotes(server) + " has an empty port");
    } else {
      url.host = std::string(rest);
    }
  }
  if (url.host.empty()) throw ConfigError(what + " " + in_quotes(server) + " has no host");
  if (!port_text.empty() && !parse_port(port_text, url.port)) {
    throw ConfigError(what + " " + in_quotes(server) + " has an invalid port");
  }
  return url;
}

std::string url_host(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

// A kubeconfig field by field, so each message says which file and which entry.
class KubeconfigReader {
 public:
  explicit KubeconfigReader(std::string path) : path_(std::move(path)) {
    std::error_code ec;
    dir_ = fs::absolute(fs::path(path_), ec).parent_path();
    if (ec) dir_ = fs::path(path_).parent_path();
    if (!fs::exists(path_, ec)) throw ConfigError(prefix() + "file not found");
    try {
      root_ = YAML::LoadFile(path_);
    } catch (const YAML::BadFile&) {
      throw ConfigError(prefix() + "cannot read the file: " + std::strerror(errno));
    } catch (const YAML::Exception& e) {
      throw ConfigError(prefix() + "not valid YAML: " + e.what());
    }
    if (!root_.IsMap()) throw ConfigError(prefix() + "not a kubeconfig (expected a mapping at the top)");
  }

  ClusterConfig load(const std::string& wanted_context) {
    std::string context_name = wanted_context;
    if (context_name.empty()) {
      context_name = scalar(root_["current-context"], "current-context");
      if (context_name.empty()) {
        throw ConfigError(prefix() + "current-context is not set (name a context explicitly)");
      }
    }
    const auto context_entry = find_named("contexts", "context", context_name);
    if (!context_entry) throw ConfigError(prefix() + "context " + in_quotes(context_name) + " not found");
    const YAML::Node& context = *context_entry;
    const std::string context_what = "context " + in_quotes(context_name);

    const std::string cluster_name = scalar(context["cluster"], context_what + ": cluster");
    if (cluster_name.empty()) throw ConfigError(prefix() + context_what + " names no cluster");
    const auto cluster = find_named("clusters", "cluster", cluster_name);
    if (!cluster) {
      throw ConfigError(prefix() + "cluster " + in_quotes(cluster_name) + " (of " + context_what +
                        ") not found");
    }

    ClusterConfig config;
    config.source = "kubeconfig " + path_ + " (context " + context_name + ")";
    load_cluster(*cluster, "cluster " + in_quotes(cluster_name), config);

    const std::string user_name = scalar(context["user"], context_what + ": user");
    if (!user_name.empty()) {
      const auto user = find_named("users", "user", user_name);
      if (!user) {
        throw ConfigError(prefix() + "user " + in_quotes(user_name) + " (of " + context_what + ") not found");
      }
      load_user(*user, "user " + in_quotes(user_name), config);
    }
    return config;
  }

 private:
  std::string prefix() const { return "kubeconfig " + path_ + ": "; }

  std::string scalar(const YAML::Node& node, const std::string& what) const {
    if (!node || node.IsNull()) return "";
    if (!node.IsScalar()) throw ConfigError(prefix() + what + " must be a string");
    return node.Scalar();
  }

  bool boolean(const YAML::Node& node, const std::string& what) const {
    if (!node || node.IsNull()) return false;
    try {
      return node.as<bool>();
    } catch (const YAML::Exception&) {
      throw ConfigError(prefix() + what + " must be true or false");
    }
  }

  // The `inner` mapping of the entry called `name` in the top-level list
  // `list`. (A default YAML::Node is a defined null, hence optional for "not
  // found".)
  std::optional<YAML::Node> find_named(const std::string& list, const std::string& inner,
                                       const std::string& name) const {
    const YAML::Node entries = root_[list];
    if (!entries || entries.IsNull()) return std::nullopt;
    if (!entries.IsSequence()) throw ConfigError(prefix() + list + " must be a list");
    for (const auto& entry : entries) {
      if (!entry.IsMap()) continue;
      const YAML::Node entry_name = entry["name"];
      if (entry_name && entry_name.IsScalar() && entry_name.Scalar() == name) {
        const YAML::Node body = entry[inner];
        if (!body || body.IsNull()) return YAML::Node(YAML::NodeType::Map);
        if (!body.IsMap()) {
          throw ConfigError(prefix() + list + " entry " + in_quotes(name) + ": " + inner +
                            " must be a mapping");
        }
        return body;
      }
    }
    return std::nullopt;
  }

  fs::path resolve(const std::string& file) const {
    const fs::path p(file);
    return p.is_absolute() ? p : dir_ / p;
  }

  // `field-data` (base64) wins over `field` (a path), as in kubectl.
  std::string inline_or_file(const YAML::Node& node, const std::string& field,
                             const std::string& what) const {
    const std::string data = scalar(node[field + "-data"], what + ": " + field + "-data");
    if (!data.empty()) {
      std::string decoded;
      if (!decode_base64(data, decoded)) {
        throw ConfigError(prefix() + what + ": " + field + "-data is not valid base64");
      }
      return decoded;
    }
    const std::string file = scalar(node[field], what + ": " + field);
    if (file.empty()) return "";
    return read_file(resolve(file), prefix() + what + ": " + field);
  }

  void load_cluster(const YAML::Node& cluster, const std::string& what, ClusterConfig& config) const {
    config.server = scalar(cluster["server"], what + ": server");
    const ServerUrl url = parse_server(config.server, prefix() + what + ": server");
    config.host = url.host;
    config.port = url.port;
    config.insecure_skip_tls_verify =
        boolean(cluster["insecure-skip-tls-verify"], what + ": insecure-skip-tls-verify");
    config.ca_pem = inline_or_file(cluster, "certificate-authority", what);
    if (!config.ca_pem.empty() && config.ca_pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
      throw ConfigError(prefix() + what + ": certificate-authority holds no PEM certificate");
    }
  }

  void load_user(const YAML::Node& user, const std::string& what, ClusterConfig& config) const {
    for (const char* plugin : {"exec", "auth-provider"}) {
      if (user[plugin] && !user[plugin].IsNull()) {
        throw ConfigError(prefix() + what + " uses " + plugin +
                          ", which is not supported; use a token, tokenFile or "
                          "a client certificate and key");
      }
    }
    if (!scalar(user["username"], what + ": username").empty() ||
        !scalar(user["password"], what + ": password").empty()) {
      throw ConfigError(prefix() + what +
                        " uses basic authentication, which is not supported; "
                        "use a token or a client certificate");
    }
    config.token = scalar(user["token"], what + ": token");
    const std::string token_file = scalar(user["tokenFile"], what + ": tokenFile");
    if (!token_file.empty()) {
      config.token_file = resolve(token_file).string();
      std::error_code ec;
      if (!fs::exists(config.token_file, ec)) {
        throw ConfigError(prefix() + what + ": tokenFile " + config.token_file + " not found");
      }
    }
    config.client_cert_pem = inline_or_file(user, "client-certificate", what);
    config.client_key_pem = inline_or_file(user, "client-key", what);
    if (config.client_cert_pem.empty() != config.client_key_pem.empty()) {
      throw ConfigError(prefix() + what +
                        " has a client certificate without a key or a key "
                        "without a certificate");
    }
    if (!config.client_cert_pem.empty() &&
        config.client_cert_pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
      throw ConfigError(prefix() + what + ": client-certificate holds no PEM certificate");
    }
    if (!config.client_key_pem.empty() &&
        config.client_key_pem.find("PRIVATE KEY-----") == std::string::npos) {
      throw ConfigError(prefix() + what + ": client-key holds no PEM private key");
    }
  }

  std::string path_;
  fs::path dir_;
  YAML::Node root_;
};

}  // namespace

ClusterConfig load_kubeconfig(const std::string& path, const std::string& context) {
  return KubeconfigReader(path).load(context);
}

ClusterConfig in_cluster_config(const std::string& secrets_dir) {
  const std::string host = env("KUBERNETES_SERVICE_HOST");
  const std::string port_text = env("KUBERNETES_SERVICE_PORT");
  if (host.empty()) {
    throw ConfigError(
        "in-cluster config: KUBERNETES_SERVICE_HOST is not set "
        "(not running in a pod?)");
  }
  if (port_text.empty()) {
    throw ConfigError(
        "in-cluster config: KUBERNETES_SERVICE_PORT is not set "
        "(not running in a pod?)");
  }
  ClusterConfig config;
  config.source = "in-cluster service account";
  config.host = host;
  if (!parse_port(port_text, config.port)) {
    throw ConfigError("in-cluster config: KUBERNETES_SERVICE_PORT " + in_quotes(port_text) +
                      " is not a port");
  }
  config.server = "https://" + url_host(host) + ":" + std::to_string(config.port);
  const fs::path dir(secrets_dir);
  config.token_file = (dir / "token").string();
  std::error_code ec;
  if (!fs::exists(config.token_file, ec)) {
    throw ConfigError("in-cluster config: the service account token " + config.token_file +
                      " does not exist (is automountServiceAccountToken off?)");
  }
  config.ca_pem = read_file(dir / "ca.crt", "in-cluster config: service account CA");
  if (config.ca_pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    throw ConfigError("in-cluster config: " + (dir / "ca.crt").string() + " holds no PEM certificate");
  }
  return config;
}

// KUBECONFIG may list several files; client-go merges them, this takes the
// first that exists whole (no merging), which covers the usual single-file
// case.
ClusterConfig resolve_cluster_config(const std::string& kubeconfig_flag) {
  if (!kubeconfig_flag.empty()) return load_kubeconfig(kubeconfig_flag);
  const std::string list = env("KUBECONFIG");
  if (!list.empty()) {
    std::string_view rest = list;
    while (true) {
      const auto colon = rest.find(':');
      const std::string candidate(rest.substr(0, colon));
      std::error_code ec;
      if (!candidate.empty() && fs::is_regular_file(candidate, ec)) return load_kubeconfig(candidate);
      if (colon == std::string_view::npos) break;
      rest = rest.substr(colon + 1);
    }
    throw ConfigError("KUBECONFIG=" + list + ": none of these files exists");
  }
  if (!env("KUBERNETES_SERVICE_HOST").empty()) return in_cluster_config();
  const std::string home = env("HOME");
  if (!home.empty()) {
    const fs::path fallback = fs::path(home) / ".kube" / "config";
    std::error_code ec;
    if (fs::is_regular_file(fallback, ec)) return load_kubeconfig(fallback.string());
  }
  throw ConfigError(
      "no Kubernetes configuration: pass --kubeconfig, set "
      "KUBECONFIG, run in a pod, or create "
      "~/.kube/config");
}

}  // namespace cdcguard::kube
