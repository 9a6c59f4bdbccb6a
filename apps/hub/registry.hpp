// The hub's service registry: an in-memory map in registration order,
// written through to SQLite (WAL, synchronous=FULL) before a change is
// acknowledged, so an acknowledged add survives a crash or kill -9.
//
// Single-threaded: the hub's control shard owns it.
#pragma once

#include <sqlite3.h>

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "hms/control.hpp"

namespace hms::hub {

class Registry {
 public:
  // Opens (creating if needed) the database at `path` and loads it.
  // Throws std::runtime_error with SQLite's message on failure.
  explicit Registry(const std::string& path);
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  bool has(std::string_view id) const;
  const Service* get(std::string_view id) const;
  // Insert or replace; returns false (and changes nothing in memory) when the
  // write fails, with the reason in last_error().
  bool put(const Service& s);
  bool del(std::string_view id);
  // Services in the order they were first added.
  std::vector<const Service*> list() const;
  std::size_t size() const { return order_.size(); }
  const std::string& last_error() const { return error_; }

 private:
  bool exec(const char* sql);
  sqlite3* db_ = nullptr;
  sqlite3_stmt* put_ = nullptr;
  sqlite3_stmt* del_ = nullptr;
  std::unordered_map<std::string, Service> map_;
  std::vector<std::string> order_;
  std::string error_;
};

}  // namespace hms::hub
