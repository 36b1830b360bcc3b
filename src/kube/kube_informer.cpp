#include "cdcguard/kube/kube_informer.hpp"

#include <algorithm>
#include <cctype>
#include <random>

namespace cdcguard::kube {
namespace {

std::string with_query(const std::string& path, const std::string& query) {
  if (query.empty()) return path;
  return path + (path.find('?') == std::string::npos ? "?" : "&") + query;
}

std::string resource_version_of(const nlohmann::json& object) {
  const auto metadata = object.find("metadata");
  if (metadata == object.end() || !metadata->is_object()) return "";
  const auto rv = metadata->find("resourceVersion");
  return rv != metadata->end() && rv->is_string() ? rv->get<std::string>() : "";
}

std::string url_encode(std::string_view text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 15];
    }
  }
  return out;
}

}  // namespace

Informer::Informer(KubeClient& client, std::string path, std::string query, Sink sink, Options options)
    : client_(client),
      path_(std::move(path)),
      query_(std::move(query)),
      sink_(std::move(sink)),
      options_(options),
      clock_(options_.clock ? options_.clock : steady_monotonic_clock()) {}

Informer::~Informer() {
  stop();
}

void Informer::start() {
  if (thread_.joinable()) return;
  stopping_ = false;
  if (stop_source_.stop_requested()) stop_source_ = std::stop_source();
  thread_ = std::thread([this] { run(); });
}

void Informer::stop() {
  stopping_ = true;
  stop_source_.request_stop();
  if (thread_.joinable()) thread_.join();
}

std::string Informer::last_error() const {
  std::lock_guard guard(mutex_);
  return last_error_;
}

Informer::Stats Informer::stats() const {
  std::lock_guard guard(mutex_);
  return stats_;
}

void Informer::fail(const std::string& why) {
  std::lock_guard guard(mutex_);
  last_error_ = why;
  ++stats_.errors;
}

void Informer::pause(std::chrono::milliseconds how_long) {
  clock_->sleep_for(how_long, stop_source_.get_token());
}

void Informer::run() {
  std::mt19937 random(std::random_device{}());
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  auto delay = options_.backoff_base;
  auto back_off = [&] {
    pause(std::chrono::milliseconds(
        static_cast<long long>(static_cast<double>(delay.count()) * jitter(random))));
    delay = std::min(options_.backoff_max, delay * 2);
  };
  std::string resource_version;
  bool listed = false;
  while (!stopping_) {
    try {
      if (!listed) {
        if (!list(resource_version)) {
          back_off();
          continue;
        }
        listed = true;
        delay = options_.backoff_base;
      }
      bool got_events = false;
      const auto opened = clock_->now();
      switch (watch(resource_version, got_events)) {
        case WatchEnd::Expired:
          listed = false;  // 410: the history is gone, start over
          break;
        case WatchEnd::Failed:
          back_off();
          break;
        case WatchEnd::Ended:
          // A watch that ends at once without a single event is not healthy
          // (e.g. a proxy closing it): do not spin.
          if (!got_events && clock_->now() - opened < std::chrono::seconds(1))
            back_off();
          else
            delay = options_.backoff_base;
          break;
      }
    } catch (const ApiError& e) {
      fail(e.what());
      back_off();
    } catch (const std::exception& e) {
      fail(path_ + ": " + e.what());
      back_off();
    }
  }
}

bool Informer::list(std::string& resource_version) {
  const auto response = client_.get(with_query(path_, query_));
  {
    std::lock_guard guard(mutex_);
    ++stats_.lists;
  }
  if (response.status != 200) {
    fail("LIST " + path_ + " answered " + std::to_string(response.status) + ": " + status_message(response));
    return false;
  }
  const auto body = nlohmann::json::parse(response.body);
  std::vector<nlohmann::json> items;
  if (const auto found = body.find("items"); found != body.end() && found->is_array())
    items.assign(found->begin(), found->end());
  sink_.replace(items);
  resource_version = resource_version_of(body);
  {
    std::lock_guard guard(mutex_);
    last_error_.clear();
    stats_.resource_version = resource_version;
  }
  synced_ = true;
  return true;
}

Informer::WatchEnd Informer::watch(std::string& resource_version, bool& got_events) {
  std::string query =
      "watch=true&allowWatchBookmarks=true&timeoutSeconds=" + std::to_string(options_.watch_timeout.count()) +
      "&resourceVersion=" + url_encode(resource_version);
  if (!query_.empty()) query += "&" + query_;
  bool expired = false;
  std::string error;
  {
    std::lock_guard guard(mutex_);
    ++stats_.watches;
  }
  const auto on_line = [&](std::string_view line) {
    if (stopping_) return false;
    const auto event = nlohmann::json::parse(line, nullptr, false);
    if (event.is_discarded() || !event.is_object() || !event.contains("type") || !event["type"].is_string()) {
      error = "WATCH " + path_ + ": unreadable event";
      return false;
    }
    const std::string type = event["type"].get<std::string>();
    const nlohmann::json& object = event.contains("object") ? event["object"] : nlohmann::json();
    if (type == "ERROR") {
      const int code = object.is_object() && object.contains("code") && object["code"].is_number_integer()
                           ? object["code"].get<int>()
                           : 0;
      if (code == 410) {
        expired = true;
      } else {
        error = "WATCH " + path_ + ": error event " + std::to_string(code) + ": " +
                (object.is_object() ? object.value("message", std::string()) : std::string());
      }
      return false;
    }
    const std::string rv = resource_version_of(object);
    if (type == "ADDED" || type == "MODIFIED" || type == "DELETED") {
      sink_.apply(type, object);
      got_events = true;
    } else if (type != "BOOKMARK") {
      return true;  // unknown types are skipped, as client-go does
    }
    if (!rv.empty()) {
      resource_version = rv;
      std::lock_guard guard(mutex_);
      stats_.resource_version = rv;
    }
    return true;
  };
  // Longer than the server's timeout, so a healthy quiet watch ends on the
  // server's side; bookmarks keep it alive in between.
  const auto read_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(options_.watch_timeout) +
                            std::chrono::seconds(30);
  const auto response = client_.stream(with_query(path_, query), on_line, read_timeout);
  if (response.status == 410) expired = true;
  if (expired) {
    std::lock_guard guard(mutex_);
    ++stats_.expired;
    return WatchEnd::Expired;
  }
  if (response.status != 200 && response.status != 0) {
    fail("WATCH " + path_ + " answered " + std::to_string(response.status) + ": " + status_message(response));
    return WatchEnd::Failed;
  }
  if (!error.empty()) {
    fail(error);
    return WatchEnd::Failed;
  }
  return WatchEnd::Ended;
}

}  // namespace cdcguard::kube
