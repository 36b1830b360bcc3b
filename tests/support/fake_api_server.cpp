#include "support/fake_api_server.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <strings.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <utility>

#include <httplib.h>

namespace cdcguard::testing_support {

namespace {

using json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

constexpr const char* kStrimziGroup = "kafka.strimzi.io";
constexpr const char* kCoordinationGroup = "coordination.k8s.io";

struct ResourceType {
  const char* kind;
  const char* plural;
  const char* group;  // "" for the core group
  bool strimzi;       // a custom resource (served in each strimzi version)
};

constexpr ResourceType kConfigMaps{"ConfigMap", "configmaps", "", false};
constexpr ResourceType kLeases{"Lease", "leases", kCoordinationGroup, false};
constexpr ResourceType kKafkaConnectors{"KafkaConnector", "kafkaconnectors", kStrimziGroup, true};
constexpr ResourceType kKafkaConnects{"KafkaConnect", "kafkaconnects", kStrimziGroup, true};

const ResourceType* resource_by_kind(const std::string& kind) {
  for (const ResourceType* type : {&kConfigMaps, &kLeases, &kKafkaConnectors, &kKafkaConnects}) {
    if (kind == type->kind) return type;
  }
  return nullptr;
}

const ResourceType* strimzi_resource_by_plural(const std::string& plural) {
  for (const ResourceType* type : {&kKafkaConnectors, &kKafkaConnects}) {
    if (plural == type->plural) return type;
  }
  return nullptr;
}

// The kind as apierrors spells it in "is invalid" and precondition messages.
std::string qualified_kind(const ResourceType& type) {
  return *type.group ? std::string(type.kind) + "." + type.group : std::string(type.kind);
}

// The resource name as the API server spells it in messages and details.kind.
std::string qualified_plural(const ResourceType& type) {
  return *type.group ? std::string(type.plural) + "." + type.group : std::string(type.plural);
}

std::string reason_for(int code) {
  switch (code) {
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 409:
      return "Conflict";
    case 410:
      return "Expired";
    case 422:
      return "Invalid";
    case 429:
      return "TooManyRequests";
    case 503:
      return "ServiceUnavailable";
    case 504:
      return "Timeout";
    default:
      return code >= 500 ? "InternalError" : "Unknown";
  }
}

std::string default_message(int code) {
  switch (code) {
    case 429:
      return "Too many requests, please try again later.";
    case 503:
      return "the server is currently unable to handle the request";
    case 504:
      return "the server was unable to return a response in the time allotted, but may still be "
             "processing the request";
    default:
      return code >= 500 ? "an error on the server has prevented the request from succeeding"
                         : "the server rejected the request";
  }
}

json status_body(int code, const std::string& reason, const std::string& message,
                 const json& details = json()) {
  json status{{"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", json::object()},
              {"status", "Failure"}, {"message", message}, {"reason", reason}};
  if (!details.is_null()) status["details"] = details;
  status["code"] = code;
  return status;
}

json object_details(const ResourceType& type, const std::string& name) {
  json details{{"name", name}};
  if (*type.group) details["group"] = type.group;
  details["kind"] = type.plural;
  return details;
}

void reply(httplib::Response& res, int code, const json& body) {
  res.status = code;
  res.set_content(body.dump(), "application/json");
}

void reply_status(httplib::Response& res, int code, const std::string& reason, const std::string& message,
                  const json& details = json()) {
  reply(res, code, status_body(code, reason, message, details));
}

// An unknown path under /api: the core group's handler answers with a Status.
void reply_not_found_path(httplib::Response& res) {
  reply_status(res, 404, "NotFound", "the server could not find the requested resource", json::object());
}

// An unknown group, version or resource under /apis, or a path outside /api
// and /apis: the real server's mux answers plain text, not a Status.
void reply_page_not_found(httplib::Response& res) {
  res.status = 404;
  res.set_content("404 page not found\n", "text/plain; charset=utf-8");
}

void reply_method_not_allowed(httplib::Response& res) {
  reply_status(res, 405, "MethodNotAllowed",
               "the server does not allow this method on the requested resource", json::object());
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> segments;
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t slash = path.find('/', start);
    const std::size_t end = slash == std::string::npos ? path.size() : slash;
    if (end > start) segments.push_back(path.substr(start, end - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return segments;
}

std::string rfc3339_now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

// A parsed fieldSelector: the API server supports only metadata.name and
// metadata.namespace for ConfigMaps and custom resources.
struct FieldTerm {
  std::string field;
  bool equals = true;
  std::string value;
};

struct Filter {
  const ResourceType* type = nullptr;
  std::string namespace_name;  // empty: every namespace
  std::vector<FieldTerm> fields;
  std::string version;  // strimzi version the client asked for

  bool matches(const std::string& ns, const std::string& name) const {
    if (!namespace_name.empty() && ns != namespace_name) return false;
    for (const auto& term : fields) {
      const std::string& actual = term.field == "metadata.name" ? name : ns;
      if ((actual == term.value) != term.equals) return false;
    }
    return true;
  }

  // Objects are stored as written; a client sees them in the version it asked for.
  json present(json object) const {
    if (type->strimzi) object["apiVersion"] = std::string(kStrimziGroup) + "/" + version;
    return object;
  }

  std::string api_version() const {
    if (type->strimzi) return std::string(kStrimziGroup) + "/" + version;
    return *type->group ? std::string(type->group) + "/v1" : "v1";
  }
};

// Returns an error message, or empty when the selector parsed. The refusal
// of a field is worded differently for built-in types and custom resources.
std::string parse_field_selector(const std::string& selector, const ResourceType& type,
                                 std::vector<FieldTerm>& terms) {
  std::size_t start = 0;
  while (start < selector.size()) {
    std::size_t comma = selector.find(',', start);
    if (comma == std::string::npos) comma = selector.size();
    const std::string term = selector.substr(start, comma - start);
    start = comma + 1;
    if (term.empty()) continue;
    FieldTerm parsed;
    std::size_t op;
    if ((op = term.find("!=")) != std::string::npos) {
      parsed.equals = false;
      parsed.field = term.substr(0, op);
      parsed.value = term.substr(op + 2);
    } else if ((op = term.find("==")) != std::string::npos) {
      parsed.field = term.substr(0, op);
      parsed.value = term.substr(op + 2);
    } else if ((op = term.find('=')) != std::string::npos) {
      parsed.field = term.substr(0, op);
      parsed.value = term.substr(op + 1);
    } else {
      return "invalid selector: '" + selector + "'; can't understand '" + term + "'";
    }
    if (parsed.field != "metadata.name" && parsed.field != "metadata.namespace") {
      if (type.strimzi) return "field label not supported: " + parsed.field;
      return "\"" + parsed.field +
             "\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\"";
    }
    terms.push_back(std::move(parsed));
  }
  return {};
}

bool parse_resource_version(const std::string& text, std::uint64_t& out) {
  if (text.empty() || text.size() > 19) return false;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
  }
  out = std::stoull(text);
  return true;
}

// Paths the real server's RBAC bootstrap policy (system:public-info-viewer)
// opens to everyone, authenticated or not.
bool public_path(const std::string& path) {
  return path == "/healthz" || path == "/livez" || path == "/readyz" || path == "/version";
}

// What the real server answers a request without credentials: it is
// system:anonymous (anonymous authentication is on by default), whom RBAC
// refuses: 403 Forbidden, worded as the API server words it (RequestInfo,
// then apierrors.NewForbidden).
json anonymous_forbidden(const httplib::Request& req, bool watch) {
  const std::vector<std::string> parts = split_path(req.path);
  std::string method = req.method;
  std::transform(method.begin(), method.end(), method.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  const std::string user = "User \"system:anonymous\" cannot ";
  // A resource request is /api/VERSION/... or /apis/GROUP/VERSION/... with a resource.
  std::size_t at = 0;
  std::string group;
  bool resource_request = parts.size() >= 3 && (parts[0] == "api" || parts[0] == "apis");
  if (resource_request) {
    at = 2;
    if (parts[0] == "apis") {
      if (parts.size() < 4) {
        resource_request = false;
      } else {
        group = parts[1];
        at = 3;
      }
    }
  }
  if (!resource_request) {
    return status_body(403, "Forbidden", "forbidden: " + user + method + " path \"" + req.path + "\"",
                       json::object());
  }
  std::string namespace_name;
  if (parts[at] == "namespaces" && parts.size() > at + 2) {
    namespace_name = parts[at + 1];
    at += 2;
  }
  const std::string resource = parts[at];
  const std::string name = parts.size() > at + 1 ? parts[at + 1] : std::string();
  std::string verb = method == "post"   ? "create"
                     : method == "put"  ? "update"
                     : method == "head" ? "get"
                                        : method;
  if (verb == "get" && name.empty()) verb = "list";
  if (verb == "delete" && name.empty()) verb = "deletecollection";
  if (watch && (verb == "get" || verb == "list")) verb = "watch";
  const std::string scope =
      namespace_name.empty() ? " at the cluster scope" : " in the namespace \"" + namespace_name + "\"";
  const std::string qualified = group.empty() ? resource : resource + "." + group;
  json details = json::object();
  if (!name.empty()) details["name"] = name;
  if (!group.empty()) details["group"] = group;
  details["kind"] = resource;
  return status_body(403, "Forbidden",
                     qualified + (name.empty() ? "" : " \"" + name + "\"") + " is forbidden: " + user + verb +
                         " resource \"" + resource + "\" in API group \"" + group + "\"" + scope,
                     details);
}

// httplib keeps serving a kept-alive connection after Server::stop() until its
// keep-alive timeout passes (and answers one more request on it), which is
// neither prompt nor what a dead API server does. Accepted connections are the
// only sockets in the process whose local port is the server's port, so shut
// those down; their worker threads then see EOF and close them.
void shut_down_connections(int port) {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return;
  const int own_fd = ::dirfd(dir);
  while (const dirent* entry = ::readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd == own_fd) continue;
    const int sock = static_cast<int>(fd);
    sockaddr_storage local{};
    socklen_t length = sizeof local;
    if (::getsockname(sock, reinterpret_cast<sockaddr*>(&local), &length) != 0) continue;
    if (local.ss_family != AF_INET) continue;
    if (ntohs(reinterpret_cast<const sockaddr_in*>(&local)->sin_port) != port) continue;
    int listening = 0;
    socklen_t flag_length = sizeof listening;
    if (::getsockopt(sock, SOL_SOCKET, SO_ACCEPTCONN, &listening, &flag_length) == 0 && listening) continue;
    ::shutdown(sock, SHUT_RDWR);
  }
  ::closedir(dir);
}

}  // namespace

struct FakeApiServer::Impl {
  using Key = std::tuple<std::string, std::string, std::string>;  // kind, namespace, name

