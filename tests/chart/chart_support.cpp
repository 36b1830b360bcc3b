#include "chart/chart_support.hpp"

#include <cstdlib>
#include <stdexcept>

namespace cdcguard::chart {

namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace

fs::path helm_binary() {
  static const fs::path path = [] {
    if (const char* given = std::getenv("CDCGUARD_HELM"); given && *given) return fs::path(given);
    e2e::RunSpec spec;
    spec.argv = {"/bin/bash", std::string(CDCGUARD_SOURCE_DIR) + "/scripts/helm-tool.sh"};
    spec.timeout = std::chrono::seconds(3600);
    const auto r = e2e::run_process(spec);
    if (!r.ok()) throw std::runtime_error("scripts/helm-tool.sh failed: " + r.describe());
    const std::string out = trim(r.out);
    const auto newline = out.rfind('\n');
    return fs::path(newline == std::string::npos ? out : out.substr(newline + 1));
  }();
  return path;
}

fs::path chart_dir() {
  return fs::path(CDCGUARD_SOURCE_DIR) / "charts" / "cdc-guard";
}

e2e::ProcessResult helm(const std::vector<std::string>& args, const std::map<std::string, std::string>& env) {
  e2e::RunSpec spec;
  spec.argv = {helm_binary().string()};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.env = env;
  // Helm keeps caches and a config; never the user's.
  if (!spec.env.count("HELM_CACHE_HOME")) {
    const auto home = fs::temp_directory_path() / "cdcguard-chart-helm-home";
    spec.env["HELM_CACHE_HOME"] = (home / "cache").string();
    spec.env["HELM_CONFIG_HOME"] = (home / "config").string();
    spec.env["HELM_DATA_HOME"] = (home / "data").string();
  }
  spec.timeout = std::chrono::seconds(300);
  return e2e::run_process(spec);
}

std::vector<YAML::Node> load_objects(const std::string& yaml) {
  std::vector<YAML::Node> objects;
  for (const auto& doc : YAML::LoadAll(yaml)) {
    if (doc.IsMap()) objects.push_back(doc);
  }
  return objects;
}

std::vector<YAML::Node> render(const std::vector<std::string>& args, const std::string& release,
                               const std::string& ns) {
  std::vector<std::string> argv = {"template", release, chart_dir().string(), "--namespace", ns};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto r = helm(argv);
  if (!r.ok()) throw std::runtime_error("helm template failed: " + r.describe());
  return load_objects(r.out);
}

YAML::Node find_one(const std::vector<YAML::Node>& objects, const std::string& kind,
                    const std::string& name) {
  YAML::Node found;
  int n = 0;
  for (const auto& o : objects) {
    if (o["kind"].as<std::string>() != kind) continue;
    if (!name.empty() && o["metadata"]["name"].as<std::string>() != name) continue;
    found = o;
    ++n;
  }
  if (n != 1) {
    throw std::runtime_error("expected one " + kind + (name.empty() ? "" : " " + name) + ", found " +
                             std::to_string(n));
  }
  return found;
}

std::size_t count_kind(const std::vector<YAML::Node>& objects, const std::string& kind) {
  std::size_t n = 0;
  for (const auto& o : objects) n += o["kind"].as<std::string>() == kind ? 1 : 0;
  return n;
}

std::vector<std::string> container_args(const YAML::Node& deployment) {
  std::vector<std::string> args;
  for (const auto& c : deployment["spec"]["template"]["spec"]["containers"]) {
    if (c["name"].as<std::string>() != "cdc-guard") continue;
    for (const auto& a : c["args"]) args.push_back(a.as<std::string>());
  }
  return args;
}

}  // namespace cdcguard::chart
