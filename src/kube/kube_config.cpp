#include "cdcguard/kube/kube_config.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
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

// The JSON form of a YAML value, as client-go sees a kubeconfig (it converts
// the YAML to JSON before decoding): a plain scalar becomes a boolean, number
// or null when it reads as one, a quoted one stays a string.
nlohmann::json yaml_to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      auto object = nlohmann::json::object();
      for (const auto& item : node) object[item.first.Scalar()] = yaml_to_json(item.second);
      return object;
    }
    case YAML::NodeType::Sequence: {
      auto array = nlohmann::json::array();
      for (const auto& item : node) array.push_back(yaml_to_json(item));
      return array;
    }
    case YAML::NodeType::Scalar: {
      const std::string& text = node.Scalar();
      if (node.Tag() != "?") return text;  // quoted or explicitly tagged
      if (text == "~" || text == "null" || text == "Null" || text == "NULL") return nullptr;
      bool flag = false;
      if (YAML::convert<bool>::decode(node, flag)) return flag;
      long long integer = 0;
      if (YAML::convert<long long>::decode(node, integer)) return integer;
      double number = 0;
      if (YAML::convert<double>::decode(node, number) && std::isfinite(number)) return number;
      return text;
    }
    default:
      return nullptr;
  }
}

// One kubeconfig file, parsed.
struct KubeconfigFile {
  std::string path;
  fs::path dir;  // relative paths inside the file resolve against it
  YAML::Node root;
};

std::string file_prefix(const std::string& path) {
  return "kubeconfig " + path + ": ";
}

KubeconfigFile read_kubeconfig_file(const std::string& path) {
  KubeconfigFile file;
  file.path = path;
  std::error_code ec;
  file.dir = fs::absolute(fs::path(path), ec).parent_path();
  if (ec) file.dir = fs::path(path).parent_path();
  if (!fs::exists(path, ec)) throw ConfigError(file_prefix(path) + "file not found");
  try {
    file.root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw ConfigError(file_prefix(path) + "cannot read the file: " + std::strerror(errno));
  } catch (const YAML::Exception& e) {
    throw ConfigError(file_prefix(path) + "not valid YAML: " + e.what());
  }
  // An empty file is an empty kubeconfig, as for kubectl (one of several
  // merged files may hold nothing yet).
  if (file.root.IsNull()) file.root = YAML::Node(YAML::NodeType::Map);
  if (!file.root.IsMap()) {
    throw ConfigError(file_prefix(path) + "not a kubeconfig (expected a mapping at the top)");
  }
  return file;
}

// One mapping of a kubeconfig (a cluster, a user, its exec section) read
// field by field, so that each message names the file and the entry
// (`kubeconfig PATH: user "u": exec: command is missing`).
class Entry {
 public:
  Entry(const KubeconfigFile& file, YAML::Node node, std::string what)
      : file_(&file), node_(std::move(node)), what_(std::move(what)) {}

  const KubeconfigFile& file() const { return *file_; }
  YAML::Node operator[](const char* field) const { return node_[field]; }
  // "kubeconfig PATH: WHAT" (+ ": FIELD"), to start a message with.
  std::string describe(const std::string& field = "") const {
    return file_prefix(file_->path) + what_ + (field.empty() ? "" : ": " + field);
  }
  [[noreturn]] void fail(const std::string& problem) const { throw ConfigError(describe() + ": " + problem); }
  Entry child(const char* field) const {
    const YAML::Node node = node_[field];
    if (!node.IsMap()) fail(std::string(field) + " must be a mapping");
    return Entry(*file_, node, what_ + ": " + field);
  }

  std::string scalar(const std::string& field) const {
    const YAML::Node node = node_[field];
    if (!node || node.IsNull()) return "";
    if (!node.IsScalar()) fail(field + " must be a string");
    return node.Scalar();
  }

