#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

// Calendar dates and instants, parsed and printed without reading the clock or the
// time zone: the policy core gets "now" as an argument.
namespace cdcguard {

using TimePoint = std::chrono::sys_seconds;
using Date = std::chrono::sys_days;

// "2026-01-15" (a real calendar day).
std::optional<Date> parse_date(std::string_view text);
// RFC 3339: "2026-01-15T10:00:00Z", "2026-01-15T10:00:00.5+02:00". A bare date is
// accepted too and means its midnight UTC.
std::optional<TimePoint> parse_timestamp(std::string_view text);

std::string format_date(Date date);
std::string format_timestamp(TimePoint at);  // "2026-01-15T10:00:00Z"

inline Date date_of(TimePoint at) {
  return std::chrono::floor<std::chrono::days>(at);
}

}  // namespace cdcguard
