// A thin RAII layer over libpq (libpq-fe.h): one connection, parameterized statements in text
// format, transactions with one reconnect on a broken connection. Errors become Status values
// whose messages are one line and never contain the connection's password.
//
// Thread-safety: a PgDb is NOT thread-safe; its owner serializes access (PgRegistry holds a
// mutex). Any number of PgDb objects, in any number of processes, may share one database.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace mlfaas::registry {

// A statement parameter in libpq's text format; nullopt is SQL NULL.
using PgParam = std::optional<std::string>;
PgParam PgInt(int64_t v);
PgParam PgReal(double v);  // round-trips exactly (%.17g)
PgParam PgBool(bool v);

// The rows of one result. Row and column indexes are 0-based.
class PgRows {
 public:
  explicit PgRows(PGresult* r) : r_(r) {}
  PGresult* raw() const { return r_.get(); }
  int size() const { return PQntuples(r_.get()); }
  bool empty() const { return size() == 0; }
  std::string Text(int row, int col) const;
  int64_t Int(int row, int col) const;
  double Real(int row, int col) const;
  bool Bool(int row, int col) const;  // 't' / 'f'
  bool IsNull(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }

 private:
  struct Clear {
    void operator()(PGresult* r) const { PQclear(r); }
  };
  std::unique_ptr<PGresult, Clear> r_;
};

// Replaces the password of `url` (URI userinfo or a `password=` parameter), wherever it occurs
// in `message`, with "***", and joins the message's lines with "; ".
std::string RedactPassword(std::string_view message, std::string_view url);
// `url` with its password (if any) replaced by "***", for messages and logs.
std::string RedactedUrl(std::string_view url);

class PgDb {
 public:
  enum class TxnMode {
    kWrite,  // READ COMMITTED; callers lock the rows they read-modify-write (FOR UPDATE)
    kRead,   // REPEATABLE READ, READ ONLY: one consistent snapshot
  };

  // Connects to `url` (postgres:// or postgresql://; connect_timeout 10 s unless the URL sets
  // one). Unavailable when the server cannot be reached or refuses the login.
  static StatusOr<std::unique_ptr<PgDb>> Connect(const std::string& url);
  PgDb(const PgDb&) = delete;
  PgDb& operator=(const PgDb&) = delete;

  // Runs one parameterized statement ($1, $2, ... in `sql`; values never spliced into SQL).
  // Errors: a lost connection (or SQLSTATE 08xxx/57Pxx) and 40001/40P01 (serialization failure,
  // deadlock) → Unavailable; 23xxx (constraint violations) → FailedPrecondition; anything else
  // → Internal. One line, never the password.
  StatusOr<PgRows> Exec(const std::string& sql, const std::vector<PgParam>& params = {});
  // Runs a script of statements without parameters (migrations; constant SQL only).
  Status ExecScript(const std::string& sql);

  // Runs `body` in one transaction and commits it; rolls back when `body` fails. If the
  // connection turns out broken before COMMIT was sent, reconnects once and runs `body` again
  // (the server discarded the first attempt). A deadlock or serialization failure runs it again
  // (up to 5 times). A failure of COMMIT itself on a lost connection is not retried (the commit
  // may have happened). `body` must therefore assign, not accumulate, what it returns.
  Status InTxn(TxnMode mode, const std::function<Status()>& body);

  // The server's process id for this connection (for tests).
  int BackendPid() const { return PQbackendPID(conn_.get()); }
  // The URL with the password redacted.
  const std::string& display() const { return display_; }

 private:
  struct Finish {
    void operator()(PGconn* c) const { PQfinish(c); }
  };
  PgDb(std::string url, PGconn* conn);
  // The Status for a failed result (or connection); records its SQLSTATE.
  Status ErrorOf(const PGresult* r);
  bool Broken() const { return PQstatus(conn_.get()) != CONNECTION_OK; }
  Status Reconnect();

  std::string url_;
  std::string display_;
  std::unique_ptr<PGconn, Finish> conn_;
  std::string last_sqlstate_;  // of the last failed statement ("" if none or no SQLSTATE)
};

}  // namespace mlfaas::registry