  bool boolean(const std::string& field) const {
    const YAML::Node node = node_[field];
    if (!node || node.IsNull()) return false;
    bool value = false;
    if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) fail(field + " must be true or false");
    return value;
  }

  std::vector<std::string> strings(const std::string& field) const {
    const YAML::Node node = node_[field];
    std::vector<std::string> out;
    if (!node || node.IsNull()) return out;
    if (!node.IsSequence()) fail(field + " must be a list of strings");
    for (const auto& item : node) {
      if (!item.IsScalar()) fail(field + " must be a list of strings");
      out.push_back(item.Scalar());
    }
    return out;
  }

  fs::path resolve(const std::string& file) const {
    const fs::path p(file);
    return p.is_absolute() ? p : file_->dir / p;
  }

  // `field-data` (base64) wins over `field` (a path), as in kubectl.
  std::string inline_or_file(const std::string& field) const {
    const std::string data = scalar(field + "-data");
    if (!data.empty()) {
      std::string decoded;
      if (!decode_base64(data, decoded)) fail(field + "-data is not valid base64");
      return decoded;
    }
    const std::string file = scalar(field);
    if (file.empty()) return "";
    return read_file(resolve(file), describe(field));
  }

 private:
  const KubeconfigFile* file_;
  YAML::Node node_;
  std::string what_;
};

constexpr std::string_view kExecV1 = "client.authentication.k8s.io/v1";
constexpr std::string_view kExecV1beta1 = "client.authentication.k8s.io/v1beta1";
// The name of a cluster extension client-go hands to the plugin as spec.cluster.config.
constexpr std::string_view kExecExtension = "client.authentication.k8s.io/exec";

void load_cluster(const Entry& cluster, ClusterConfig& config, std::string& exec_extension_json) {
  config.server = cluster.scalar("server");
  const ServerUrl url = parse_server(config.server, cluster.describe("server"));
  config.host = url.host;
  config.port = url.port;
  config.insecure_skip_tls_verify = cluster.boolean("insecure-skip-tls-verify");
  config.tls_server_name = cluster.scalar("tls-server-name");
  if (!cluster.scalar("proxy-url").empty()) {
    cluster.fail(
        "proxy-url is set, and cdc-guard does not support proxies; remove proxy-url or use a "
        "kubeconfig without it");
  }
  config.ca_pem = cluster.inline_or_file("certificate-authority");
  if (!config.ca_pem.empty() && config.ca_pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    cluster.fail("certificate-authority holds no PEM certificate");
  }
  const YAML::Node extensions = cluster["extensions"];
  if (extensions && !extensions.IsNull()) {
    if (!extensions.IsSequence()) cluster.fail("extensions must be a list");
    for (const auto& extension : extensions) {
      if (!extension.IsMap()) continue;
      const YAML::Node name = extension["name"];
      const YAML::Node body = extension["extension"];
      if (name && name.IsScalar() && name.Scalar() == kExecExtension && body) {
        exec_extension_json = yaml_to_json(body).dump();
      }
    }
  }
}

ExecPluginConfig load_exec(const Entry& exec, std::string origin) {
  ExecPluginConfig plugin;
  plugin.origin = std::move(origin);
  plugin.api_version = exec.scalar("apiVersion");
  const bool v1 = plugin.api_version == kExecV1;
  if (plugin.api_version.empty()) {
    exec.fail("apiVersion is missing (" + std::string(kExecV1) + " or " + std::string(kExecV1beta1) + ")");
  }
  if (plugin.api_version == "client.authentication.k8s.io/v1alpha1") {
    exec.fail(
        "apiVersion client.authentication.k8s.io/v1alpha1 is no longer supported (client-go dropped it "
        "in Kubernetes 1.24); use " +
        std::string(kExecV1) + " or " + std::string(kExecV1beta1));
  }
  if (!v1 && plugin.api_version != kExecV1beta1) {
    exec.fail("apiVersion " + in_quotes(plugin.api_version) + " is not supported; use " +
              std::string(kExecV1) + " or " + std::string(kExecV1beta1));
  }

  plugin.command = exec.scalar("command");
  if (plugin.command.empty()) exec.fail("command is missing");
  // A bare name is looked up on PATH when it runs; a path with a slash is the
  // kubeconfig's own (client-go's GetAuthInfoFileReferences).
  if (plugin.command.find('/') != std::string::npos) {
    plugin.command = exec.resolve(plugin.command).lexically_normal().string();
  }
  plugin.args = exec.strings("args");

  const YAML::Node env = exec["env"];
  if (env && !env.IsNull()) {
    if (!env.IsSequence()) exec.fail("env must be a list of name and value");
    for (const auto& variable : env) {
      if (!variable.IsMap()) exec.fail("env must be a list of name and value");
      // (A missing key is an invalid node that throws when asked its type.)
      const YAML::Node name_node = variable["name"];
      const std::string name = name_node && name_node.IsScalar() ? name_node.Scalar() : "";
      if (name.empty() || name.find('=') != std::string::npos) {
        exec.fail("env: every entry needs a name (without '=')");
      }
      const YAML::Node value = variable["value"];
      if (value && !value.IsNull() && !value.IsScalar()) {
        exec.fail("env " + in_quotes(name) + ": value must be a string");
      }
      plugin.env.emplace_back(name, value && value.IsScalar() ? value.Scalar() : "");
    }
  }
  plugin.install_hint = exec.scalar("installHint");

  const std::string mode = exec.scalar("interactiveMode");
  if (mode.empty() && v1) {
    exec.fail("interactiveMode is missing; " + std::string(kExecV1) +
              " requires it (Never or IfAvailable; cdc-guard never has a terminal to give the plugin)");
  }
  if (mode == "Always") {
    exec.fail(
        "interactiveMode Always needs a terminal, which cdc-guard never has; use Never or IfAvailable "
        "(the plugin then runs without stdin)");
  }
  if (!mode.empty() && mode != "Never" && mode != "IfAvailable") {
    exec.fail("interactiveMode " + in_quotes(mode) + " is not Never, IfAvailable or Always");
  }
  plugin.provide_cluster_info = exec.boolean("provideClusterInfo");
  return plugin;
}

