#include "cdcguard/admission/admission_review.hpp"

#include <simdjson.h>

#include <algorithm>
#include <span>

#include "cdcguard/model/manifest.hpp"

namespace cdcguard::admission {
namespace {

constexpr std::string_view kApiVersion = "admission.k8s.io/v1";

std::string cut_warning(const std::string& w) {
  if (w.size() <= kMaxWarningLength) return w;
  std::size_t cut = kMaxWarningLength - 3;
  while (cut > 0 && (static_cast<unsigned char>(w[cut]) & 0xC0) == 0x80) --cut;  // keep UTF-8 whole
  return w.substr(0, cut) + "...";
}

// What of an AdmissionReview is read: a tree of the keys kept. A body is
// converted only along it, so what a request costs is its size plus a few
// dozen nodes, whatever it holds: 4 MB of nested `{}` once took 300 MB and
// five seconds to convert, all of it for keys no rule reads.
struct Shape {
  enum class Kind {
    Leaf,    // a scalar as it is; an object or array as an empty one of its kind
    Map,     // an object: the listed keys, each with its own shape
    Config,  // an object: the keys is_rule_config_key() names, each a Leaf
  };
  struct Field {
    std::string_view key;
    const Shape* shape;
  };
  Kind kind = Kind::Leaf;
  std::span<const Field> fields = {};

  const Shape* child(std::string_view key) const;
};

const Shape kLeaf{Shape::Kind::Leaf};
const Shape kConfig{Shape::Kind::Config};
const Shape::Field kLabelsFields[] = {{"strimzi.io/cluster", &kLeaf}};
const Shape kLabels{Shape::Kind::Map, kLabelsFields};
const Shape::Field kMetadataFields[] = {
    {"name", &kLeaf}, {"namespace", &kLeaf}, {"generateName", &kLeaf}, {"uid", &kLeaf}, {"labels", &kLabels}};
const Shape kMetadata{Shape::Kind::Map, kMetadataFields};
const Shape::Field kSpecFields[] = {{"class", &kLeaf},
                                    {"config", &kConfig},
                                    {"bootstrapServers", &kLeaf},
                                    {"groupId", &kLeaf},
                                    {"offsetStorageTopic", &kLeaf},
                                    {"configStorageTopic", &kLeaf},
                                    {"statusStorageTopic", &kLeaf}};
const Shape kSpec{Shape::Kind::Map, kSpecFields};
// `status`, `metadata.managedFields` and `metadata.annotations` (often most
// of a body) are among what is left out.
const Shape::Field kObjectFields[] = {
    {"apiVersion", &kLeaf}, {"kind", &kLeaf}, {"metadata", &kMetadata}, {"spec", &kSpec}};
const Shape kObject{Shape::Kind::Map, kObjectFields};
const Shape::Field kGroupVersionKindFields[] = {{"group", &kLeaf}, {"version", &kLeaf}, {"kind", &kLeaf}};
const Shape kGroupVersionKind{Shape::Kind::Map, kGroupVersionKindFields};
const Shape::Field kUserInfoFields[] = {{"username", &kLeaf}};
const Shape kUserInfo{Shape::Kind::Map, kUserInfoFields};
const Shape::Field kRequestFields[] = {
    {"uid", &kLeaf},        {"kind", &kGroupVersionKind}, {"operation", &kLeaf},    {"namespace", &kLeaf},
    {"name", &kLeaf},       {"dryRun", &kLeaf},           {"userInfo", &kUserInfo}, {"object", &kObject},
    {"oldObject", &kObject}};
const Shape kRequest{Shape::Kind::Map, kRequestFields};
const Shape::Field kReviewFields[] = {{"apiVersion", &kLeaf}, {"kind", &kLeaf}, {"request", &kRequest}};
const Shape kReview{Shape::Kind::Map, kReviewFields};

const Shape* Shape::child(std::string_view key) const {
  if (kind == Kind::Config) return is_rule_config_key(key) ? &kLeaf : nullptr;
  for (const Field& f : fields) {
    if (f.key == key) return f.shape;
  }
  return nullptr;
}

// Adds or replaces (a repeated key: the last one counts, as in nlohmann::json).
// Maps here hold a handful of keys: a linear search is the fastest.
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

// Scalars as yaml_from_json writes them: strings quoted, numbers and booleans
// as nlohmann::json prints them.
YamlNode string_scalar(std::string_view s) {
  return YamlNode::make_scalar(std::string(s), 0, true, false);
}
YamlNode plain_scalar(std::string text) {
  return YamlNode::make_scalar(std::move(text), 0, false, false);
}
YamlNode double_scalar(double d) {
  return plain_scalar(nlohmann::json(d).dump());
}

// The fast path: a simdjson document, visited only along the shape.
YamlNode project(simdjson::dom::element e, const Shape& shape) {
  using simdjson::dom::element_type;
  switch (e.type()) {
    case element_type::ARRAY:
      return YamlNode::make_sequence(0);
    case element_type::OBJECT: {
      YamlNode n = YamlNode::make_map(0);
      if (shape.kind == Shape::Kind::Leaf) return n;
      for (auto field : simdjson::dom::object(e)) {
        if (const Shape* child = shape.child(field.key))
          set_entry(n, field.key, project(field.value, *child));
      }
      return n;
    }
    case element_type::INT64:
      return plain_scalar(std::to_string(std::int64_t(e)));
    case element_type::UINT64:
      return plain_scalar(std::to_string(std::uint64_t(e)));
    case element_type::DOUBLE:
      return double_scalar(double(e));
    case element_type::STRING:
      return string_scalar(std::string_view(e));
    case element_type::BOOL:
      return plain_scalar(bool(e) ? "true" : "false");
    case element_type::NULL_VALUE:
      break;
  }
  return YamlNode::make_null(0);
}

// The reference path: nlohmann's SAX parser (iterative: no recursion however
// deep the body), building the same tree as it reads. Memory is the stack of
// open containers, never the document.
class ProjectingSax {
 public:
  using json = nlohmann::json;

