#include "cdcguard/server/event_log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <cstdio>

namespace cdcguard::server {
namespace {

bool needs_quotes(std::string_view v) {
  if (v.empty()) return true;
  for (const char c : v) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) return true;
  }
  return false;
}

// Appends `v` as a JSON string. Text reaching the log comes from parsed JSON
// or from cdc-guard itself, so it is UTF-8; control characters are escaped.
void append_json_string(std::string& out, std::string_view v) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (const char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20) {
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    } else {
      out += c;
    }
  }
  out += '"';
}

}  // namespace

std::optional<LogFormat> parse_log_format(std::string_view text) {
  if (text == "text") return LogFormat::Text;
  if (text == "json") return LogFormat::Json;
  return std::nullopt;
}

EventLog::EventLog(LogFormat format, spdlog::level::level_enum level, spdlog::sink_ptr sink)
    : format_(format) {
  if (!sink) {
    // One write() per admission line would cost more than judging it: stderr
    // is block-buffered, warnings and errors go out at once, the rest when
    // flush() is called (the server does so every second, and on exit).
    std::setvbuf(stderr, nullptr, _IOFBF, 64 * 1024);
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  }
  logger_ = std::make_shared<spdlog::logger>("cdc-guard", std::move(sink));
  const std::string pattern = format == LogFormat::Json
                                  ? R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l",%v})"
                                  : "%Y-%m-%dT%H:%M:%S.%fZ %l %v";
  logger_->set_formatter(
      std::make_unique<spdlog::pattern_formatter>(pattern, spdlog::pattern_time_type::utc));
  logger_->set_level(level);
  logger_->flush_on(spdlog::level::warn);
}

std::string EventLog::format(std::string_view message, const std::vector<LogField>& fields) const {
  std::string line;
  line.reserve(256);
  if (format_ == LogFormat::Json) {
    line += "\"msg\":";
    append_json_string(line, message);
    for (const auto& f : fields) {
      line += ',';
      append_json_string(line, f.key);
      line += ':';
      if (f.raw) {
        line += f.value;
      } else {
        append_json_string(line, f.value);
      }
    }
    return line;
  }
  line += message;
  for (const auto& f : fields) {
    line += ' ';
    line += f.key;
    line += '=';
    if (needs_quotes(f.value) && !f.raw) {
      append_json_string(line, f.value);
    } else {
      line += f.value;
    }
  }
  return line;
}

void EventLog::log(spdlog::level::level_enum level, std::string_view message,
                   const std::vector<LogField>& fields) {
  if (!logger_->should_log(level)) return;
  const std::string line = format(message, fields);
  logger_->log(level, std::string_view(line));
}

}  // namespace cdcguard::server
