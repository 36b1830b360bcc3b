#include "cdcguard/event_log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <nlohmann/json.hpp>

namespace cdcguard::server {
namespace {

bool needs_quotes(std::string_view v) {
  if (v.empty()) return true;
  for (const char c : v) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) return true;
  }
  return false;
}

std::string json_string(std::string_view v) {
  return nlohmann::json(std::string(v)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::optional<LogFormat> parse_log_format(std::string_view text) {
  if (text == "text") return LogFormat::Text;
  if (text == "json") return LogFormat::Json;
  return std::nullopt;
}

EventLog::EventLog(LogFormat format, spdlog::level::level_enum level, spdlog::sink_ptr sink)
    : format_(format) {
  if (!sink) sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  logger_ = std::make_shared<spdlog::logger>("cdc-guard", std::move(sink));
  const std::string pattern = format == LogFormat::Json
                                  ? R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l",%v})"
                                  : "%Y-%m-%dT%H:%M:%S.%fZ %l %v";
  logger_->set_formatter(
      std::make_unique<spdlog::pattern_formatter>(pattern, spdlog::pattern_time_type::utc));
  logger_->set_level(level);
  logger_->flush_on(spdlog::level::info);  // one line per admission, visible at once (kubectl logs)
}

std::string EventLog::format(std::string_view message, const std::vector<LogField>& fields) const {
  std::string line;
  if (format_ == LogFormat::Json) {
    line = "\"msg\":" + json_string(message);
    for (const auto& f : fields) {
      line += ',' + json_string(f.key) + ':' + (f.raw ? f.value : json_string(f.value));
    }
    return line;
  }
  line = std::string(message);
  for (const auto& f : fields) {
    line += ' ' + f.key + '=' + (needs_quotes(f.value) && !f.raw ? json_string(f.value) : f.value);
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