void load_user(const Entry& user, ClusterConfig& config) {
  if (user["auth-provider"] && !user["auth-provider"].IsNull()) {
    user.fail(
        "uses auth-provider, which is not supported; use an exec plugin, a token, tokenFile or a "
        "client certificate and key");
  }
  if (!user.scalar("username").empty() || !user.scalar("password").empty()) {
    user.fail("uses basic authentication, which is not supported; use a token or a client certificate");
  }
  config.token = user.scalar("token");
  const std::string token_file = user.scalar("tokenFile");
  if (!token_file.empty()) {
    config.token_file = user.resolve(token_file).string();
    std::error_code ec;
    if (!fs::exists(config.token_file, ec)) user.fail("tokenFile " + config.token_file + " not found");
  }
  config.client_cert_pem = user.inline_or_file("client-certificate");
  config.client_key_pem = user.inline_or_file("client-key");
  if (config.client_cert_pem.empty() != config.client_key_pem.empty()) {
    user.fail("has a client certificate without a key or a key without a certificate");
  }
  if (!config.client_cert_pem.empty() &&
      config.client_cert_pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    user.fail("client-certificate holds no PEM certificate");
  }
  if (!config.client_key_pem.empty() && config.client_key_pem.find("PRIVATE KEY-----") == std::string::npos) {
    user.fail("client-key holds no PEM private key");
  }
  if (user["exec"] && !user["exec"].IsNull()) {
    ExecPluginConfig plugin = load_exec(user.child("exec"), user.describe());
    // client-go runs the plugin only when the user has no other credential
    // (exec.go UpdateTransportConfig); it is still checked above, as there.
    if (config.token.empty() && config.token_file.empty() && config.client_cert_pem.empty()) {
      config.exec = std::move(plugin);
    }
  }
}

// Kubeconfig files merged as client-go's loading rules merge them: each name
// from the first file that defines it.
class KubeconfigReader {
 public:
  explicit KubeconfigReader(std::vector<KubeconfigFile> files) : files_(std::move(files)) {
    std::string paths;
    for (const auto& file : files_) paths += (paths.empty() ? "" : ":") + file.path;
    prefix_ = file_prefix(paths);
  }

  ClusterConfig load(const std::string& wanted_context) const {
    std::string context_name = wanted_context;
    if (context_name.empty()) {
      context_name = current_context();
      if (context_name.empty()) {
        throw ConfigError(prefix_ + "current-context is not set (name a context explicitly)");
      }
    }
    const auto context = find_named("contexts", "context", context_name);
    if (!context) throw ConfigError(prefix_ + "context " + in_quotes(context_name) + " not found");
    const std::string context_what = "context " + in_quotes(context_name);

    const std::string cluster_name = context->scalar("cluster");
    if (cluster_name.empty()) context->fail("names no cluster");
    const auto cluster = find_named("clusters", "cluster", cluster_name);
    if (!cluster) {
      throw ConfigError(prefix_ + "cluster " + in_quotes(cluster_name) + " (of " + context_what +
                        ") not found");
    }

    ClusterConfig config;
    std::string exec_extension_json;
    load_cluster(*cluster, config, exec_extension_json);

    std::string source = "kubeconfig " + context->file().path + " (context " + context_name;
    if (&cluster->file() != &context->file()) source += ", cluster from " + cluster->file().path;
    const std::string user_name = context->scalar("user");
    if (!user_name.empty()) {
      const auto user = find_named("users", "user", user_name);
      if (!user) {
        throw ConfigError(prefix_ + "user " + in_quotes(user_name) + " (of " + context_what + ") not found");
      }
      load_user(*user, config);
      if (config.exec) config.exec->cluster_config_json = exec_extension_json;
      if (&user->file() != &context->file()) source += ", user from " + user->file().path;
    }
    config.source = source + ")";
    return config;
  }

