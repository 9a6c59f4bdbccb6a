// Threads for the dock's blocking work (downloads and unpacking, removing
// old build folders, connecting to the hub), so the reactor thread never
// waits on the network or the disk. Jobs run in the order given, on any of
// the threads; a job reports back by posting to the reactor itself.
//
// The queue is bounded: post() refuses a job (returns false) when
// `max_queued` are waiting. stop() lets running jobs finish (each has its
// own deadline, and sees cancelled() become true) and drops queued ones.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace hms::dock {

class Workers {
 public:
  Workers(std::string name, unsigned threads, std::size_t max_queued);
  ~Workers();  // stop()
  Workers(const Workers&) = delete;
  Workers& operator=(const Workers&) = delete;

  // Any thread. False when the queue is full or stopping.
  bool post(std::function<void()> job);
  // Set by stop(): long jobs check it and give up early.
  const std::atomic<bool>& cancelled() const noexcept { return stop_; }
  void stop();

 private:
  void loop();

  std::string name_;
  std::size_t max_queued_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;  // guarded by mu_
  std::atomic<bool> stop_{false};           // written under mu_, read anywhere
  std::vector<std::thread> threads_;
};

}  // namespace hms::dock
