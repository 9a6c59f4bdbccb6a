#include "registry.hpp"

#include <algorithm>
#include <stdexcept>

#include "hms/log.hpp"

namespace hms::hub {

Registry::Registry(const std::string& path, Poster post) : post_(std::move(post)) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    const std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error("cannot open registry " + path + ": " + msg);
  }
  sqlite3_busy_timeout(db_, 5000);
  // WAL + FULL: every acknowledged write is on disk before the reply.
  std::string err;
  if (!exec("PRAGMA journal_mode=WAL", &err) || !exec("PRAGMA synchronous=FULL", &err) ||
      !exec("CREATE TABLE IF NOT EXISTS services ("
            " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
            " id TEXT NOT NULL UNIQUE,"
            " json TEXT NOT NULL)",
            &err)) {
    sqlite3_close(db_);
    throw std::runtime_error("cannot prepare registry " + path + ": " + err);
  }
  if (sqlite3_prepare_v2(db_,
                         "INSERT INTO services(id, json) VALUES(?1, ?2)"
                         " ON CONFLICT(id) DO UPDATE SET json = excluded.json",
                         -1, &put_, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(db_, "DELETE FROM services WHERE id = ?1", -1, &del_, nullptr) != SQLITE_OK) {
    err = sqlite3_errmsg(db_);
    sqlite3_finalize(put_);
    sqlite3_close(db_);
    throw std::runtime_error("cannot prepare registry statements: " + err);
  }

  sqlite3_stmt* all = nullptr;
  sqlite3_prepare_v2(db_, "SELECT id, json FROM services ORDER BY seq", -1, &all, nullptr);
  JsonParser parser;
  while (all && sqlite3_step(all) == SQLITE_ROW) {
    const std::string id(reinterpret_cast<const char*>(sqlite3_column_text(all, 0)));
    const std::string json(reinterpret_cast<const char*>(sqlite3_column_text(all, 1)));
    auto parsed = parse_service_copy(parser, json);
    if (!parsed) continue;  // unreadable row: skip, do not fail the hub
    Service s = std::move(*parsed.value);
    s.id = id;
    order_.push_back(id);
    map_.emplace(id, std::move(s));
  }
  sqlite3_finalize(all);
  thread_ = std::thread([this] { writer(); });
}

Registry::~Registry() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  thread_.join();
  sqlite3_finalize(put_);
  sqlite3_finalize(del_);
  sqlite3_close(db_);
}

bool Registry::exec(const char* sql, std::string* error) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    *error = err ? err : "unknown sqlite error";
    sqlite3_free(err);
    return false;
  }
  return true;
}

bool Registry::has(std::string_view id) const { return map_.find(id) != map_.end(); }

const Service* Registry::get(std::string_view id) const {
  auto it = map_.find(id);
  return it == map_.end() ? nullptr : &it->second;
}

std::vector<const Service*> Registry::list() const {
  std::vector<const Service*> out;
  out.reserve(order_.size());
  for (const auto& id : order_) out.push_back(&map_.find(id)->second);
  return out;
}

void Registry::put(const Service& s, Done done) {
  auto [it, inserted] = map_.insert_or_assign(s.id, s);
  if (inserted) order_.push_back(s.id);
  enqueue(Op{false, s.id, to_json(s), std::move(done)});
}

void Registry::del(std::string_view id, Done done) {
  if (auto it = map_.find(id); it != map_.end()) {
    map_.erase(it);
    order_.erase(std::find(order_.begin(), order_.end(), id));
  }
  enqueue(Op{true, std::string(id), {}, std::move(done)});
}

void Registry::enqueue(Op op) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(op));
  }
  cv_.notify_one();
}

// ---------------------------------------------------------------- writer

void Registry::writer() {
  std::vector<Op> batch;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left to write
      batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
      queue_.clear();
    }
    const std::string error = commit(batch);
    if (!error.empty()) HMS_LOG(error, "registry write failed: %s", error.c_str());
    for (Op& op : batch) {
      if (!op.done) continue;
      post_([done = std::move(op.done), error] { done(error.empty() ? error : "registry write failed: " + error); });
    }
    batch.clear();
  }
}

std::string Registry::commit(std::vector<Op>& batch) {
  std::string err;
  if (!exec("BEGIN IMMEDIATE", &err)) return err;
  for (const Op& op : batch) {
    sqlite3_stmt* st = op.remove ? del_ : put_;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, op.id.data(), static_cast<int>(op.id.size()), SQLITE_TRANSIENT);
    if (!op.remove) sqlite3_bind_text(st, 2, op.json.data(), static_cast<int>(op.json.size()), SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE) {
      err = sqlite3_errmsg(db_);
      std::string ignored;
      exec("ROLLBACK", &ignored);
      return err;
    }
  }
  if (!exec("COMMIT", &err)) {
    std::string ignored;
    exec("ROLLBACK", &ignored);
    return err;
  }
  writes_.fetch_add(batch.size(), std::memory_order_relaxed);
  commits_.fetch_add(1, std::memory_order_relaxed);
  return {};
}

}  // namespace hms::hub
