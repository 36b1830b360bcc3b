// Any bytes as a /validate and /mutate body: parse_review must answer every
// input with a Request or a ParseError, exactly as the nlohmann reference does, and the handler must answer
// every Request with an AdmissionReview that serialises, echoes the uid and never lets a duplicate of a
// registered id through.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "cdcguard/admission/admission_handler.hpp"
#include "cdcguard/model/registry_parser.hpp"
#include "support/yaml_text.hpp"

namespace {

const char* kRegistry = R"(rules:
  range: {from: 184000, to: 184999}
  autoAssign: true
  schemaHistoryTopicTemplate: "schema-history.{prefix}"
teams:
  - {name: team-a, namespaces: [ecommerce], range: {from: 184000, to: 184099}}
entries:
  - {connector: ecommerce/orders-cdc, serverId: 184001, status: Active, owner: team-a, date: 2026-01-15}
)";

void check(const cdcguard::admission::Request& request, const cdcguard::admission::Response& response) {
  if (response.uid != request.uid) std::abort();
  const std::string text =
      cdcguard::admission::to_review(response).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.empty()) std::abort();
}

}  // namespace

// The fast parser (simdjson) and the reference (nlohmann) must agree on every body.
void check_same(
    const std::variant<cdcguard::admission::Request, cdcguard::admission::ParseError>& fast,
    const std::variant<cdcguard::admission::Request, cdcguard::admission::ParseError>& reference) {
  using namespace cdcguard::admission;
  if (fast.index() != reference.index()) std::abort();
  if (const auto* a = std::get_if<ParseError>(&fast)) {
    const auto& b = std::get<ParseError>(reference);
    if (a->http_status != b.http_status || a->message != b.message || a->uid != b.uid) std::abort();
    return;
  }
  const auto& a = std::get<Request>(fast);
  const auto& b = std::get<Request>(reference);
  const auto text = [](const cdcguard::YamlNode& n) { return cdcguard::testing_support::yaml_text(n); };
  if (a.uid != b.uid || a.kind.group != b.kind.group || a.kind.version != b.kind.version ||
      a.kind.kind != b.kind.kind || a.operation != b.operation || a.namespace_name != b.namespace_name ||
      a.name != b.name || a.dry_run != b.dry_run || a.username != b.username ||
      text(a.object) != text(b.object) || text(a.old_object) != text(b.old_object)) {
    std::abort();
  }
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cdcguard;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto parsed = admission::parse_review(body);
  check_same(parsed, admission::parse_review_reference(body));
  const auto* request = std::get_if<admission::Request>(&parsed);
  if (!request) {
    if (std::get<admission::ParseError>(parsed).message.empty()) std::abort();
    return 0;
  }
  MemoryRegistryStore store(parse_registry(kRegistry, "fuzz-registry.yaml"));
  admission::AdmissionHandler handler(store, [] { return *parse_timestamp("2026-11-25T10:00:00Z"); });
  const auto validated = handler.validate(*request);
  check(*request, validated);
  check(*request, handler.mutate(*request));
  // Whatever the body, a second connector never gets ecommerce/orders-cdc's id.
  const Registry after = store.read();
  for (const auto& e : after.entries) {
    if (e.server_id == 184001 && e.connector != "ecommerce/orders-cdc" &&
        e.is_live(*parse_timestamp("2026-11-25T10:00:00Z"))) {
      std::abort();
    }
  }
  return 0;
}
