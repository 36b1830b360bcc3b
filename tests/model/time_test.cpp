#include <gtest/gtest.h>

#include "cdcguard/model/time.hpp"

namespace cdcguard {
namespace {

TEST(Time, ParsesDatesAndRejectsImpossibleOnes) {
  ASSERT_TRUE(parse_date("2026-02-28"));
  EXPECT_EQ(format_date(*parse_date("2026-02-28")), "2026-02-28");
  EXPECT_FALSE(parse_date("2026-02-29"));  // not a leap year
  EXPECT_TRUE(parse_date("2028-02-29"));
  EXPECT_FALSE(parse_date("2026-13-01"));
  EXPECT_FALSE(parse_date("2026-1-01"));
  EXPECT_FALSE(parse_date("yesterday"));
}

TEST(Time, ParsesRfc3339WithOffsets) {
  const auto utc = parse_timestamp("2026-05-01T12:00:00Z");
  ASSERT_TRUE(utc);
  EXPECT_EQ(format_timestamp(*utc), "2026-05-01T12:00:00Z");
  const auto plus2 = parse_timestamp("2026-05-01T14:00:00.123+02:00");
  ASSERT_TRUE(plus2);
  EXPECT_EQ(*plus2, *utc);
  EXPECT_EQ(format_timestamp(*parse_timestamp("2026-05-01")), "2026-05-01T00:00:00Z");
  EXPECT_FALSE(parse_timestamp("2026-05-01T12:00:00"));  // no offset
  EXPECT_FALSE(parse_timestamp("2026-05-01T25:00:00Z"));
  EXPECT_FALSE(parse_timestamp("2026-05-01T12:00:00Zjunk"));
}

}  // namespace
}  // namespace cdcguard
