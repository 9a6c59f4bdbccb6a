#include "registry.hpp"

#include <algorithm>
#include <stdexcept>

namespace hms::hub {

Registry::Registry(const std::string& path) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    const std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error("cannot open registry " + path + ": " + msg);
  }
  sqlite3_busy_timeout(db_, 5000);
  // WAL + FULL: every acknowledged write is on disk before the reply.
  if (!exec("PRAGMA journal_mode=WAL") || !exec("PRAGMA synchronous=FULL") ||
      !exec("CREATE TABLE IF NOT EXISTS services ("
            " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
            " id TEXT NOT NULL UNIQUE,"
            " json TEXT NOT NULL)"))
    throw std::runtime_error("cannot prepare registry " + path + ": " + error_);
  if (sqlite3_prepare_v2(db_,
                         "INSERT INTO services(id, json) VALUES(?1, ?2)"
                         " ON CONFLICT(id) DO UPDATE SET json = excluded.json",
                         -1, &put_, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(db_, "DELETE FROM services WHERE id = ?1", -1, &del_, nullptr) != SQLITE_OK)
    throw std::runtime_error("cannot prepare registry statements: " + std::string(sqlite3_errmsg(db_)));

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
}

Registry::~Registry() {
  sqlite3_finalize(put_);
  sqlite3_finalize(del_);
  sqlite3_close(db_);
}

bool Registry::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    error_ = err ? err : "unknown sqlite error";
    sqlite3_free(err);
    return false;
  }
  return true;
}

bool Registry::has(std::string_view id) const { return map_.count(std::string(id)) != 0; }

const Service* Registry::get(std::string_view id) const {
  auto it = map_.find(std::string(id));
  return it == map_.end() ? nullptr : &it->second;
}

bool Registry::put(const Service& s) {
  const std::string json = to_json(s);
  sqlite3_reset(put_);
  sqlite3_bind_text(put_, 1, s.id.data(), static_cast<int>(s.id.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(put_, 2, json.data(), static_cast<int>(json.size()), SQLITE_TRANSIENT);
  if (sqlite3_step(put_) != SQLITE_DONE) {
    error_ = sqlite3_errmsg(db_);
    return false;
  }
  auto [it, inserted] = map_.insert_or_assign(s.id, s);
  if (inserted) order_.push_back(s.id);
  return true;
}

bool Registry::del(std::string_view id) {
  const std::string key(id);
  sqlite3_reset(del_);
  sqlite3_bind_text(del_, 1, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
  if (sqlite3_step(del_) != SQLITE_DONE) {
    error_ = sqlite3_errmsg(db_);
    return false;
  }
  if (map_.erase(key)) order_.erase(std::find(order_.begin(), order_.end(), key));
  return true;
}

std::vector<const Service*> Registry::list() const {
  std::vector<const Service*> out;
  out.reserve(order_.size());
  for (const auto& id : order_) out.push_back(&map_.at(id));
  return out;
}

}  // namespace hms::hub
