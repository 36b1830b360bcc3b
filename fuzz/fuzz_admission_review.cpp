// Any bytes as a /validate and /mutate body: parse_review must answer every
// input with a Request or a ParseError, and the handler must answer every
// Request with an AdmissionReview that serialises, echoes the uid and never
// lets a duplicate of a registered id through.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cdcguard/admission_handler.hpp"
#include "cdcguard/registry_parser.hpp"

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

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cdcguard;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto parsed = admission::parse_review(body);
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
