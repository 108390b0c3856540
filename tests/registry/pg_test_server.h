// A PostgreSQL server for tests, and a fresh database per test (tests/registry/pg_server.sh).
//
// The server is the one the ctest fixture started (PgServer.Start, a unix socket under /tmp,
// MLFAAS_TEST_PG_DIR) when it runs; otherwise (the test binary run by hand) a private one that
// this process starts on first use and stops at exit. Without PostgreSQL installed, `state()` is
// kNotInstalled and tests skip; a server that is installed but does not start is kFailed.
#pragma once

#include <string>

#include "common/status.h"

namespace mlfaas::registry::testing {

class PgTestServer {
 public:
  enum class State { kReady, kNotInstalled, kFailed };

  // The process-wide server, found or started on first call. Thread-safe.
  static PgTestServer& Get();

  State state() const { return state_; }
  // Why the server is not ready (empty when it is).
  const std::string& reason() const { return reason_; }
  // The directory holding the server's socket.
  const std::string& socket_dir() const { return socket_dir_; }

  // Creates an empty database with a unique name; returns its postgres:// URL (unix socket,
  // user postgres, trust authentication).
  StatusOr<std::string> CreateDatabase();
  // Drops the database of `url` (made by CreateDatabase), closing its connections.
  Status DropDatabase(const std::string& url);
  // URL of database `name` on this server.
  std::string UrlFor(const std::string& name) const;

  ~PgTestServer();

 private:
  PgTestServer();

  State state_ = State::kFailed;
  std::string reason_;
  std::string socket_dir_;
  std::string private_base_;  // a server this process started (stopped by the destructor)
};

}  // namespace mlfaas::registry::testing
