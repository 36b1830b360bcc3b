// A report like the audit's, for the consumer tests: the real engine on
// objects that come from no file (as from a live cluster), written by the
// same write_report `check` uses.
//   cdcguard_cluster_report FORMAT REGISTRY NOW MANIFEST...
// Exit codes as check's: 0 clean, 1 deny-level violations, 2 input errors.
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "cdcguard/model/manifest.hpp"
#include "cdcguard/model/registry_parser.hpp"
#include "cdcguard/policy/check.hpp"
#include "cli/report_formats.hpp"

int main(int argc, char** argv) {
  using namespace cdcguard;
  if (argc < 5) {
    std::cerr << "usage: " << argv[0] << " FORMAT REGISTRY NOW MANIFEST...\n";
    return 2;
  }
  const auto format = cli::parse_output_format(argv[1]);
  const auto now = parse_timestamp(argv[3]);
  if (!format || !now) {
    std::cerr << "bad format or time\n";
    return 2;
  }
  const auto read = [](const char* path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  const Registry registry = parse_registry(read(argv[2]), argv[2]);
  ManifestSet objects;
  // File name "": what an object read from the API server has.
  for (int i = 4; i < argc; ++i) parse_manifests(read(argv[i]), "", "default", objects);
  std::vector<cli::InputError> errors;
  for (const auto& e : objects.errors) errors.push_back({e.location.file, e.location.line, e.message});
  const CheckReport report = check_manifests(std::move(objects), registry, *now);
  for (const auto& e : report.input_errors) errors.push_back({e.location.file, e.location.line, e.message});
  cli::write_report(*format, report, errors, 0, {"audit", kVersion, cli::ReportSource::Cluster}, std::cout,
                    std::cerr);
  if (!errors.empty()) return 2;
  return report.has_errors() ? 1 : 0;
}
