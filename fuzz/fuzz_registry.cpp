// Any bytes through the registry parser; what parses must render to YAML that
// parses back to the same canonical form (the writer sorts entries).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cdcguard/model/registry_parser.hpp"
#include "cdcguard/model/registry_writer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const cdcguard::Registry r = cdcguard::parse_registry_document(text, "fuzz.yaml");
    const std::string rendered = cdcguard::render_registry_yaml(r);
    const cdcguard::Registry again = cdcguard::parse_registry(rendered, "rendered.yaml");
    if (cdcguard::render_registry_yaml(again) != rendered) std::abort();
  } catch (const cdcguard::RegistryError&) {
  }
  return 0;
}
