#include "cdcguard/model/display_text.hpp"

#include <string>

#include <gtest/gtest.h>

namespace cdcguard {
namespace {

struct DisplayCase {
  std::string name;
  std::string input;
  std::string shown;
};

class EscapeForDisplay : public testing::TestWithParam<DisplayCase> {};

TEST_P(EscapeForDisplay, ShowsEveryControlAsAnEscape) {
  const DisplayCase& c = GetParam();
  EXPECT_EQ(escape_for_display(c.input), c.shown);
}

using namespace std::string_literals;

INSTANTIATE_TEST_SUITE_P(
    Display, EscapeForDisplay,
    testing::Values(
        DisplayCase{"plain_ascii", "ecommerce/orders-cdc", "ecommerce/orders-cdc"},
        DisplayCase{"empty", "", ""},
        DisplayCase{"utf8_is_kept", "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x90\x98",
                    "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x90\x98"},
        DisplayCase{"terminal_escape_sequence", "a\x1b[2J\x1b]0;owned\x07z", "a\\x1b[2J\\x1b]0;owned\\x07z"},
        DisplayCase{"nul_does_not_truncate", "before\0after"s, "before\\x00after"},
        DisplayCase{"newline_carriage_return_tab", "one\ntwo\rthree\tfour", "one\\ntwo\\rthree\\tfour"},
        DisplayCase{"delete", "rub\x7fout", "rub\\x7fout"},
        DisplayCase{"backslash_cannot_forge_an_escape", "not\\x1b", "not\\\\x1b"},
        DisplayCase{"c1_next_line", "a\xc2\x85z", "a\\u0085z"},
        DisplayCase{"c1_csi",
                    "a\xc2\x9b"
                    "31mz",
                    "a\\u009b31mz"},
        DisplayCase{"line_and_paragraph_separators", "a\xe2\x80\xa8z\xe2\x80\xa9", "a\\u2028z\\u2029"},
        DisplayCase{"bidi_override",
                    "abc\xe2\x80\xae"
                    "fed",
                    "abc\\u202efed"},
        DisplayCase{"bidi_isolate", "\xe2\x81\xa6x\xe2\x81\xa9", "\\u2066x\\u2069"},
        DisplayCase{"stray_byte", "latin\xe9-1", "latin\\xe9-1"},
        DisplayCase{"truncated_sequence", "cut\xe2\x80", "cut\\xe2\\x80"},
        DisplayCase{"overlong_slash", "\xc0\xaf", "\\xc0\\xaf"},
        DisplayCase{"surrogate", "\xed\xa0\x80", "\\xed\\xa0\\x80"}),
    [](const testing::TestParamInfo<DisplayCase>& param_info) { return param_info.param.name; });

TEST(EscapeForDisplay, OutputIsPrintableOnOneLine) {
  std::string every_byte;
  for (int b = 0; b < 256; ++b) every_byte += static_cast<char>(b);
  const std::string shown = escape_for_display(every_byte);
  for (const char c : shown) {
    const auto u = static_cast<unsigned char>(c);
    EXPECT_TRUE(u >= 0x20 && u != 0x7f) << "byte " << int(u) << " in " << shown;
  }
}

}  // namespace
}  // namespace cdcguard
