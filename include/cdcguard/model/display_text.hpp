#pragma once

#include <cstdint>
#include <string>
#include <string_view>

// Text taken from inputs (names, paths, values quoted in messages) as it may be
// printed in a terminal or a CI log: a hostile manifest must not be able to
// send escape sequences, hide text, or break the one-line-per-finding format.
namespace cdcguard {

namespace display_text_detail {

inline void append_hex(std::string& out, const char* prefix, std::uint32_t value, int digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += prefix;
  for (int shift = 4 * (digits - 1); shift >= 0; shift -= 4) out += kHex[(value >> shift) & 0xfu];
}

// Code points that move the cursor or reorder or break lines without being C0
// controls: C1 controls (U+0085 is a newline), the bidirectional marks and
// overrides of "Trojan Source", and the Unicode line and paragraph separators.
inline bool invisible_control(std::uint32_t cp) {
  return (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
         (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

// The length of the well-formed UTF-8 sequence at the start of `s` and its code
// point; 0 when it is not one (a stray byte, overlong, a surrogate, past U+10FFFF).
inline std::size_t utf8_sequence(std::string_view s, std::uint32_t& cp) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char lead = byte(0);
  std::size_t length = 0;
  std::uint32_t min = 0;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2, cp = lead & 0x1fu, min = 0x80;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3, cp = lead & 0x0fu, min = 0x800;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4, cp = lead & 0x07u, min = 0x10000;
  } else {
    return 0;
  }
  if (s.size() < length) return 0;
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xc0u) != 0x80u) return 0;
    cp = (cp << 6) | (byte(i) & 0x3fu);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return length;
}

}  // namespace display_text_detail

// `text` with every C0 control and DEL escaped (\n, \r, \t, else \x1b), the
// backslash doubled so an escape cannot be forged, invisible and line-breaking
// Unicode controls as \u2028, and bytes that are not UTF-8 as \xff. Printable
// text, UTF-8 included, is unchanged.
inline std::string escape_for_display(std::string_view text) {
  using namespace display_text_detail;
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) {
      if (c == '\\') out += '\\';
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    if (c == '\n' || c == '\r' || c == '\t') {
      out += c == '\n' ? "\\n" : c == '\r' ? "\\r" : "\\t";
      ++i;
      continue;
    }
    std::uint32_t cp = 0;
    const std::size_t length = c < 0x80 ? 0 : utf8_sequence(text.substr(i), cp);
    if (length == 0) {
      append_hex(out, "\\x", c, 2);
      ++i;
    } else if (invisible_control(cp)) {
      append_hex(out, "\\u", cp, 4);
      i += length;
    } else {
      out.append(text.substr(i, length));
      i += length;
    }
  }
  return out;
}

}  // namespace cdcguard
