#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>

// Monotonic time for timeouts, deadlines and backoff. An interface so that the
// retry, backoff and deadline logic can be tested with a clock the test moves:
// no real waiting, no wall-clock bounds in tests (CONVENTIONS.md "Time in
// tests"). The policy core takes calendar time as a parameter instead (time.hpp).
namespace cdcguard {

class MonotonicClock {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  using duration = std::chrono::steady_clock::duration;

  virtual ~MonotonicClock() = default;

  virtual time_point now() = 0;
  // Pauses the calling thread for `how_long` (a backoff, a pause between
  // writes), or less when `stop` is requested meanwhile. Returns false when it
  // was stopped.
  virtual bool sleep_for(duration how_long, std::stop_token stop = {}) = 0;
  // Waits on `cv`, whose mutex `lock` holds, until `done()` holds or
  // `deadline` passes (for an answer that another thread gives, with a
  // timeout). Returns done(). As with std::condition_variable_any, notifying
  // `cv` wakes it to check done() again.
  virtual bool wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable_any& cv,
                          time_point deadline, const std::function<bool()>& done) = 0;
};

// std::chrono::steady_clock and real waiting; shared, stateless.
std::shared_ptr<MonotonicClock> steady_monotonic_clock();

}  // namespace cdcguard
