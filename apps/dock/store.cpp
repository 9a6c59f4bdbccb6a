#include "dock/store.hpp"

#include <sqlite3.h>

#include <stdexcept>

#include "hms/log.hpp"
#include "hms/reactor.hpp"

namespace hms::dock {

namespace {

bool exec(sqlite3* db, const char* sql, std::string* error) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    *error = err ? err : "unknown sqlite error";
    sqlite3_free(err);
    return false;
  }
  return true;
}

}  // namespace

Store::Store(const std::string& path, Reactor& reactor) : reactor_(reactor) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    const std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error("cannot open the dock's store " + path + ": " + msg);
  }
  sqlite3_busy_timeout(db_, 5000);
  std::string err;
  // WAL + FULL: a write is durable before its request is answered.
  if (!exec(db_, "PRAGMA journal_mode=WAL", &err) || !exec(db_, "PRAGMA synchronous=FULL", &err) ||
      !exec(db_,
            "CREATE TABLE IF NOT EXISTS services ("
            " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
            " id TEXT NOT NULL UNIQUE,"
            " json TEXT NOT NULL)",
            &err) ||
      !exec(db_,
            "CREATE TABLE IF NOT EXISTS children ("
            " pid INTEGER PRIMARY KEY,"
            " service TEXT NOT NULL,"
            " start_ticks INTEGER NOT NULL)",
            &err)) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error("cannot prepare the dock's store " + path + ": " + err);
  }
  if (sqlite3_prepare_v2(db_,
                         "INSERT INTO services(id, json) VALUES(?1, ?2)"
                         " ON CONFLICT(id) DO UPDATE SET json = excluded.json",
                         -1, &put_, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(db_, "DELETE FROM services WHERE id = ?1", -1, &del_, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(db_, "INSERT OR REPLACE INTO children(pid, service, start_ticks) VALUES(?1, ?2, ?3)", -1,
                         &child_put_, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(db_, "DELETE FROM children WHERE pid = ?1", -1, &child_del_, nullptr) != SQLITE_OK) {
    err = sqlite3_errmsg(db_);
    sqlite3_finalize(put_);
    sqlite3_finalize(del_);
    sqlite3_finalize(child_put_);
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error("cannot prepare the dock's store statements: " + err);
  }
  sqlite3_stmt* all = nullptr;
  sqlite3_prepare_v2(db_, "SELECT id, json FROM services ORDER BY seq", -1, &all, nullptr);
  JsonParser parser;
  while (all && sqlite3_step(all) == SQLITE_ROW) {
    const std::string id(reinterpret_cast<const char*>(sqlite3_column_text(all, 0)));
    const std::string json(reinterpret_cast<const char*>(sqlite3_column_text(all, 1)));
    auto parsed = parse_service_copy(parser, json);
    if (!parsed) {
      HMS_LOG(warn, "store: skipping unreadable record '%s' (%s)", id.c_str(), to_string(parsed.error));
      continue;
    }
    Service s = std::move(*parsed.value);
    s.id = id;
    order_.push_back(id);
    map_.emplace(id, std::move(s));
  }
  sqlite3_finalize(all);
  sqlite3_stmt* kids = nullptr;
  sqlite3_prepare_v2(db_, "SELECT pid, service, start_ticks FROM children", -1, &kids, nullptr);
  while (kids && sqlite3_step(kids) == SQLITE_ROW) {
    Child c;
    c.pid = sqlite3_column_int(kids, 0);
    c.service = reinterpret_cast<const char*>(sqlite3_column_text(kids, 1));
    c.start_ticks = static_cast<std::uint64_t>(sqlite3_column_int64(kids, 2));
    previous_children_.push_back(std::move(c));
  }
  sqlite3_finalize(kids);
  writer_ = std::thread([this] { writer_loop(); });
}

Store::~Store() {
  {
    std::lock_guard l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  writer_.join();
  sqlite3_finalize(put_);
  sqlite3_finalize(del_);
  sqlite3_finalize(child_put_);
  sqlite3_finalize(child_del_);
  sqlite3_close(db_);
}

const Service* Store::get(std::string_view id) const {
  auto it = map_.find(std::string(id));
  return it == map_.end() ? nullptr : &it->second;
}

std::vector<const Service*> Store::list() const {
  std::vector<const Service*> out;
  out.reserve(order_.size());
  for (const auto& id : order_) out.push_back(&map_.at(id));
  return out;
}

void Store::put(const Service& s, StoreDone done) {
  auto [it, fresh] = map_.insert_or_assign(s.id, s);
  if (fresh) order_.push_back(s.id);
  Write w{Write::service_put, s.id, to_json(it->second)};
  collecting_.writes.push_back(std::move(w));
  if (done) collecting_.done.push_back(std::move(done));
}

void Store::child_started(const Child& c) {
  Write w{Write::child_put, c.service, {}};
  w.pid = c.pid;
  w.ticks = c.start_ticks;
  collecting_.writes.push_back(std::move(w));
}

void Store::child_gone(int pid) {
  Write w{Write::child_del, {}, {}};
  w.pid = pid;
  collecting_.writes.push_back(std::move(w));
}

void Store::clear_previous_children() {
  previous_children_.clear();
  collecting_.writes.push_back(Write{Write::children_clear, {}, {}});
}

void Store::del(std::string_view id, StoreDone done) {
  // The reference writes a tombstone for unknown ids too; deleting nothing
  // is a harmless no-op here.
  if (auto it = map_.find(std::string(id)); it != map_.end()) {
    map_.erase(it);
    std::erase(order_, std::string(id));
  }
  collecting_.writes.push_back(Write{Write::service_del, std::string(id), {}});
  if (done) collecting_.done.push_back(std::move(done));
}

void Store::flush() {
  if (busy_ || (collecting_.writes.empty() && collecting_.done.empty())) return;
  busy_ = true;
  auto b = std::make_shared<Batch>(std::move(collecting_));
  collecting_ = Batch{};
  {
    std::lock_guard l(mu_);
    handed_ = std::move(b);
  }
  cv_.notify_all();
}

bool Store::write_batch(const Batch& b, std::string* error) {
  if (b.writes.empty()) return true;
  if (!exec(db_, "BEGIN IMMEDIATE", error)) return false;
  for (const Write& w : b.writes) {
    if (w.kind == Write::children_clear) {
      if (!exec(db_, "DELETE FROM children", error)) {
        std::string ignored;
        exec(db_, "ROLLBACK", &ignored);
        return false;
      }
      continue;
    }
    sqlite3_stmt* st = w.kind == Write::service_put ? put_
                       : w.kind == Write::service_del ? del_
                       : w.kind == Write::child_put   ? child_put_
                                                      : child_del_;
    sqlite3_reset(st);
    switch (w.kind) {
      case Write::service_put:
        sqlite3_bind_text(st, 2, w.json.data(), static_cast<int>(w.json.size()), SQLITE_STATIC);
        [[fallthrough]];
      case Write::service_del:
        sqlite3_bind_text(st, 1, w.id.data(), static_cast<int>(w.id.size()), SQLITE_STATIC);
        break;
      case Write::child_put:
        sqlite3_bind_text(st, 2, w.id.data(), static_cast<int>(w.id.size()), SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, static_cast<sqlite3_int64>(w.ticks));
        [[fallthrough]];
      case Write::child_del:
        sqlite3_bind_int(st, 1, w.pid);
        break;
      case Write::children_clear:
        break;
    }
    if (sqlite3_step(st) != SQLITE_DONE) {
      *error = sqlite3_errmsg(db_);
      sqlite3_reset(st);
      std::string ignored;
      exec(db_, "ROLLBACK", &ignored);
      return false;
    }
    sqlite3_reset(st);
  }
  if (!exec(db_, "COMMIT", error)) {
    std::string ignored;
    exec(db_, "ROLLBACK", &ignored);
    return false;
  }
  return true;
}

void Store::writer_loop() {
  for (;;) {
    std::shared_ptr<Batch> b;
    {
      std::unique_lock l(mu_);
      cv_.wait(l, [&] { return stop_ || handed_; });
      if (!handed_) return;  // stopping with nothing left to write
      b = std::move(handed_);
    }
    Done d;
    d.batch = b;
    d.ok = write_batch(*b, &d.error);
    {
      std::lock_guard l(mu_);
      completed_.push_back(std::move(d));
    }
    cv_.notify_all();
    reactor_.post([this] { take_completed(); });
  }
}

void Store::take_completed() {
  std::vector<Done> done;
  {
    std::lock_guard l(mu_);
    done.swap(completed_);
  }
  for (Done& d : done) {
    busy_ = false;
    if (!d.batch->writes.empty()) ++commits_;
    if (!d.ok) HMS_LOG(error, "store: write failed: %s", d.error.c_str());
    for (auto& fn : d.batch->done) fn(d.ok, d.error);
  }
  // Writes made meanwhile (or by those callbacks) go next.
  if (!done.empty()) flush();
}

void Store::drain() {
  for (;;) {
    take_completed();
    flush();
    if (!busy_) return;
    std::unique_lock l(mu_);
    cv_.wait(l, [&] { return !completed_.empty(); });
  }
}

}  // namespace hms::dock