  struct Event {
    std::uint64_t rv;
    std::string type;
    std::string kind;
    std::string namespace_name;
    std::string name;
    json object;
  };

  struct FailureInjection {
    int remaining = 0;
    int status = 0;
    int retry_after_seconds = 0;
  };

  // One open watch stream; owned by its chunked content provider.
  struct Watch {
    Filter filter;
    std::vector<std::string> pending;  // lines not yet written
    std::uint64_t cursor = 0;          // every event up to here has been considered
    std::uint64_t drop_generation = 0;
    bool bookmarks = false;
    SteadyClock::time_point next_bookmark;
    std::optional<SteadyClock::time_point> deadline;
    bool end_after_pending = false;  // the expired-watch answer: one ERROR line, then done
  };

  Impl(PemPair pems, Options opts) : certificate(std::move(pems)), options(std::move(opts)) {
    tokens = options.tokens;
  }

  // --- store (callers hold mu) -------------------------------------------

  json commit(const ResourceType& type, const std::string& ns, const std::string& name,
              const std::string& event, json object) {
    ++rv;
    object["metadata"]["resourceVersion"] = std::to_string(rv);
    const Key key{type.kind, ns, name};
    if (event == "DELETED") {
      objects.erase(key);
    } else {
      objects[key] = object;
    }
    events.push_back(Event{rv, event, type.kind, ns, name, object});
    changed.notify_all();
    return object;
  }

