#pragma once

#include <string>
#include <string_view>
#include <vector>

// The documentation of each rule, read from the "### `rule-id`" sections of
// docs/rules.md (embedded at build time), for reports that carry rule help
// (SARIF's reportingDescriptor).
namespace cdcguard::cli {

inline constexpr std::string_view kProjectUri = "https://github.com/cdc-guard/cdc-guard";
inline constexpr std::string_view kRulesDocUri =
    "https://github.com/cdc-guard/cdc-guard/blob/main/docs/rules.md";

struct RuleDoc {
  std::string id;           // "server-id-missing"
  std::string anchor;       // the heading's anchor in docs/rules.md as GitHub renders it
  std::string summary;      // the first sentence, plain text
  std::string description;  // the first paragraph, plain text
  std::string markdown;     // the whole section below the heading
  std::string text;         // the same as plain text (no fences, backticks or emphasis)
};

// Every "### `id`" section of `markdown`, in order. A section ends at the next
// heading; its first paragraph is the text before the first blank line or fence.
std::vector<RuleDoc> parse_rule_docs(std::string_view markdown);

// The section of `rule_id` in the embedded docs/rules.md; nullptr when it has none.
const RuleDoc* find_rule_doc(std::string_view rule_id);

// `markdown` as plain text: inline code, emphasis and link targets dropped.
std::string markdown_to_text(std::string_view markdown);

}  // namespace cdcguard::cli
