#include "cdcguard/kube/monotonic_clock.hpp"

#include <thread>

namespace cdcguard {
namespace {

class SteadyMonotonicClock final : public MonotonicClock {
 public:
  time_point now() override { return std::chrono::steady_clock::now(); }

  bool sleep_for(duration how_long, std::stop_token stop) override {
    if (!stop.stop_possible()) {
      std::this_thread::sleep_for(how_long);
      return true;
    }
    std::mutex mutex;
    std::condition_variable_any wake;
    std::unique_lock lock(mutex);
    // Only a stop request notifies `wake`; the predicate keeps spurious wakeups out.
    wake.wait_for(lock, stop, how_long, [] { return false; });
    return !stop.stop_requested();
  }

  bool wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable_any& cv, time_point deadline,
                  const std::function<bool()>& done) override {
    return cv.wait_until(lock, deadline, done);
  }
};

}  // namespace

std::shared_ptr<MonotonicClock> steady_monotonic_clock() {
  static const auto clock = std::make_shared<SteadyMonotonicClock>();
  return clock;
}

}  // namespace cdcguard