 private:
  std::string current_context() const {
    for (const auto& file : files_) {
      const YAML::Node node = file.root["current-context"];
      if (!node || node.IsNull()) continue;
      if (!node.IsScalar()) throw ConfigError(file_prefix(file.path) + "current-context must be a string");
      if (!node.Scalar().empty()) return node.Scalar();
    }
    return "";
  }

  // The `inner` mapping of the entry called `name` in the top-level list
  // `list` of the first file that has one.
  std::optional<Entry> find_named(const std::string& list, const std::string& inner,
                                  const std::string& name) const {
    const std::string what = inner + " " + in_quotes(name);
    for (const auto& file : files_) {
      const YAML::Node entries = file.root[list];
      if (!entries || entries.IsNull()) continue;
      if (!entries.IsSequence()) throw ConfigError(file_prefix(file.path) + list + " must be a list");
      for (const auto& entry : entries) {
        if (!entry.IsMap()) continue;
        const YAML::Node entry_name = entry["name"];
        if (!entry_name || !entry_name.IsScalar() || entry_name.Scalar() != name) continue;
        const YAML::Node body = entry[inner];
        if (!body || body.IsNull()) return Entry(file, YAML::Node(YAML::NodeType::Map), what);
        if (!body.IsMap()) {
          throw ConfigError(file_prefix(file.path) + list + " entry " + in_quotes(name) + ": " + inner +
                            " must be a mapping");
        }
        return Entry(file, body, what);
      }
    }
    return std::nullopt;
  }

  std::vector<KubeconfigFile> files_;
  std::string prefix_;  // "kubeconfig PATH[:PATH...]: ", for what no single file answers
};

}  // namespace

ClusterConfig load_kubeconfig(const std::string& path, const std::string& context) {
  std::vector<KubeconfigFile> files;
  files.push_back(read_kubeconfig_file(path));
  return KubeconfigReader(std::move(files)).load(context);
}

ClusterConfig load_kubeconfig_files(const std::vector<std::string>& paths, const std::string& context) {
  std::vector<KubeconfigFile> files;
  std::vector<std::string> seen;
  std::string listed;
  for (const auto& path : paths) {
    if (path.empty()) continue;
    listed += (listed.empty() ? "" : ":") + path;
    if (std::find(seen.begin(), seen.end(), path) != seen.end()) continue;
    seen.push_back(path);
    std::error_code ec;
    // Only a file that is not there is skipped; one that cannot be read is an
    // error, as in client-go.
    if (!fs::exists(path, ec) && !ec) continue;
    files.push_back(read_kubeconfig_file(path));
  }
  if (files.empty()) throw ConfigError("kubeconfig " + listed + ": none of these files exists");
  return KubeconfigReader(std::move(files)).load(context);
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

ClusterConfig resolve_cluster_config(const std::string& kubeconfig_flag, const std::string& context) {
  if (!kubeconfig_flag.empty()) return load_kubeconfig(kubeconfig_flag, context);
  const std::string list = env("KUBECONFIG");
  if (!list.empty()) {
    std::vector<std::string> paths;
    std::string_view rest = list;
    while (true) {
      const auto colon = rest.find(':');
      paths.emplace_back(rest.substr(0, colon));
      if (colon == std::string_view::npos) break;
      rest = rest.substr(colon + 1);
    }
    return load_kubeconfig_files(paths, context);
  }
  // A context names a kubeconfig's: the service account has none.
  if (context.empty() && !env("KUBERNETES_SERVICE_HOST").empty()) return in_cluster_config();
  const std::string home = env("HOME");
  if (!home.empty()) {
    const fs::path fallback = fs::path(home) / ".kube" / "config";
    std::error_code ec;
    if (fs::is_regular_file(fallback, ec)) return load_kubeconfig(fallback.string(), context);
  }
  throw ConfigError(
      "no Kubernetes configuration: pass --kubeconfig, set "
      "KUBECONFIG, run in a pod, or create "
      "~/.kube/config");
}

}  // namespace cdcguard::kube
