#include "registry/sqlite_db.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mlfaas::registry {
namespace {

Status CodeToStatus(int rc, std::string msg) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Unavailable("registry database is busy: " + msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return DataLoss("registry database is corrupt: " + msg);
    case SQLITE_CONSTRAINT:
      return FailedPrecondition("constraint failed: " + msg);
    default:
      return Internal("sqlite: " + msg);
  }
}

}  // namespace

Stmt::~Stmt() {
  sqlite3_reset(s_);
  sqlite3_clear_bindings(s_);
}

Stmt& Stmt::Bind(int i, std::string_view v) {
  sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::BindBlob(int i, std::string_view bytes) {
  sqlite3_bind_blob(s_, i, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::Bind(int i, int64_t v) {
  sqlite3_bind_int64(s_, i, v);
  return *this;
}
Stmt& Stmt::Bind(int i, double v) {
  sqlite3_bind_double(s_, i, v);
  return *this;
}
Stmt& Stmt::BindNull(int i) {
  sqlite3_bind_null(s_, i);
  return *this;
}

StatusOr<bool> Stmt::Step() {
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  constraint_failed_ = (rc & 0xff) == SQLITE_CONSTRAINT;
  return db_->Error("step");
}

Status Stmt::Run() {
  for (int guard = 0; guard < 1000000; ++guard) {
    MLFAAS_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Status::Ok();
  }
  return Internal("statement returned too many rows");
}

std::string Stmt::Text(int col) const {
  const unsigned char* p = sqlite3_column_text(s_, col);
  if (p == nullptr) return "";
  return std::string(reinterpret_cast<const char*>(p),
                     static_cast<size_t>(sqlite3_column_bytes(s_, col)));
}
int64_t Stmt::Int(int col) const { return sqlite3_column_int64(s_, col); }
double Stmt::Real(int col) const { return sqlite3_column_double(s_, col); }
bool Stmt::IsNull(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }

namespace {

// The database and its -wal and -shm files are readable by their owner only, whatever the umask
// (SQLite gives new -wal/-shm files the database's mode). Files owned by someone else are left
// alone. Never open()s an existing database: closing any descriptor of a file drops every POSIX
// lock this process holds on it, the locks of SQLite connections already open included.
void MakePrivate(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd >= 0) {
    (void)::fchmod(fd, 0600);  // a new, empty file: no connection can hold it
    ::close(fd);
  }
  for (const char* suffix : {"", "-wal", "-shm"}) {
    const std::string file = path.string() + suffix;
    struct stat st {};
    if (::lstat(file.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == ::geteuid() &&
        (st.st_mode & 077) != 0) {
      (void)::chmod(file.c_str(), 0600);
    }
  }
}

}  // namespace

StatusOr<std::unique_ptr<Db>> Db::Open(const std::filesystem::path& path, int busy_timeout_ms) {
  MakePrivate(path);
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<Db> db(new Db(raw));
  if (rc != SQLITE_OK) {
    return CodeToStatus(rc, "cannot open " + path.string() + ": " +
                                (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, busy_timeout_ms);
  // journal_mode=WAL is persistent in the file; setting it again is a cheap no-op.
  MLFAAS_RETURN_IF_ERROR(db->Exec("PRAGMA journal_mode=WAL"));
  MLFAAS_RETURN_IF_ERROR(db->Exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON"));
  return db;
}

Db::~Db() {
  for (auto& [sql, s] : cache_) sqlite3_finalize(s);
  sqlite3_close_v2(db_);
}

Status Db::Error(std::string_view what) const {
  return CodeToStatus(sqlite3_extended_errcode(db_),
                      std::string(what) + ": " + sqlite3_errmsg(db_));
}

Status Db::Exec(const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::Ok();
  std::string msg = err ? err : sqlite3_errstr(rc);
  sqlite3_free(err);
  return CodeToStatus(rc, msg);
}

StatusOr<std::unique_ptr<Stmt>> Db::Prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) !=
        SQLITE_OK) {
      return Error("prepare '" + sql + "'");
    }
    it = cache_.emplace(sql, s).first;
  }
  return std::make_unique<Stmt>(this, it->second);
}

StatusOr<int64_t> Db::QueryInt(const std::string& sql) {
  MLFAAS_ASSIGN_OR_RETURN(auto st, Prepare(sql));
  MLFAAS_ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return Internal("no result for '" + sql + "'");
  return st->Int(0);
}

StatusOr<std::unique_ptr<Txn>> Txn::Begin(Db& db, Mode mode) {
  MLFAAS_RETURN_IF_ERROR(db.Exec(mode == Mode::kImmediate ? "BEGIN IMMEDIATE" : "BEGIN"));
  return std::unique_ptr<Txn>(new Txn(db));
}

Txn::~Txn() {
  if (!done_) (void)db_.Exec("ROLLBACK");
}

Status Txn::Commit() {
  done_ = true;
  Status st = db_.Exec("COMMIT");
  if (!st.ok()) (void)db_.Exec("ROLLBACK");
  return st;
}

}  // namespace mlfaas::registry
