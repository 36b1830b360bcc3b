#pragma once

#include <string>

namespace cdcguard::cli {

// A unified diff of two texts, line by line (`diff -u` style, `context`
// lines around each change), headed `--- before_name` / `+++ after_name`.
// "" when the texts are equal.
std::string unified_diff(const std::string& before, const std::string& after, const std::string& before_name,
                         const std::string& after_name, int context = 3);

}  // namespace cdcguard::cli
