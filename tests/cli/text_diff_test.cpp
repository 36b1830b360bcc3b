#include "cli/text_diff.hpp"

#include <gtest/gtest.h>

namespace cdcguard::cli {
namespace {

TEST(UnifiedDiff, EqualTextsHaveNoDiff) {
  EXPECT_EQ(unified_diff("a\nb\n", "a\nb\n", "x", "y"), "");
}

TEST(UnifiedDiff, AnAppendedBlockIsOneHunkWithItsContext) {
  const std::string before = "l1\nl2\nl3\nl4\nl5\n";
  const std::string after = "l1\nl2\nl3\nl4\nl5\nn1\nn2\n";
  EXPECT_EQ(unified_diff(before, after, "now", "imported"),
            "--- now\n+++ imported\n@@ -3,3 +3,5 @@\n l3\n l4\n l5\n+n1\n+n2\n");
}

TEST(UnifiedDiff, ChangesFarApartAreTwoHunks) {
  std::string before;
  for (int i = 1; i <= 20; ++i) before += "l" + std::to_string(i) + "\n";
  std::string after = before;
  after.replace(after.find("l2\n"), 3, "X2\n");
  after.replace(after.find("l18\n"), 4, "X18\n");
  EXPECT_EQ(unified_diff(before, after, "a", "b"),
            "--- a\n+++ b\n"
            "@@ -1,5 +1,5 @@\n l1\n-l2\n+X2\n l3\n l4\n l5\n"
            "@@ -15,6 +15,6 @@\n l15\n l16\n l17\n-l18\n+X18\n l19\n l20\n");
}

TEST(UnifiedDiff, AnInsertionInTheMiddleKeepsTheCommonLines) {
  EXPECT_EQ(unified_diff("a\nb\nc\n", "a\nb\nx\nc\n", "1", "2"),
            "--- 1\n+++ 2\n@@ -1,3 +1,4 @@\n a\n b\n+x\n c\n");
}

TEST(UnifiedDiff, FromNothing) {
  EXPECT_EQ(unified_diff("", "a\nb\n", "1", "2"), "--- 1\n+++ 2\n@@ -0,0 +1,2 @@\n+a\n+b\n");
}

}  // namespace
}  // namespace cdcguard::cli
