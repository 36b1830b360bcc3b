#include "cdcguard/admission_review.hpp"

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

}  // namespace

std::variant<Request, ParseError> parse_review(std::string_view body) {
  if (nesting_depth(body) > kMaxNestingDepth) {
    return ParseError{
        400, "the body nests arrays and objects deeper than " + std::to_string(kMaxNestingDepth) + " levels",
        std::nullopt};
  }
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded()) return ParseError{400, "the body is not valid JSON", std::nullopt};
  if (!doc.is_object())
    return ParseError{400, "the body must be a JSON object (an AdmissionReview)", std::nullopt};
  const std::string api_version = string_member(doc, "apiVersion");
  const std::string kind = string_member(doc, "kind");
  if (kind != "AdmissionReview" || api_version != kApiVersion) {
    return ParseError{400,
                      "expected apiVersion admission.k8s.io/v1, kind AdmissionReview; got apiVersion \"" +
                          api_version + "\", kind \"" + kind + "\"",
                      std::nullopt};
  }
  const nlohmann::json* req = member(doc, "request");
  if (!req || !req->is_object()) return ParseError{400, "the AdmissionReview has no request", std::nullopt};
  Request r;
  r.uid = string_member(*req, "uid");
  if (r.uid.empty()) return ParseError{400, "the AdmissionReview request has no uid", std::nullopt};
  if (const nlohmann::json* k = member(*req, "kind")) {
    r.kind = {string_member(*k, "group"), string_member(*k, "version"), string_member(*k, "kind")};
  }
  r.operation = string_member(*req, "operation");
  if (r.operation != "CREATE" && r.operation != "UPDATE" && r.operation != "DELETE" &&
      r.operation != "CONNECT") {
    return ParseError{400, "unknown operation \"" + r.operation + "\"", r.uid};
  }
  r.namespace_name = string_member(*req, "namespace");
  r.name = string_member(*req, "name");
  if (const nlohmann::json* d = member(*req, "dryRun"); d && d->is_boolean()) r.dry_run = d->get<bool>();
  if (const nlohmann::json* u = member(*req, "userInfo")) r.username = string_member(*u, "username");
  if (const nlohmann::json* o = member(*req, "object")) r.object = *o;
  if (const nlohmann::json* o = member(*req, "oldObject")) r.old_object = *o;
  if ((r.operation == "CREATE" || r.operation == "UPDATE") && !r.object.is_object()) {
    return ParseError{400, r.operation + " request without an object", r.uid};
  }
  return r;
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

nlohmann::json server_id_patch(const nlohmann::json& object, std::uint32_t server_id,
                               const std::optional<std::string>& history_topic) {
  nlohmann::json ops = nlohmann::json::array();
  const nlohmann::json* spec = member(object, "spec");
  const nlohmann::json* config = spec ? member(*spec, "config") : nullptr;
  if (!spec || !spec->is_object()) {
    ops.push_back({{"op", "add"}, {"path", "/spec"}, {"value", nlohmann::json::object()}});
  }
  if (!config || !config->is_object()) {
    ops.push_back({{"op", "add"}, {"path", "/spec/config"}, {"value", nlohmann::json::object()}});
    config = nullptr;
  }
  const std::string id_key = "database.server.id";
  const bool has_id = config && config->contains(id_key);
  ops.push_back({{"op", has_id ? "replace" : "add"},
                 {"path", "/spec/config/" + json_pointer_escape(id_key)},
                 {"value", std::to_string(server_id)}});
  if (history_topic) {
    const std::string topic_key = "schema.history.internal.kafka.topic";
    const bool has_topic = config && config->contains(topic_key);
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
