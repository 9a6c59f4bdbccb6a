#include "dock/workers.hpp"

#include <pthread.h>

#include "hms/log.hpp"

namespace hms::dock {

Workers::Workers(std::string name, unsigned threads, std::size_t max_queued)
    : name_(std::move(name)), max_queued_(max_queued) {
  for (unsigned i = 0; i < threads; ++i) threads_.emplace_back([this] { loop(); });
}

Workers::~Workers() { stop(); }

bool Workers::post(std::function<void()> job) {
  {
    std::lock_guard l(mu_);
    if (stop_.load(std::memory_order_relaxed) || jobs_.size() >= max_queued_) return false;
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

void Workers::stop() {
  {
    std::lock_guard l(mu_);
    // relaxed is enough for the flag: the mutex orders it for loop(), and
    // jobs only poll it to end early.
    stop_.store(true, std::memory_order_relaxed);
    jobs_.clear();
  }
  cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

void Workers::loop() {
  pthread_setname_np(pthread_self(), name_.substr(0, 15).c_str());
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock l(mu_);
      cv_.wait(l, [&] { return stop_.load(std::memory_order_relaxed) || !jobs_.empty(); });
      if (stop_.load(std::memory_order_relaxed)) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    try {
      job();
    } catch (const std::exception& e) {
      HMS_LOG(error, "%s: job failed: %s", name_.c_str(), e.what());
    }
  }
}

}  // namespace hms::dock