  std::string new_uid() {
    std::uniform_int_distribution<unsigned> byte(0, 255);
    unsigned char bytes[16];
    for (auto& b : bytes) b = static_cast<unsigned char>(byte(random));
    bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0f) | 0x40);
    bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80);
    static const char* hex = "0123456789abcdef";
    std::string uid;
    for (int i = 0; i < 16; ++i) {
      if (i == 4 || i == 6 || i == 8 || i == 10) uid += '-';
      uid += hex[bytes[i] >> 4];
      uid += hex[bytes[i] & 0x0f];
    }
    return uid;
  }

  // A new object's server-set metadata.
  void stamp_new(json& object) {
    json& meta = object["metadata"];
    meta["uid"] = new_uid();
    meta["creationTimestamp"] = rfc3339_now();
    meta.erase("resourceVersion");
  }

  // --- request handling ----------------------------------------------------

  void handle(const httplib::Request& req, httplib::Response& res) {
    try {
      dispatch(req, res);
    } catch (const std::exception& e) {
      reply_status(res, 500, "InternalError", std::string("fake API server: ") + e.what());
    }
  }

  static bool is_watch(const httplib::Request& req) {
    const std::string watch = req.get_param_value("watch");
    return watch == "true" || watch == "1";
  }

  void dispatch(const httplib::Request& req, httplib::Response& res) {
    std::string token;
    const std::string authorization = req.get_header_value("Authorization");
    if (authorization.size() > 7 && strncasecmp(authorization.c_str(), "Bearer ", 7) == 0) {
      token = authorization.substr(7);
    }
    const bool watch = req.method == "GET" && is_watch(req);
    FailureInjection failure;
    {
      std::lock_guard lock(mu);
      ++counters.requests;
      if (!token.empty()) seen_tokens.push_back(token);
      // No credentials: system:anonymous, refused by RBAC except on public paths.
      if (token.empty() && !public_path(req.path)) {
        ++counters.forbidden;
        reply(res, 403, anonymous_forbidden(req, watch));
        return;
      }
      // A token the server does not know fails authentication, whatever the path.
      if (!token.empty() && tokens.count(token) == 0) {
        ++counters.unauthorized;
        reply(res, 401,
              json{{"kind", "Status"},
                   {"apiVersion", "v1"},
                   {"metadata", json::object()},
                   {"status", "Failure"},
                   {"message", "Unauthorized"},
                   {"reason", "Unauthorized"},
                   {"code", 401}});
        return;
      }
      // After authentication, as API Priority and Fairness (the real source of 429s) runs.
      if (!watch && injection.remaining > 0) {
        --injection.remaining;
        failure = injection;
      }
    }
    if (failure.status != 0) {
      json details;
      if (failure.retry_after_seconds > 0) {
        details = json{{"retryAfterSeconds", failure.retry_after_seconds}};
        res.set_header("Retry-After", std::to_string(failure.retry_after_seconds));
      }
      reply_status(res, failure.status, reason_for(failure.status), default_message(failure.status), details);
      return;
    }
    route(req, res, watch);
  }

  void route(const httplib::Request& req, httplib::Response& res, bool watch) {
    const std::vector<std::string> s = split_path(req.path);
    const std::string& method = req.method;
    const bool get = method == "GET" || method == "HEAD";
    const std::size_t n = s.size();

    if (n == 1 && (s[0] == "healthz" || s[0] == "readyz" || s[0] == "livez")) {
      if (!get) return reply_method_not_allowed(res);
      res.set_content("ok", "text/plain; charset=utf-8");
      return;
    }
    if (n == 1 && s[0] == "version") {
      if (!get) return reply_method_not_allowed(res);
      return reply(res, 200,
                   json{{"major", "1"},
                        {"minor", "36"},
                        {"gitVersion", "v1.36.3-fake"},
                        {"platform", "linux/amd64"},
                        {"goVersion", "go1.22.0"}});
    }
    if (n >= 1 && s[0] == "api") {
      if (n == 1) {
        if (!get) return reply_method_not_allowed(res);
        return reply(res, 200,
                     json{{"kind", "APIVersions"},
                          {"versions", json::array({"v1"})},
                          {"serverAddressByClientCIDRs",
                           json::array({json{{"clientCIDR", "0.0.0.0/0"},
                                             {"serverAddress", "127.0.0.1:" + std::to_string(port)}}})}});
      }
      if (s[1] != "v1") return reply_not_found_path(res);
      if (n == 2) {
        if (!get) return reply_method_not_allowed(res);
        return reply(res, 200, core_resource_list());
      }
      Filter filter;
      filter.type = &kConfigMaps;
      if (n == 3 && s[2] == "configmaps") {
        if (!get) return reply_method_not_allowed(res);
        return collection(req, res, filter, watch);
      }
      if (n >= 5 && s[2] == "namespaces" && s[4] == "configmaps") {
        filter.namespace_name = s[3];
        if (n == 5) {
          if (get) return collection(req, res, filter, watch);
          if (method == "POST") return create_object(req, res, kConfigMaps, s[3]);
          return reply_method_not_allowed(res);
        }
        if (n == 6) {
          if (get) return get_object(res, kConfigMaps, filter, s[5]);
          if (method == "PUT") return update_object(req, res, kConfigMaps, s[3], s[5]);
          if (method == "DELETE") return delete_object(req, res, kConfigMaps, s[3], s[5]);
          return reply_method_not_allowed(res);
        }
      }
      return reply_not_found_path(res);
    }
    if (n >= 1 && s[0] == "apis") {
      if (n == 1) {
        if (!get) return reply_method_not_allowed(res);
        json groups = json::array();
        if (!options.strimzi_versions.empty()) {
          // The list's entries are APIGroups without their own kind and apiVersion.
          json group = strimzi_group();
          group.erase("kind");
          group.erase("apiVersion");
          groups.push_back(std::move(group));
        }
        return reply(res, 200, json{{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", groups}});
      }
      if (s[1] == kCoordinationGroup) return route_leases(req, res, s, watch);
      if (s[1] != kStrimziGroup || options.strimzi_versions.empty()) return reply_page_not_found(res);
      if (n == 2) {
        if (!get) return reply_method_not_allowed(res);
        return reply(res, 200, strimzi_group());
      }
      const std::string& version = s[2];
      if (std::find(options.strimzi_versions.begin(), options.strimzi_versions.end(), version) ==
          options.strimzi_versions.end()) {
        return reply_page_not_found(res);
      }
      if (n == 3) {
        if (!get) return reply_method_not_allowed(res);
        return reply(res, 200, strimzi_resource_list(version));
      }
      Filter filter;
      filter.version = version;
      if (n == 4) {
        filter.type = strimzi_resource_by_plural(s[3]);
        if (filter.type == nullptr) return reply_page_not_found(res);
        if (!get) return reply_method_not_allowed(res);
        return collection(req, res, filter, watch);
      }
      if (s[3] != "namespaces" || n < 6 || n > 7) return reply_page_not_found(res);
      filter.type = strimzi_resource_by_plural(s[5]);
      if (filter.type == nullptr) return reply_page_not_found(res);
      filter.namespace_name = s[4];
      // cdc-guard only reads custom resources; writes go through apply().
      if (!get) return reply_method_not_allowed(res);
      if (n == 6) return collection(req, res, filter, watch);
      return get_object(res, *filter.type, filter, s[6]);
    }
    reply_page_not_found(res);
  }

  // coordination.k8s.io/v1 Leases, written by clients like ConfigMaps. The
  // group's discovery documents are not served.
  void route_leases(const httplib::Request& req, httplib::Response& res, const std::vector<std::string>& s,
                    bool watch) {
    const std::size_t n = s.size();
    const bool get = req.method == "GET" || req.method == "HEAD";
    if (n < 4 || s[2] != "v1") return reply_page_not_found(res);
    Filter filter;
    filter.type = &kLeases;
    if (n == 4 && s[3] == "leases") {
      if (!get) return reply_method_not_allowed(res);
      return collection(req, res, filter, watch);
    }
    if (s[3] != "namespaces" || n < 6 || n > 7 || s[5] != "leases") return reply_page_not_found(res);
    filter.namespace_name = s[4];
    if (n == 6) {
      if (get) return collection(req, res, filter, watch);
      if (req.method == "POST") return create_object(req, res, kLeases, s[4]);
      return reply_method_not_allowed(res);
    }
    if (get) return get_object(res, kLeases, filter, s[6]);
    if (req.method == "PUT") return update_object(req, res, kLeases, s[4], s[6]);
    if (req.method == "DELETE") return delete_object(req, res, kLeases, s[4], s[6]);
    return reply_method_not_allowed(res);
  }

  // --- discovery -------------------------------------------------------------

  json strimzi_group() const {
    json versions = json::array();
    for (const auto& v : options.strimzi_versions) {
      versions.push_back({{"groupVersion", std::string(kStrimziGroup) + "/" + v}, {"version", v}});
    }
    return json{{"kind", "APIGroup"},
                {"apiVersion", "v1"},
                {"name", kStrimziGroup},
                {"versions", versions},
                {"preferredVersion", versions.front()}};
  }

  static json strimzi_resource_list(const std::string& version) {
    const json verbs = {"delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"};
    const json status_verbs = {"get", "patch", "update"};
    json resources = json::array();
    // Both CRDs have the status and scale subresources; storageVersionHash is
    // left out. (The real server's order changes from run to run.)
    const std::pair<const ResourceType*, const char*> types[] = {{&kKafkaConnects, "kc"},
                                                                 {&kKafkaConnectors, "kctr"}};
    for (const auto& [type, short_name] : types) {
      const std::string plural = type->plural;
      resources.push_back({{"name", plural},
                           {"singularName", plural.substr(0, plural.size() - 1)},
                           {"namespaced", true},
                           {"kind", type->kind},
                           {"verbs", verbs},
                           {"shortNames", json::array({short_name})},
                           {"categories", json::array({"strimzi"})}});
      resources.push_back({{"name", plural + "/status"},
                           {"singularName", ""},
                           {"namespaced", true},
                           {"kind", type->kind},
                           {"verbs", status_verbs}});
      resources.push_back({{"name", plural + "/scale"},
                           {"singularName", ""},
                           {"namespaced", true},
                           {"group", "autoscaling"},
                           {"version", "v1"},
                           {"kind", "Scale"},
                           {"verbs", status_verbs}});
    }
    return json{{"kind", "APIResourceList"},
                {"apiVersion", "v1"},
                {"groupVersion", std::string(kStrimziGroup) + "/" + version},
                {"resources", resources}};
  }

  static json core_resource_list() {
    return json{
        {"kind", "APIResourceList"},
        {"groupVersion", "v1"},
        {"resources",
         json::array({json{
             {"name", "configmaps"},
             {"singularName", "configmap"},
             {"namespaced", true},
             {"kind", "ConfigMap"},
             {"verbs", {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}},
             {"shortNames", json::array({"cm"})}}})}};
  }

  // --- reads -------------------------------------------------------------------

  void get_object(httplib::Response& res, const ResourceType& type, const Filter& filter,
                  const std::string& name) {
    std::lock_guard lock(mu);
    const auto it = objects.find(Key{type.kind, filter.namespace_name, name});
    if (it == objects.end()) {
      return reply_status(res, 404, "NotFound", qualified_plural(type) + " \"" + name + "\" not found",
                          object_details(type, name));
    }
    reply(res, 200, filter.present(it->second));
  }

  void collection(const httplib::Request& req, httplib::Response& res, Filter& filter, bool watch) {
    if (const std::string error =
            parse_field_selector(req.get_param_value("fieldSelector"), *filter.type, filter.fields);
        !error.empty()) {
      return reply_status(res, 400, "BadRequest", error);
    }
    const std::string rv_text = req.get_param_value("resourceVersion");
    std::optional<std::uint64_t> from;  // nullopt: "" or "0", i.e. the current state
    if (!rv_text.empty() && rv_text != "0") {
      std::uint64_t parsed = 0;
      if (!parse_resource_version(rv_text, parsed)) {
        // The real server's words; a watch gets them as a 500 without a reason.
        const std::string invalid = "resourceVersion: Invalid value: \"" + rv_text +
                                    "\": strconv.ParseUint: parsing \"" + rv_text + "\": invalid syntax";
        if (watch) {
          json status = status_body(500, "", invalid);
          status.erase("reason");
          return reply(res, 500, status);
        }
        return reply_status(res, 400, "BadRequest", "invalid resource version: " + invalid);
      }
      from = parsed;
    }
    if (watch) return open_watch(req, res, filter, from);
    list(res, filter, from);
  }

  std::string too_old_message(std::uint64_t requested) const {
    return "too old resource version: " + std::to_string(requested) + " (" + std::to_string(compacted) + ")";
  }

  // A resourceVersion on a LIST means "not older than" (resourceVersionMatch is
  // not supported): the real server answers the current state, however old
  // the version is, so a LIST never answers 410; only watches expire.
  void list(httplib::Response& res, const Filter& filter, std::optional<std::uint64_t> from) {
    std::lock_guard lock(mu);
    ++counters.lists;
    if (from && *from > rv) {
      return reply_status(res, 504, "Timeout",
                          "Timeout: Too large resource version: " + std::to_string(*from) +
                              ", current: " + std::to_string(rv),
                          json{{"causes", json::array({json{{"reason", "ResourceVersionTooLarge"},
                                                            {"message", "Too large resource version"}}})},
                               {"retryAfterSeconds", 1}});
    }
    json items = json::array();
    for (const auto& [key, object] : objects) {
      if (std::get<0>(key) != filter.type->kind) continue;
      if (!filter.matches(std::get<1>(key), std::get<2>(key))) continue;
      json item = filter.present(object);
      // Items of a built-in type's list carry no kind or apiVersion (a custom
      // resource's do: they are unstructured).
      if (!filter.type->strimzi) {
        item.erase("kind");
        item.erase("apiVersion");
      }
      items.push_back(std::move(item));
    }
    json metadata{{"resourceVersion", std::to_string(rv)}};
    if (filter.type->strimzi) metadata["continue"] = "";
    reply(res, 200,
          json{{"kind", std::string(filter.type->kind) + "List"},
               {"apiVersion", filter.api_version()},
               {"metadata", metadata},
               {"items", items}});
  }

  static json bookmark_object(const Filter& filter, std::uint64_t resource_version) {
    return json{{"kind", filter.type->kind},
                {"apiVersion", filter.api_version()},
                {"metadata", {{"resourceVersion", std::to_string(resource_version)}}}};
  }

  static std::string event_line(const std::string& type, const json& object) {
    return json{{"type", type}, {"object", object}}.dump() + "\n";
  }

  void open_watch(const httplib::Request& req, httplib::Response& res, const Filter& filter,
                  std::optional<std::uint64_t> from) {
    auto state = std::make_shared<Watch>();
    state->filter = filter;
    const std::string bookmarks = req.get_param_value("allowWatchBookmarks");
    state->bookmarks = bookmarks == "true" || bookmarks == "1";
    const auto now = SteadyClock::now();
    state->next_bookmark = now + options.bookmark_interval;
    if (const std::string timeout = req.get_param_value("timeoutSeconds"); !timeout.empty()) {
      std::uint64_t seconds = 0;
      if (!parse_resource_version(timeout, seconds)) {
        return reply_status(res, 400, "BadRequest", "invalid timeoutSeconds: " + timeout);
      }
      state->deadline = now + std::chrono::seconds(seconds);
    }
    {
      std::lock_guard lock(mu);
      ++counters.watches;
      state->drop_generation = drop_generation;
      if (from && *from < compacted) {
        ++counters.gone;
        state->pending.push_back(event_line("ERROR", status_body(410, "Expired", too_old_message(*from))));
        state->end_after_pending = true;
      } else if (from) {
        state->cursor = *from;
      } else {
        for (const auto& [key, object] : objects) {
          if (std::get<0>(key) != filter.type->kind) continue;
          if (!filter.matches(std::get<1>(key), std::get<2>(key))) continue;
          state->pending.push_back(event_line("ADDED", filter.present(object)));
        }
        state->cursor = rv;
        // With bookmarks allowed, the real server marks the end of the
        // synthetic ADDED events with an annotated bookmark.
        if (state->bookmarks) {
          json end = bookmark_object(filter, rv);
          end["metadata"]["annotations"] = {{"k8s.io/initial-events-end", "true"}};
          state->pending.push_back(event_line("BOOKMARK", end));
        }
      }
    }
    res.status = 200;
    res.set_chunked_content_provider("application/json", [this, state](std::size_t, httplib::DataSink& sink) {
      return pump(*state, sink);
    });
  }

  // Called by httplib again and again until the stream ends; each call waits
  // a little for changes, so stop() and drop_watches() are noticed promptly.
  bool pump(Watch& watch, httplib::DataSink& sink) {
    bool end = watch.end_after_pending;
    {
      std::unique_lock lock(mu);
      if (watch.pending.empty() && !end) {
        auto wake = SteadyClock::now() + std::chrono::milliseconds(50);
        if (watch.bookmarks) wake = std::min(wake, watch.next_bookmark);
        if (watch.deadline) wake = std::min(wake, *watch.deadline);
        changed.wait_until(lock, wake, [&] {
          return stopping || drop_generation != watch.drop_generation || rv > watch.cursor;
        });
      }
      // A stopped server is gone: the connection breaks without the chunked terminator.
      if (stopping) return false;
      if (drop_generation != watch.drop_generation) end = true;
      if (!end && rv > watch.cursor) {
        const auto first = std::upper_bound(events.begin(), events.end(), watch.cursor,
                                            [](std::uint64_t value, const Event& e) { return value < e.rv; });
        for (auto it = first; it != events.end(); ++it) {
          if (it->kind != watch.filter.type->kind) continue;
          if (!watch.filter.matches(it->namespace_name, it->name)) continue;
          watch.pending.push_back(event_line(it->type, watch.filter.present(it->object)));
        }
        watch.cursor = rv;
      }
      const auto now = SteadyClock::now();
      if (!end && watch.bookmarks && now >= watch.next_bookmark) {
        watch.pending.push_back(event_line("BOOKMARK", bookmark_object(watch.filter, watch.cursor)));
        watch.next_bookmark = now + options.bookmark_interval;
      }
      if (watch.deadline && now >= *watch.deadline) end = true;
    }
    std::vector<std::string> lines;
    lines.swap(watch.pending);
    for (const auto& line : lines) {
      if (!sink.write(line.data(), line.size())) return false;
    }
    if (end) sink.done();
    return true;
  }

  // --- writes of ConfigMaps and Leases ------------------------------------------------

  // Returns false (and answers) when the body is not a `type` for this URL.
  static bool parse_body(const httplib::Request& req, httplib::Response& res, const ResourceType& type,
                         const std::string& ns, json& body) {
    body = json::parse(req.body, nullptr, false);
    if (!body.is_object() || (body.contains("metadata") && !body["metadata"].is_object())) {
      reply_status(res, 400, "BadRequest", "the body of the request was in an unknown format");
      return false;
    }
    if (body.contains("kind") && body["kind"] != type.kind) {
      reply_status(res, 400, "BadRequest",
                   std::string("the kind of the object does not match: expected ") + type.kind);
      return false;
    }
    json& meta = body["metadata"];
    if (meta.contains("namespace") && meta["namespace"] != ns) {
      reply_status(res, 400, "BadRequest",
                   "the namespace of the provided object does not match the namespace sent on the request");
      return false;
    }
    if (meta.contains("resourceVersion") && !meta["resourceVersion"].is_string()) {
      reply_status(res, 400, "BadRequest", "metadata.resourceVersion must be a string");
      return false;
    }
    body["kind"] = type.kind;
    body["apiVersion"] = *type.group ? std::string(type.group) + "/v1" : "v1";
    meta["namespace"] = ns;
    return true;
  }

  void create_object(const httplib::Request& req, httplib::Response& res, const ResourceType& type,
                     const std::string& ns) {
    json body;
    if (!parse_body(req, res, type, ns, body)) return;
    const std::string name = body["metadata"].value("name", std::string());
    if (name.empty()) {
      return reply_invalid(res, type, false, "", "metadata.name", "FieldValueRequired",
                           "Required value: name or generateName is required");
    }
    std::lock_guard lock(mu);
    if (objects.count(Key{type.kind, ns, name})) {
      ++counters.conflicts;
      return reply_status(res, 409, "AlreadyExists",
                          qualified_plural(type) + " \"" + name + "\" already exists",
                          object_details(type, name));
    }
    stamp_new(body);
    reply(res, 201, commit(type, ns, name, "ADDED", std::move(body)));
  }

  // 422 Invalid with one cause, as apierrors.NewInvalid words it. The object
  // is named by its kind where validation refuses it (a missing name), by its
  // resource where the update path does (a missing resourceVersion).
  static void reply_invalid(httplib::Response& res, const ResourceType& type, bool by_resource,
                            const std::string& name, const std::string& field, const std::string& reason,
                            const std::string& message) {
    json details = json::object();
    if (!name.empty()) details["name"] = name;
    if (*type.group) details["group"] = type.group;
    details["kind"] = by_resource ? type.plural : type.kind;
    details["causes"] = json::array({json{{"reason", reason}, {"message", message}, {"field", field}}});
    reply_status(res, 422, "Invalid",
                 (by_resource ? qualified_plural(type) : qualified_kind(type)) + " \"" + name +
                     "\" is invalid: " + field + ": " + message,
                 details);
  }

  void update_object(const httplib::Request& req, httplib::Response& res, const ResourceType& type,
                     const std::string& ns, const std::string& name) {
    if (&type == &kConfigMaps) {
      std::lock_guard lock(mu);
      ++counters.configmap_puts;
    }
    json body;
    if (!parse_body(req, res, type, ns, body)) return;
    json& meta = body["metadata"];
    const std::string body_name = meta.value("name", std::string());
    if (body_name != name) {
      return reply_status(
          res, 400, "BadRequest",
          "the name of the object (" + body_name + ") does not match the name on the URL (" + name + ")");
    }
    std::chrono::milliseconds delay{0};
    if (&type == &kConfigMaps) {
      std::lock_guard lock(mu);
      delay = put_delay;
    }
    if (delay.count() > 0) {
      // The wait releases the lock, so concurrent PUTs overlap and really race;
      // stop() cuts it short.
      std::unique_lock lock(mu);
      changed.wait_for(lock, delay, [&] { return stopping; });
    }
    const std::string wanted_rv = meta.value("resourceVersion", std::string());
    // A Lease's strategy refuses unconditional updates (a ConfigMap's allows
    // them), and creates a missing Lease on update (a ConfigMap's does not).
    const bool lease = &type == &kLeases;
    if (wanted_rv.empty() && lease) {
      return reply_invalid(res, type, true, name, "metadata.resourceVersion", "FieldValueInvalid",
                           "Invalid value: 0: must be specified for an update");
    }
    std::lock_guard lock(mu);
    const auto it = objects.find(Key{type.kind, ns, name});
    if (it == objects.end() && lease) {
      stamp_new(body);
      return reply(res, 201, commit(type, ns, name, "ADDED", std::move(body)));
    }
    if (it == objects.end()) {
      return reply_status(res, 404, "NotFound", qualified_plural(type) + " \"" + name + "\" not found",
                          object_details(type, name));
    }
    const json& stored = it->second;
    const std::string& stored_rv = stored["metadata"]["resourceVersion"].get_ref<const std::string&>();
    if (!wanted_rv.empty() && wanted_rv != stored_rv) {
      ++counters.conflicts;
      return reply_status(res, 409, "Conflict",
                          "Operation cannot be fulfilled on " + qualified_plural(type) + " \"" + name +
                              "\": the object has been modified; please apply your changes to the latest "
                              "version and try again",
                          object_details(type, name));
    }
    // uid and creationTimestamp are the server's, whatever the client sent.
    for (const char* field : {"uid", "creationTimestamp"}) {
      if (stored["metadata"].contains(field)) meta[field] = stored["metadata"][field];
    }
    meta["resourceVersion"] = stored_rv;
    // Like the real server (and etcd), an update that changes nothing writes nothing.
    if (body == stored) return reply(res, 200, stored);
    reply(res, 200, commit(type, ns, name, "MODIFIED", std::move(body)));
  }

  void delete_object(const httplib::Request& req, httplib::Response& res, const ResourceType& type,
                     const std::string& ns, const std::string& name) {
    std::string precondition_rv;
    if (!req.body.empty()) {
      const json options_body = json::parse(req.body, nullptr, false);
      if (!options_body.is_object()) return reply_status(res, 400, "BadRequest", "invalid DeleteOptions");
      if (options_body.contains("preconditions") && options_body["preconditions"].is_object()) {
        precondition_rv = options_body["preconditions"].value("resourceVersion", std::string());
      }
    }
    std::lock_guard lock(mu);
    const auto it = objects.find(Key{type.kind, ns, name});
    if (it == objects.end()) {
      return reply_status(res, 404, "NotFound", qualified_plural(type) + " \"" + name + "\" not found",
                          object_details(type, name));
    }
    const json stored = it->second;
    const std::string stored_rv = stored["metadata"].value("resourceVersion", std::string());
    if (!precondition_rv.empty() && precondition_rv != stored_rv) {
      json details{{"name", name}};
      if (*type.group) details["group"] = type.group;
      details["kind"] = type.kind;
      return reply_status(res, 409, "Conflict",
                          "Operation cannot be fulfilled on " + qualified_kind(type) + " \"" + name +
                              "\": the ResourceVersion in the precondition (" + precondition_rv +
                              ") does not match the ResourceVersion in record (" + stored_rv +
                              "). The object might have been modified",
                          details);
    }
    commit(type, ns, name, "DELETED", stored);
    json details = object_details(type, name);
    details["uid"] = stored["metadata"].value("uid", std::string());
    reply(res, 200,
          json{{"kind", "Status"},
               {"apiVersion", "v1"},
               {"metadata", json::object()},
               {"status", "Success"},
               {"details", details}});
  }

  // --- lifecycle -------------------------------------------------------------------

  std::unique_ptr<httplib::SSLServer> make_server() {
    BIO* cert_bio = BIO_new_mem_buf(certificate.cert.data(), static_cast<int>(certificate.cert.size()));
    X509* cert = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
    BIO_free(cert_bio);
    BIO* key_bio = BIO_new_mem_buf(certificate.key.data(), static_cast<int>(certificate.key.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
    BIO_free(key_bio);
    if (cert == nullptr || key == nullptr) {
      X509_free(cert);
      EVP_PKEY_free(key);
      throw std::runtime_error("fake API server: cannot read the serving certificate or key");
    }
    // The SSL_CTX takes its own references.
    auto created = std::make_unique<httplib::SSLServer>(cert, key);
    X509_free(cert);
    EVP_PKEY_free(key);
    if (!created->is_valid()) throw std::runtime_error("fake API server: cannot set up TLS");

    const int threads = std::max(options.threads, 1);
    created->new_task_queue = [threads] {
      return new httplib::ThreadPool(static_cast<std::size_t>(threads));
    };
    // httplib's default adds SO_REUSEPORT, which would let a second listener share
    // the port; restarting on the same port past TIME_WAIT needs SO_REUSEADDR only.
    created->set_socket_options([](socket_t sock) {
      const int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    created->set_tcp_nodelay(true);
    const auto handler = [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); };
    created->Get(".*", handler);
    created->Put(".*", handler);
    created->Post(".*", handler);
    created->Delete(".*", handler);
    created->Patch(".*", handler);
    created->Options(".*", handler);
    return created;
  }

  PemPair certificate;
  Options options;

  mutable std::mutex mu;
  std::condition_variable changed;  // a write, drop_watches(), stop()
  std::set<std::string> tokens;
  std::map<Key, json> objects;
  // Every change ever made. compact() only moves `compacted`: watches already
  // open keep every event they have not sent yet, as real watchers do.
  std::vector<Event> events;
  std::uint64_t rv = 1;  // etcd's revision on an empty store
  std::uint64_t compacted = 0;
  std::uint64_t drop_generation = 0;
  bool stopping = false;
  FailureInjection injection;
  std::chrono::milliseconds put_delay{0};
  Counters counters;
  std::vector<std::string> seen_tokens;
  std::mt19937_64 random{std::random_device{}()};

  // Lifecycle, guarded by lifecycle_mu (never taken by request handlers).
  std::mutex lifecycle_mu;
  std::unique_ptr<httplib::SSLServer> server;
  std::thread listener;
  std::atomic<int> port{0};
};

FakeApiServer::FakeApiServer(PemPair serving_certificate, Options options)
    : impl_(std::make_unique<Impl>(std::move(serving_certificate), std::move(options))) {}

FakeApiServer::~FakeApiServer() {
  stop();
}

void FakeApiServer::start(int port) {
  Impl& m = *impl_;
  std::lock_guard lifecycle(m.lifecycle_mu);
  if (m.server) return;
  // A client that hangs up mid-stream must not kill the test process.
  std::signal(SIGPIPE, SIG_IGN);
  if (port == 0) port = m.port.load();
  {
    std::lock_guard lock(m.mu);
    m.stopping = false;
  }
  auto server = m.make_server();
  int bound = -1;
  if (port == 0) {
    bound = server->bind_to_any_port("127.0.0.1");
  } else {
    // The port may still be held for a moment by the previous listener's close.
    const auto deadline = SteadyClock::now() + std::chrono::seconds(30);  // a hang guard
    while (bound < 0 && SteadyClock::now() < deadline) {
      if (server->bind_to_port("127.0.0.1", port)) {
        bound = port;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
  }
  if (bound <= 0)
    throw std::runtime_error("fake API server: cannot listen on 127.0.0.1:" + std::to_string(port));
  m.port = bound;
  httplib::SSLServer* raw = server.get();
  m.server = std::move(server);
  m.listener = std::thread([raw] { raw->listen_after_bind(); });
  // The socket already accepts; wait for the accept loop so stop() cannot race it.
  while (!raw->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void FakeApiServer::stop() {
  Impl& m = *impl_;
  std::lock_guard lifecycle(m.lifecycle_mu);
  if (!m.server) return;
  {
    std::lock_guard lock(m.mu);
    m.stopping = true;
  }
  m.changed.notify_all();
  m.server->stop();
  shut_down_connections(m.port);
  m.listener.join();
  m.server.reset();
}

int FakeApiServer::port() const {
  return impl_->port;
}

std::string FakeApiServer::url() const {
  return "https://127.0.0.1:" + std::to_string(port());
}

void FakeApiServer::set_tokens(std::set<std::string> tokens) {
  std::lock_guard lock(impl_->mu);
  impl_->tokens = std::move(tokens);
}

nlohmann::json FakeApiServer::apply(const nlohmann::json& object) {
  const std::string kind = object.value("kind", std::string());
  const ResourceType* type = resource_by_kind(kind);
  if (type == nullptr) throw std::invalid_argument("fake API server: cannot store kind '" + kind + "'");
  if (!object.contains("metadata") || !object["metadata"].is_object()) {
    throw std::invalid_argument("fake API server: object without metadata");
  }
  const std::string ns = object["metadata"].value("namespace", std::string());
  const std::string name = object["metadata"].value("name", std::string());
  if (ns.empty() || name.empty()) {
    throw std::invalid_argument("fake API server: metadata.name and metadata.namespace are required");
  }
  Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  json stored = object;
  const auto it = m.objects.find(Impl::Key{type->kind, ns, name});
  if (it == m.objects.end()) {
    m.stamp_new(stored);
    if (type->strimzi) stored["metadata"]["generation"] = 1;
    return m.commit(*type, ns, name, "ADDED", std::move(stored));
  }
  const json& previous = it->second["metadata"];
  for (const char* field : {"uid", "creationTimestamp"}) {
    if (previous.contains(field)) stored["metadata"][field] = previous[field];
  }
  if (type->strimzi) {
    // Custom resources count spec changes in metadata.generation.
    const std::int64_t generation = previous.value("generation", std::int64_t{1});
    const bool spec_changed = object.value("spec", json()) != it->second.value("spec", json());
    stored["metadata"]["generation"] = spec_changed ? generation + 1 : generation;
  }
  return m.commit(*type, ns, name, "MODIFIED", std::move(stored));
}

bool FakeApiServer::remove(const std::string& kind, const std::string& namespace_name,
                           const std::string& name) {
  const ResourceType* type = resource_by_kind(kind);
  if (type == nullptr) throw std::invalid_argument("fake API server: unknown kind '" + kind + "'");
  Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  const auto it = m.objects.find(Impl::Key{type->kind, namespace_name, name});
  if (it == m.objects.end()) return false;
  const json last = it->second;
  m.commit(*type, namespace_name, name, "DELETED", last);
  return true;
}

std::optional<nlohmann::json> FakeApiServer::get(const std::string& kind, const std::string& namespace_name,
                                                 const std::string& name) const {
  std::lock_guard lock(impl_->mu);
  const auto it = impl_->objects.find(Impl::Key{kind, namespace_name, name});
  if (it == impl_->objects.end()) return std::nullopt;
  return it->second;
}

std::uint64_t FakeApiServer::resource_version() const {
  std::lock_guard lock(impl_->mu);
  return impl_->rv;
}

void FakeApiServer::compact() {
  std::lock_guard lock(impl_->mu);
  impl_->compacted = impl_->rv;
}

void FakeApiServer::drop_watches() {
  {
    std::lock_guard lock(impl_->mu);
    ++impl_->drop_generation;
  }
  impl_->changed.notify_all();
}

void FakeApiServer::fail_next(int count, int status, int retry_after_seconds) {
  std::lock_guard lock(impl_->mu);
  impl_->injection = Impl::FailureInjection{count, status, retry_after_seconds};
}

void FakeApiServer::set_put_delay(std::chrono::milliseconds delay) {
  std::lock_guard lock(impl_->mu);
  impl_->put_delay = delay;
}

FakeApiServer::Counters FakeApiServer::counters() const {
  std::lock_guard lock(impl_->mu);
  return impl_->counters;
}

std::vector<std::string> FakeApiServer::tokens_seen() const {
  std::lock_guard lock(impl_->mu);
  return impl_->seen_tokens;
}

}  // namespace cdcguard::testing_support
