#include "cdcguard/admission_review.hpp"

#include <simdjson.h>

#include <algorithm>

namespace cdcguard::admission {
namespace {

constexpr std::string_view kApiVersion = "admission.k8s.io/v1";

const nlohmann::json* member(const nlohmann::json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

std::string string_member(const nlohmann::json& obj, const char* key) {
  const nlohmann::json* v = member(obj, key);
  return v && v->is_string() ? v->get<std::string>() : std::string{};
}

std::string cut_warning(const std::string& w) {
  if (w.size() <= kMaxWarningLength) return w;
  std::size_t cut = kMaxWarningLength - 3;
  while (cut > 0 && (static_cast<unsigned char>(w[cut]) & 0xC0) == 0x80) --cut;  // keep UTF-8 whole
  return w.substr(0, cut) + "...";
}

// The deepest nesting of arrays and objects outside strings. Copying and
// converting a parsed document recurses, so a hostile body of a million '['
// must be refused before it is parsed.
std::size_t nesting_depth(std::string_view body) {
  std::size_t depth = 0;
  std::size_t deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

// Adds or replaces (a repeated key: the last one counts, as in nlohmann::json).
void set_entry(YamlNode& map, std::string_view key, YamlNode value) {
  for (auto& [k, v] : map.mutable_entries()) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  map.mutable_entries().emplace_back(std::string(key), std::move(value));
  map.mutable_key_lines().push_back(0);
}

// Parts of an object no rule reads that can be large (managedFields, the
// last-applied annotation repeating the whole object, status): not converted
// on the fast path, erased on the other, so both give the same Request.
bool pruned_object_key(std::string_view key) {
  return key == "status";
}
bool pruned_metadata_key(std::string_view key) {
  return key == "managedFields" || key == "annotations";
}

void prune_object(nlohmann::json& object) {
  if (!object.is_object()) return;
  object.erase("status");
  if (auto md = object.find("metadata"); md != object.end() && md->is_object()) {
    md->erase("managedFields");
    md->erase("annotations");
  }
}

// A scalar as yaml_from_json writes it: strings quoted, numbers and booleans
// as nlohmann::json would print them.
YamlNode yaml_from_simdjson(simdjson::dom::element e) {
  using simdjson::dom::element_type;
  switch (e.type()) {
    case element_type::ARRAY: {
      YamlNode n = YamlNode::make_sequence(0);
      for (simdjson::dom::element v : simdjson::dom::array(e))
        n.mutable_items().push_back(yaml_from_simdjson(v));
      return n;
    }
    case element_type::OBJECT: {
      YamlNode n = YamlNode::make_map(0);
      const simdjson::dom::object fields(e);
      n.mutable_entries().reserve(fields.size());
      n.mutable_key_lines().reserve(fields.size());
      for (auto field : fields) set_entry(n, field.key, yaml_from_simdjson(field.value));
      return n;
    }
    case element_type::INT64:
      return YamlNode::make_scalar(std::to_string(std::int64_t(e)), 0, false, false);
    case element_type::UINT64:
      return YamlNode::make_scalar(std::to_string(std::uint64_t(e)), 0, false, false);
    case element_type::DOUBLE:
      return YamlNode::make_scalar(nlohmann::json(double(e)).dump(), 0, false, false);
    case element_type::STRING:
      return YamlNode::make_scalar(std::string(std::string_view(e)), 0, true, false);
    case element_type::BOOL:
      return YamlNode::make_scalar(bool(e) ? "true" : "false", 0, false, false);
    case element_type::NULL_VALUE:
      break;
  }
  return YamlNode::make_null(0);
}

YamlNode kubernetes_object_from_simdjson(simdjson::dom::element e) {
  if (!e.is_object()) return yaml_from_simdjson(e);
  YamlNode out = YamlNode::make_map(0);
  for (auto field : simdjson::dom::object(e)) {
    if (pruned_object_key(field.key)) continue;
    if (field.key == "metadata" && field.value.is_object()) {
      YamlNode metadata = YamlNode::make_map(0);
      for (auto m : simdjson::dom::object(field.value)) {
        if (!pruned_metadata_key(m.key)) set_entry(metadata, m.key, yaml_from_simdjson(m.value));
      }
      set_entry(out, "metadata", std::move(metadata));
    } else {
      set_entry(out, field.key, yaml_from_simdjson(field.value));
    }
  }
  return out;
}

// What parse_review reads of a body, whichever parser read it. Repeated keys:
// the last one counts (as in nlohmann::json); a member of the wrong type
// reads as absent or empty, as string_member() does.
struct Envelope {
  bool is_object = false;
  std::string api_version;
  std::string kind;
  bool has_request = false;  // `request` is an object
  Request request;
  bool has_object = false;
};

std::string_view text_of(simdjson::dom::element e) {
  return e.is_string() ? std::string_view(e) : std::string_view();
}

void request_from_simdjson(simdjson::dom::object fields, Envelope& env) {
  Request& r = env.request;
  for (auto f : fields) {
    const std::string_view key = f.key;
    if (key == "uid") {
      r.uid = text_of(f.value);
    } else if (key == "kind") {
      r.kind = {};
      if (f.value.is_object()) {
        for (auto k : simdjson::dom::object(f.value)) {
          if (k.key == "group") r.kind.group = text_of(k.value);
          if (k.key == "version") r.kind.version = text_of(k.value);
          if (k.key == "kind") r.kind.kind = text_of(k.value);
        }
      }
    } else if (key == "operation") {
      r.operation = text_of(f.value);
    } else if (key == "namespace") {
      r.namespace_name = text_of(f.value);
    } else if (key == "name") {
      r.name = text_of(f.value);
    } else if (key == "dryRun") {
      r.dry_run = f.value.is_bool() && bool(f.value);
    } else if (key == "userInfo") {
      r.username.clear();
      if (f.value.is_object()) {
        for (auto u : simdjson::dom::object(f.value)) {
          if (u.key == "username") r.username = text_of(u.value);
        }
      }
    } else if (key == "object") {
      r.object = kubernetes_object_from_simdjson(f.value);
      env.has_object = true;
    } else if (key == "oldObject") {
      r.old_object = kubernetes_object_from_simdjson(f.value);
    }
  }
}

Envelope envelope_from_simdjson(simdjson::dom::element root) {
  Envelope env;
  if (!root.is_object()) return env;
  env.is_object = true;
  for (auto f : simdjson::dom::object(root)) {
    if (f.key == "apiVersion") {
      env.api_version = text_of(f.value);
    } else if (f.key == "kind") {
      env.kind = text_of(f.value);
    } else if (f.key == "request") {
      env.request = Request{};
      env.has_object = false;
      env.has_request = f.value.is_object();
      if (env.has_request) request_from_simdjson(simdjson::dom::object(f.value), env);
    }
  }
  return env;
}

Envelope envelope_from_json(nlohmann::json& doc) {
  Envelope env;
  if (!doc.is_object()) return env;
  env.is_object = true;
  env.api_version = string_member(doc, "apiVersion");
  env.kind = string_member(doc, "kind");
  auto req_it = doc.find("request");
  env.has_request = req_it != doc.end() && req_it->is_object();
  if (!env.has_request) return env;
  nlohmann::json& req = *req_it;
  Request& r = env.request;
  r.uid = string_member(req, "uid");
  if (const nlohmann::json* k = member(req, "kind")) {
    r.kind = {string_member(*k, "group"), string_member(*k, "version"), string_member(*k, "kind")};
  }
  r.operation = string_member(req, "operation");
  r.namespace_name = string_member(req, "namespace");
  r.name = string_member(req, "name");
  if (const nlohmann::json* d = member(req, "dryRun"); d && d->is_boolean()) r.dry_run = d->get<bool>();
  if (const nlohmann::json* u = member(req, "userInfo")) r.username = string_member(*u, "username");
  if (auto o = req.find("object"); o != req.end()) {
    prune_object(*o);
    r.object = yaml_from_json(*o);
    env.has_object = true;
  }
  if (auto o = req.find("oldObject"); o != req.end()) {
    prune_object(*o);
    r.old_object = yaml_from_json(*o);
  }
  return env;
}

std::variant<Request, ParseError> review_from_envelope(Envelope env) {
  if (!env.is_object)
    return ParseError{400, "the body must be a JSON object (an AdmissionReview)", std::nullopt};
  if (env.kind != "AdmissionReview" || env.api_version != kApiVersion) {
    return ParseError{400,
                      "expected apiVersion admission.k8s.io/v1, kind AdmissionReview; got apiVersion \"" +
                          env.api_version + "\", kind \"" + env.kind + "\"",
                      std::nullopt};
  }
  if (!env.has_request) return ParseError{400, "the AdmissionReview has no request", std::nullopt};
  Request& r = env.request;
  if (r.uid.empty()) return ParseError{400, "the AdmissionReview request has no uid", std::nullopt};
  if (r.operation != "CREATE" && r.operation != "UPDATE" && r.operation != "DELETE" &&
      r.operation != "CONNECT") {
    return ParseError{400, "unknown operation \"" + r.operation + "\"", r.uid};
  }
  if ((r.operation == "CREATE" || r.operation == "UPDATE") && !r.object.is_map()) {
    return ParseError{400, r.operation + " request without an object", r.uid};
  }
  return std::move(r);
}

// Bodies up to this size are parsed by a parser kept per thread (its buffers
// are reused); larger ones by a parser of their own, freed afterwards, so 64
// threads never each keep megabytes.
constexpr std::size_t kReusedParserCapacity = 256 * 1024;

std::optional<Envelope> fast_parse(std::string_view body) {
  const auto parse = [&](simdjson::dom::parser& parser) -> std::optional<Envelope> {
    simdjson::dom::element root;
    // Too deep, not JSON, a number beyond 64 bits: the reference parser
    // decides what is wrong, or parses it.
    if (parser.parse(body.data(), body.size()).get(root)) return std::nullopt;
    return envelope_from_simdjson(root);
  };
  if (body.size() > kReusedParserCapacity) {
    simdjson::dom::parser parser;
    if (parser.allocate(body.size(), kMaxNestingDepth)) return std::nullopt;
    return parse(parser);
  }
  thread_local simdjson::dom::parser parser;
  thread_local const bool ready = !parser.allocate(kReusedParserCapacity, kMaxNestingDepth);
  if (!ready) return std::nullopt;
  return parse(parser);
}

}  // namespace

std::variant<Request, ParseError> parse_review(std::string_view body) {
  // simdjson first (an order of magnitude faster than nlohmann on these
  // bodies); anything it refuses goes to nlohmann, the reference, so big
  // integers and the error messages stay as they were.
  if (auto env = fast_parse(body)) return review_from_envelope(std::move(*env));
  return parse_review_reference(body);
}

std::variant<Request, ParseError> parse_review_reference(std::string_view body) {
  if (nesting_depth(body) > kMaxNestingDepth) {
    return ParseError{
        400, "the body nests arrays and objects deeper than " + std::to_string(kMaxNestingDepth) + " levels",
        std::nullopt};
  }
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded()) return ParseError{400, "the body is not valid JSON", std::nullopt};
  return review_from_envelope(envelope_from_json(doc));
}

nlohmann::json to_review(const Response& response) {
  nlohmann::json out{{"uid", response.uid}, {"allowed", response.allowed}};
  if (!response.allowed) {
    out["status"] = {{"code", response.code}, {"message", response.message}};
  }
  if (!response.warnings.empty()) {
    nlohmann::json warnings = nlohmann::json::array();
    for (const auto& w : response.warnings) warnings.push_back(cut_warning(w));
    out["warnings"] = std::move(warnings);
  }
  if (!response.patch.empty()) {
    out["patchType"] = "JSONPatch";
    out["patch"] = base64_encode(response.patch);
  }
  return {{"apiVersion", kApiVersion}, {"kind", "AdmissionReview"}, {"response", std::move(out)}};
}

std::string to_review_text(const Response& response) {
  if (response.allowed && response.warnings.empty() && response.patch.empty()) {
    std::string out =
        R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"allowed":true,"uid":)";
    out += nlohmann::json(response.uid).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out += "}}";
    return out;
  }
  return to_review(response).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

YamlNode yaml_from_json(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::object: {
      YamlNode n = YamlNode::make_map(0);
      for (const auto& [k, v] : value.items()) {
        n.mutable_entries().emplace_back(k, yaml_from_json(v));
        n.mutable_key_lines().push_back(0);
      }
      return n;
    }
    case nlohmann::json::value_t::array: {
      YamlNode n = YamlNode::make_sequence(0);
      for (const auto& v : value) n.mutable_items().push_back(yaml_from_json(v));
      return n;
    }
    case nlohmann::json::value_t::string:
      return YamlNode::make_scalar(value.get<std::string>(), 0, true, false);
    case nlohmann::json::value_t::null:
    case nlohmann::json::value_t::discarded:
      return YamlNode::make_null(0);
    default:
      // Numbers and booleans as JSON writes them: 184001, true.
      return YamlNode::make_scalar(value.dump(), 0, false, false);
  }
}

std::string json_pointer_escape(std::string_view key) {
  std::string out;
  for (const char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

nlohmann::json server_id_patch(const YamlNode& object, std::uint32_t server_id,
                               const std::optional<std::string>& history_topic) {
  nlohmann::json ops = nlohmann::json::array();
  const YamlNode* spec = object.is_map() ? object.find("spec") : nullptr;
  const YamlNode* config = spec && spec->is_map() ? spec->find("config") : nullptr;
  if (!spec || !spec->is_map()) {
    ops.push_back({{"op", "add"}, {"path", "/spec"}, {"value", nlohmann::json::object()}});
  }
  if (!config || !config->is_map()) {
    ops.push_back({{"op", "add"}, {"path", "/spec/config"}, {"value", nlohmann::json::object()}});
    config = nullptr;
  }
  const std::string id_key = "database.server.id";
  const bool has_id = config && config->find(id_key) != nullptr;
  ops.push_back({{"op", has_id ? "replace" : "add"},
                 {"path", "/spec/config/" + json_pointer_escape(id_key)},
                 {"value", std::to_string(server_id)}});
  if (history_topic) {
    const std::string topic_key = "schema.history.internal.kafka.topic";
    const bool has_topic = config && config->find(topic_key) != nullptr;
    ops.push_back({{"op", has_topic ? "replace" : "add"},
                   {"path", "/spec/config/" + json_pointer_escape(topic_key)},
                   {"value", *history_topic}});
  }
  return ops;
}

std::string base64_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < bytes.size()) {
    unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace cdcguard::admission
