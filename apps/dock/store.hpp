// The dock's own record of its services: the whole record the hub last
// synced (cwd replaced by the local build folder), as the reference keeps
// it in dock.db, so a restarted dock brings back what it ran.
//
// SQLite in WAL mode with synchronous=FULL: a write is on disk (the WAL
// fsynced) before the request that made it is answered, and a crash at any
// moment leaves the last committed state. Reads come from memory and always
// see every write made so far.
//
// ### Group commit, off the reactor thread
// An fsync takes milliseconds; the reactor must keep draining children's
// pipes meanwhile. So writes are applied to memory at once and collected;
// once per loop pass (flush(), a before-flush hook) the collected writes go
// to the store's own thread as one transaction, and their `done` callbacks
// run on the reactor thread when it has committed. A thousand syncs that
// arrive together cost one fsync, not a thousand.
//
// ### Threads
// Everything but the writer thread's work is on the reactor thread. The
// SQLite handle belongs to the constructor, then only to the writer thread.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "hms/control.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace hms {
class Reactor;
}

namespace hms::dock {

// ok: the write is durable; otherwise `error` says why it is not (the
// memory copy has the change regardless).
using StoreDone = std::function<void(bool ok, const std::string& error)>;

class Store {
 public:
  // Opens (creating) the database and loads it. Throws std::runtime_error.
  Store(const std::string& path, Reactor& reactor);
  ~Store();  // waits for the writer (drain() first if callbacks must run)
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // ---- reads (memory). Pointers are valid until the next put/del.
  const Service* get(std::string_view id) const;
  bool has(std::string_view id) const { return get(id) != nullptr; }
  // Every record, in the order first written (the reference's db.keys()).
  std::vector<const Service*> list() const;
  std::size_t size() const { return map_.size(); }

  // ---- writes. `done` (may be empty) runs on the reactor thread once the
  // write is on disk, never from inside the call.
  void put(const Service& s, StoreDone done = {});
  void del(std::string_view id, StoreDone done = {});

  // Hands the collected writes to the writer thread (one transaction).
  // The dock calls it once per loop pass.
  void flush();
  // Blocks until every write so far is committed and runs the callbacks
  // here (at shutdown, after the reactor stopped).
  void drain();

  // ---- the processes running now, so that a dock that crashed (and left
  // them running: each has a process group of its own) can stop them when
  // it starts again, instead of starting services twice. A child is the
  // pid and its start time (procstat.hpp start_ticks). Written with the
  // same group commit; no callback.
  struct Child {
    int pid = 0;
    std::string service;
    std::uint64_t start_ticks = 0;
  };
  void child_started(const Child& c);
  void child_gone(int pid);
  // As recorded by the previous run (read at open).
  const std::vector<Child>& previous_children() const { return previous_children_; }
  // Forgets them (after they were dealt with).
  void clear_previous_children();

  // Transactions committed (for tests).
  std::uint64_t commits() const { return commits_; }

 private:
  struct Write {
    enum Kind : std::uint8_t { service_put, service_del, child_put, child_del, children_clear } kind;
    std::string id;       // service id (child: its service)
    std::string json;     // service_put
    int pid = 0;          // child_*
    std::uint64_t ticks = 0;
  };
  struct Batch {
    std::vector<Write> writes;
    std::vector<StoreDone> done;
  };
  struct Done {
    std::shared_ptr<Batch> batch;
    bool ok = true;
    std::string error;
  };
  void writer_loop();
  bool write_batch(const Batch& b, std::string* error);
  // Reactor thread (or drain()): runs the callbacks of committed batches.
  void take_completed();

  Reactor& reactor_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* put_ = nullptr;
  sqlite3_stmt* del_ = nullptr;
  sqlite3_stmt* child_put_ = nullptr;
  sqlite3_stmt* child_del_ = nullptr;
  std::vector<Child> previous_children_;

  std::unordered_map<std::string, Service> map_;
  std::vector<std::string> order_;
  Batch collecting_;     // reactor thread
  bool busy_ = false;    // reactor thread: a batch is with the writer
  std::uint64_t commits_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;                 // writer waits for work, drain() for results
  std::shared_ptr<Batch> handed_;              // guarded by mu_: the writer's next batch
  std::vector<Done> completed_;                // guarded by mu_: committed, callbacks not run
  bool stop_ = false;                          // guarded by mu_
  std::thread writer_;
};

}  // namespace hms::dock
