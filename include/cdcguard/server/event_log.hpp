#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/logger.h>

// Structured logs on spdlog: a message and key/value fields, one line each,
// as JSON (for log pipelines) or as text (`msg key=value ...`). Times are UTC.
namespace cdcguard::server {

enum class LogFormat { Text, Json };
std::optional<LogFormat> parse_log_format(std::string_view text);

struct LogField {
  std::string key;
  std::string value;
  bool raw = false;  // a number or boolean: unquoted in JSON
  static LogField num(std::string key, long long v) { return {std::move(key), std::to_string(v), true}; }
  static LogField flag(std::string key, bool v) { return {std::move(key), v ? "true" : "false", true}; }
};

class EventLog {
 public:
  // Writes to `sink` (stderr when null).
  EventLog(LogFormat format, spdlog::level::level_enum level, spdlog::sink_ptr sink = nullptr);

  void log(spdlog::level::level_enum level, std::string_view message,
           const std::vector<LogField>& fields = {});
  void info(std::string_view message, const std::vector<LogField>& fields = {}) {
    log(spdlog::level::info, message, fields);
  }
  void warn(std::string_view message, const std::vector<LogField>& fields = {}) {
    log(spdlog::level::warn, message, fields);
  }
  void error(std::string_view message, const std::vector<LogField>& fields = {}) {
    log(spdlog::level::err, message, fields);
  }
  bool enabled(spdlog::level::level_enum level) const { return logger_->should_log(level); }
  void flush() { logger_->flush(); }

  // The line for `message` and `fields` without time and level (for tests).
  std::string format(std::string_view message, const std::vector<LogField>& fields) const;

 private:
  LogFormat format_;
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace cdcguard::server
