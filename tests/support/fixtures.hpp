#pragma once

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

// Shared by the test suites: fixture files and scenario names.
namespace cdcguard::testing_support {

// The text of tests/fixtures/<relative>; throws when it is missing.
inline std::string read_fixture_file(const std::string& relative) {
  const std::string path = std::string(CDCGUARD_FIXTURES) + "/" + relative;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read fixture " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Names each parameterised instance after its scenario's `name` ('-' is not
// allowed in gtest names). A functor, since a lambda parameter would shadow gtest's.
struct ScenarioName {
  template <class Case>
  std::string operator()(const ::testing::TestParamInfo<Case>& p) const {
    std::string n = p.param.name;
    std::replace(n.begin(), n.end(), '-', '_');
    return n;
  }
};

}  // namespace cdcguard::testing_support
