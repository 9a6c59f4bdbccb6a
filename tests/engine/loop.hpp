// Test helper: a Reactor running on its own thread, with a way to run code
// on it and wait for the result.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

#include "hms/reactor.hpp"

namespace hms::test {

class LoopThread {
 public:
  explicit LoopThread(const ReactorOptions& opts = {}) : reactor_(opts) {
    thread_ = std::thread([this] { reactor_.run(); });
  }
  ~LoopThread() { stop(); }
  void stop() {
    if (thread_.joinable()) {
      reactor_.stop();
      thread_.join();
    }
  }
  Reactor& reactor() { return reactor_; }

  // Runs fn on the reactor thread and waits for it to return.
  template <class F>
  auto call(F&& fn) -> decltype(fn()) {
    using R = decltype(fn());
    std::promise<R> done;
    auto fut = done.get_future();
    reactor_.post([&] {
      if constexpr (std::is_void_v<R>) {
        fn();
        done.set_value();
      } else {
        done.set_value(fn());
      }
    });
    return fut.get();
  }

 private:
  Reactor reactor_;
  std::thread thread_;
};

// A flag/counter one thread sets and another waits for, with a deadline.
template <class T>
class Waiter {
 public:
  void set(T v) {
    std::lock_guard l(mu_);
    value_ = v;
    cv_.notify_all();
  }
  template <class Pred>
  bool wait_for(Pred pred, std::chrono::milliseconds d = std::chrono::seconds(10)) {
    std::unique_lock l(mu_);
    return cv_.wait_for(l, d, [&] { return pred(value_); });
  }
  T get() {
    std::lock_guard l(mu_);
    return value_;
  }
  void update(const std::function<void(T&)>& fn) {
    std::lock_guard l(mu_);
    fn(value_);
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  T value_{};
};

}  // namespace hms::test
