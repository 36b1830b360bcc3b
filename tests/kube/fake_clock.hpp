#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <stop_token>
#include <vector>

#include "cdcguard/kube/monotonic_clock.hpp"

// A MonotonicClock whose time moves only when told: by advance(), or by a
// thread that sleeps (a sleep of 200 ms makes 200 ms pass at once, and is
// recorded). A wait_until() returns when its condition holds or when time has
// been moved past its deadline, never because real time passed. So a test
// decides exactly when a backoff ends or a deadline passes, and asserts the
// pauses taken rather than how long it took.
namespace cdcguard::testing_support {

class FakeClock final : public MonotonicClock {
 public:
  // An arbitrary start far from zero, as a steady clock's uptime is: code must
  // not take time_point{} for "long ago".
  FakeClock() : now_(time_point{} + std::chrono::hours(1000)) {}

  time_point now() override {
    std::lock_guard guard(mutex_);
    return now_;
  }

  void advance(duration how_long) {
    std::lock_guard guard(mutex_);
    now_ += how_long;
    for (const Alarm& alarm : alarms_)
      if (alarm.at <= now_) alarm.ring->request_stop();
    changed_.notify_all();
  }

  bool sleep_for(duration how_long, std::stop_token stop) override {
    {
      std::lock_guard guard(mutex_);
      sleeps_.push_back(how_long);
    }
    advance(how_long);
    return !stop.stop_requested();
  }

  bool wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable_any& cv, time_point deadline,
                  const std::function<bool()>& done) override {
    // advance() rings the alarm: a stop request on the token the wait below
    // watches, which wakes it however the lock and the notifications interleave.
    std::stop_source ring;
    {
      std::lock_guard guard(mutex_);
      if (deadline <= now_) ring.request_stop();
      alarms_.push_back({deadline, &ring});
      changed_.notify_all();
    }
    cv.wait(lock, ring.get_token(), done);
    {
      std::lock_guard guard(mutex_);
      std::erase_if(alarms_, [&](const Alarm& alarm) { return alarm.ring == &ring; });
      changed_.notify_all();
    }
    return done();
  }

  // Every sleep taken so far, in order.
  std::vector<duration> sleeps() const {
    std::lock_guard guard(mutex_);
    return sleeps_;
  }
  // Threads inside wait_until() now.
  std::size_t waiting() const {
    std::lock_guard guard(mutex_);
    return alarms_.size();
  }
  // Blocks until `count` threads are inside wait_until() (e.g. every claim is
  // queued and waiting for its verdict), at most `hang_guard` of real time:
  // that bound only keeps a broken test from hanging, it is no claim about speed.
  bool await_waiting(std::size_t count, std::chrono::seconds hang_guard = std::chrono::seconds(30)) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, hang_guard, [&] { return alarms_.size() == count; });
  }

 private:
  struct Alarm {
    time_point at;
    std::stop_source* ring;
  };
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  time_point now_;
  std::vector<Alarm> alarms_;
  std::vector<duration> sleeps_;
};

}  // namespace cdcguard::testing_support
