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

// RFC 4648 base64, for reading the patches the webhook returns.
inline std::string base64_decode(const std::string& in) {
  static const std::string kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (const char c : in) {
    if (c == '=') break;
    buffer = (buffer << 6) | static_cast<unsigned>(kAlphabet.find(c));
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFF);
    }
  }
  return out;
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
