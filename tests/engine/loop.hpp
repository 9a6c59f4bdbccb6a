// Test helper: a Reactor running on its own thread, with a way to run code
// on it and wait for the result.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
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

// `text` as a JSON string (no escaping: test ids are plain). Built by
// appending: GCC 12 at -O3 reports a false -Wrestrict for "\"" + s + "\"".
inline std::string as_json_string(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  out += text;
  out += '"';
  return out;
}

// prefix + i ("s17"), by appending (the same -Wrestrict artefact).
inline std::string numbered(std::string_view prefix, long long i) {
  std::string out(prefix);
  out += std::to_string(i);
  return out;
}

// Looks at `pred` until it holds or `limit` passes, yielding in between:
// for conditions nothing signals (a counter, a free-buffer count). Never a
// fixed sleep: it returns as soon as the condition holds.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return pred();
    std::this_thread::yield();
  }
  return true;
}

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
