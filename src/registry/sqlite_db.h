// A thin RAII layer over the SQLite C API (sqlite3.h): a connection with cached prepared
// statements, scoped statement use and scoped transactions. Errors become Status values.
//
// Thread-safety: a Db is NOT thread-safe; its owner serializes access (SqliteRegistry holds a
// mutex). Several Db objects (in one or many processes) may use the same file at once.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/status.h"

namespace mlfaas::registry {

class Db;

// A prepared statement borrowed from the Db's cache; reset and unbound on destruction.
// Must not outlive its Db. Bind indexes are 1-based; column indexes 0-based.
class Stmt {
 public:
  Stmt(Db* db, sqlite3_stmt* s) : db_(db), s_(s) {}
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& Bind(int i, std::string_view v);
  Stmt& BindBlob(int i, std::string_view bytes);
  Stmt& Bind(int i, int64_t v);
  Stmt& Bind(int i, double v);
  Stmt& BindNull(int i);
  Stmt& Bind(int i, std::optional<int64_t> v) { return v ? Bind(i, *v) : BindNull(i); }

  // true: a row is available; false: done. Errors (incl. constraint violations) as Status,
  // with `constraint_failed()` telling a UNIQUE/PRIMARY KEY/FOREIGN KEY violation apart.
  StatusOr<bool> Step();
  // Runs to completion (for INSERT/UPDATE/DELETE).
  Status Run();
  bool constraint_failed() const { return constraint_failed_; }

  std::string Text(int col) const;
  int64_t Int(int col) const;
  double Real(int col) const;
  bool IsNull(int col) const;

 private:
  Db* db_;
  sqlite3_stmt* s_;
  bool constraint_failed_ = false;
};

class Db {
 public:
  // Opens (creating) `path`, sets busy_timeout, WAL journal, synchronous=FULL (a committed
  // transaction survives power loss), foreign keys.
  static StatusOr<std::unique_ptr<Db>> Open(const std::filesystem::path& path, int busy_timeout_ms);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Executes one or more statements without results.
  Status Exec(const std::string& sql);
  // Returns the cached prepared statement for `sql` (prepared on first use).
  StatusOr<std::unique_ptr<Stmt>> Prepare(const std::string& sql);
  // Single integer from a query such as "PRAGMA user_version".
  StatusOr<int64_t> QueryInt(const std::string& sql);
  int64_t Changes() const { return sqlite3_changes64(db_); }

  Status Error(std::string_view what) const;
  sqlite3* raw() { return db_; }

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::map<std::string, sqlite3_stmt*> cache_;
};

// BEGIN [IMMEDIATE] ... COMMIT; rolls back on destruction unless committed.
class Txn {
 public:
  enum class Mode { kDeferred, kImmediate };
  static StatusOr<std::unique_ptr<Txn>> Begin(Db& db, Mode mode);
  ~Txn();
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;
  Status Commit();

 private:
  explicit Txn(Db& db) : db_(db) {}
  Db& db_;
  bool done_ = false;
};

// Steps `st` to the end, mapping each row with `row(const Stmt&) -> T` (or StatusOr<T>).
template <typename T, typename F>
StatusOr<std::vector<T>> CollectRows(Stmt& st, F row) {
  std::vector<T> out;
  while (true) {
    MLFAAS_ASSIGN_OR_RETURN(bool more, st.Step());
    if (!more) return out;
    if constexpr (std::is_same_v<std::invoke_result_t<F, const Stmt&>, T>) {
      out.push_back(row(st));
    } else {
      MLFAAS_ASSIGN_OR_RETURN(T value, row(st));
      out.push_back(std::move(value));
    }
  }
}

}  // namespace mlfaas::registry
