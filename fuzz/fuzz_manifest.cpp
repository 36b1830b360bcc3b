// Any bytes through the manifest parser and the whole check: no crash, no hang,
// no sanitizer report.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cdcguard/model/manifest.hpp"
#include "cdcguard/policy/check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  cdcguard::ManifestSet set;
  cdcguard::parse_manifests(text, "fuzz.yaml", "default", set);
  const auto now = cdcguard::TimePoint{std::chrono::sys_days{std::chrono::year{2026} / 11 / 25}};
  (void)cdcguard::check_manifests(set, cdcguard::Registry{}, now);
  return 0;
}