  bool null() { return value(YamlNode::make_null(0)); }
  bool boolean(bool b) { return value(plain_scalar(b ? "true" : "false")); }
  bool number_integer(json::number_integer_t v) { return value(plain_scalar(std::to_string(v))); }
  bool number_unsigned(json::number_unsigned_t v) { return value(plain_scalar(std::to_string(v))); }
  bool number_float(json::number_float_t v, const json::string_t&) { return value(double_scalar(v)); }
  bool string(json::string_t& s) { return value(string_scalar(s)); }
  bool binary(json::binary_t&) { return value(YamlNode::make_null(0)); }
  bool start_object(std::size_t) { return open(true); }
  bool start_array(std::size_t) { return open(false); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool key(json::string_t& k) {
    if (skipping_ == 0) frames_.back().key = k;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) { return false; }

  bool too_deep() const { return too_deep_; }
  YamlNode take() { return std::move(root_); }

 private:
  struct Frame {
    const Shape* shape;
    YamlNode node;
    std::string key;  // of the member being read
  };

  // The shape of the value about to be read; nullptr: not kept.
  const Shape* next_shape() const {
    if (frames_.empty()) return &kReview;
    const Frame& top = frames_.back();
    return top.node.is_map() ? top.shape->child(top.key) : nullptr;
  }
  bool value(YamlNode v) {
    if (skipping_ > 0) return true;
    if (next_shape()) attach(std::move(v));
    return true;
  }
  bool open(bool object) {
    if (++depth_ > kMaxNestingDepth) {
      too_deep_ = true;
      return false;
    }
    if (skipping_ > 0) {
      ++skipping_;
      return true;
    }
    const Shape* shape = next_shape();
    if (!shape || !object || shape->kind == Shape::Kind::Leaf) {
      // Not kept, or kept as an empty container of its kind: read past it.
      if (shape) attach(object ? YamlNode::make_map(0) : YamlNode::make_sequence(0));
      skipping_ = 1;
      return true;
    }
    frames_.push_back({shape, YamlNode::make_map(0), {}});
    return true;
  }
  bool close() {
    --depth_;
    if (skipping_ > 0) {
      --skipping_;
      return true;
    }
    YamlNode done = std::move(frames_.back().node);
    frames_.pop_back();
    attach(std::move(done));
    return true;
  }
  void attach(YamlNode v) {
    if (frames_.empty()) {
      root_ = std::move(v);
    } else {
      set_entry(frames_.back().node, frames_.back().key, std::move(v));
    }
  }

  std::vector<Frame> frames_;
  std::size_t skipping_ = 0;
  std::size_t depth_ = 0;
  bool too_deep_ = false;
  YamlNode root_ = YamlNode::make_null(0);
};

// A string member of a projected map ("" when absent or not a string, as the
// API server's decoder would leave it).
std::string text_of(const YamlNode& map, std::string_view key) {
  const YamlNode* v = map.find(key);
  return v && v->is_scalar() && v->quoted() ? v->scalar() : std::string();
}

constexpr std::size_t kMaxUidLength = 128;

std::variant<Request, ParseError> review_from_tree(const YamlNode& root) {
  if (!root.is_map())
    return ParseError{400, "the body must be a JSON object (an AdmissionReview)", std::nullopt};
  const std::string api_version = text_of(root, "apiVersion");
  const std::string kind = text_of(root, "kind");
  if (kind != "AdmissionReview" || api_version != kApiVersion) {
    return ParseError{400,
                      "expected apiVersion admission.k8s.io/v1, kind AdmissionReview; got apiVersion \"" +
                          api_version + "\", kind \"" + kind + "\"",
                      std::nullopt};
  }
  const YamlNode* req = root.find("request");
  if (!req || !req->is_map()) return ParseError{400, "the AdmissionReview has no request", std::nullopt};
  Request r;
  r.uid = text_of(*req, "uid");
  if (const YamlNode* k = req->find("kind"); k && k->is_map())
    r.kind = {text_of(*k, "group"), text_of(*k, "version"), text_of(*k, "kind")};
  r.operation = text_of(*req, "operation");
  r.namespace_name = text_of(*req, "namespace");
  r.name = text_of(*req, "name");
  if (const YamlNode* d = req->find("dryRun"))
    r.dry_run = d->is_scalar() && !d->quoted() && d->scalar() == "true";
  if (const YamlNode* u = req->find("userInfo"); u && u->is_map()) r.username = text_of(*u, "username");
  if (const YamlNode* o = req->find("object")) r.object = *o;
  if (const YamlNode* o = req->find("oldObject")) r.old_object = *o;

  if (r.uid.empty()) return ParseError{400, "the AdmissionReview request has no uid", std::nullopt};
  // The API server sends a UUID; a claim records it in the registry. Anything
  // else that could not be written there plainly is refused here.
  if (r.uid.size() > kMaxUidLength ||
      std::any_of(r.uid.begin(), r.uid.end(), [](char c) { return c <= ' ' || c >= 0x7f; })) {
    return ParseError{400,
                      "the request uid must be printable ASCII without spaces, at most " +
                          std::to_string(kMaxUidLength) + " characters (the API server sends a UUID)",
                      r.uid};
  }
  if (r.operation != "CREATE" && r.operation != "UPDATE" && r.operation != "DELETE" &&
      r.operation != "CONNECT") {
    return ParseError{400, "unknown operation \"" + r.operation + "\"", r.uid};
  }
  if ((r.operation == "CREATE" || r.operation == "UPDATE") && !r.object.is_map()) {
    return ParseError{400, r.operation + " request without an object", r.uid};
  }
  return r;
}

// Bodies up to this size are parsed by simdjson with a parser kept per thread
// (its buffers, about 14 bytes per body byte, are reused); larger ones by the
// streaming reference, whose memory does not grow with the body.
constexpr std::size_t kFastPathMaxBytes = 64 * 1024;

std::optional<YamlNode> fast_parse(std::string_view body) {
  if (body.size() > kFastPathMaxBytes) return std::nullopt;
  thread_local simdjson::dom::parser parser;
  thread_local const bool ready = !parser.allocate(kFastPathMaxBytes, kMaxNestingDepth);
  if (!ready) return std::nullopt;
  simdjson::dom::element root;
  // Too deep, not JSON, a number beyond 64 bits: the reference parser
  // decides what is wrong, or parses it.
  if (parser.parse(body.data(), body.size()).get(root)) return std::nullopt;
  return project(root, kReview);
}

}  // namespace

std::variant<Request, ParseError> parse_review(std::string_view body) {
  // simdjson first (an order of magnitude faster than nlohmann on these
  // bodies); anything it refuses, and every large body, goes to the
  // reference, so big integers and the error messages stay as they were.
  if (auto root = fast_parse(body)) return review_from_tree(*root);
  return parse_review_reference(body);
}

std::variant<Request, ParseError> parse_review_reference(std::string_view body) {
  ProjectingSax sax;
  const bool ok = nlohmann::json::sax_parse(body, &sax, nlohmann::json::input_format_t::json, true, false);
  if (sax.too_deep()) {
    return ParseError{
        400, "the body nests arrays and objects deeper than " + std::to_string(kMaxNestingDepth) + " levels",
        std::nullopt};
  }
  if (!ok) return ParseError{400, "the body is not valid JSON", std::nullopt};
  return review_from_tree(sax.take());
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
                               const std::optional<std::string>& history_topic,
                               std::string_view history_key) {
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
    const std::string topic_key(history_key);
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
