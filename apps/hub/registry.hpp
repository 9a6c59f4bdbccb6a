// The hub's service registry: an in-memory map in registration order,
// written through to SQLite (WAL, synchronous=FULL) by a writer thread of
// its own, so an fsync never stalls the reactor that owns the registry.
//
// ### Threads and order
// One thread (the hub's control shard) calls everything but the writer's
// internals. put()/del() change the map at once (the next command sees the
// change) and queue the write; the writer commits what has queued up in one
// transaction (group commit: one fsync for many writes) and then runs each
// write's `done` through the Poster given at construction (the hub posts it
// to the control shard). A change is acknowledged to a client only from
// `done`, so an acknowledged add survives kill -9.
//
// ### Lifetime
// The destructor commits what is queued, then stops the writer; `done`s
// still pending are posted (a stopped reactor drops them).
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "hms/control.hpp"

namespace hms::hub {

class Registry {
 public:
  // `error` is empty on success.
  using Done = std::function<void(const std::string& error)>;
  // Runs a completion on the owner's thread.
  using Poster = std::function<void(std::function<void()>)>;

  // Opens (creating if needed) the database at `path`, loads it and starts
  // the writer. Throws std::runtime_error with SQLite's message on failure.
  Registry(const std::string& path, Poster post);
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  bool has(std::string_view id) const;
  const Service* get(std::string_view id) const;
  // Services in the order they were first added.
  std::vector<const Service*> list() const;
  std::size_t size() const { return order_.size(); }

  // Insert or replace / delete, in memory now, on disk before `done`.
  void put(const Service& s, Done done);
  void del(std::string_view id, Done done);

  // Writes and transactions committed so far (any thread).
  std::uint64_t writes() const noexcept { return writes_.load(std::memory_order_relaxed); }
  std::uint64_t commits() const noexcept { return commits_.load(std::memory_order_relaxed); }

 private:
  struct Op {
    bool remove = false;
    std::string id;
    std::string json;
    Done done;
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };

  void enqueue(Op op);
  void writer();
  // Applies a batch in one transaction; "" or SQLite's message.
  std::string commit(std::vector<Op>& batch);
  bool exec(const char* sql, std::string* error);

  // Owner thread.
  std::unordered_map<std::string, Service, Hash, std::equal_to<>> map_;
  std::vector<std::string> order_;
  Poster post_;

  // Writer thread (db_ and statements are its own once it runs).
  sqlite3* db_ = nullptr;
  sqlite3_stmt* put_ = nullptr;
  sqlite3_stmt* del_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Op> queue_;  // guarded by mu_
  bool stopping_ = false; // guarded by mu_
  std::thread thread_;
  std::atomic<std::uint64_t> writes_{0}, commits_{0};  // relaxed: tallies
};

}  // namespace hms::hub
