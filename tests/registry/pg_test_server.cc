#include "registry/pg_test_server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <random>

#include "registry/pg_db.h"
#include "testing/subprocess.h"

namespace mlfaas::registry::testing {
namespace fs = std::filesystem;

namespace {

constexpr const char* kPort = "5432";  // pg_server.sh: the socket file's name only

bool PostgresInstalled() {
  if (const char* bin = std::getenv("MLFAAS_PG_BIN"); bin && *bin) {
    return fs::exists(fs::path(bin) / "postgres");
  }
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    if (fs::exists(e.path() / "bin" / "postgres") && fs::exists(e.path() / "bin" / "initdb")) {
      return true;
    }
  }
  return false;
}

bool Connectable(const std::string& url) { return PgDb::Connect(url).ok(); }

}  // namespace

PgTestServer& PgTestServer::Get() {
  static PgTestServer server;  // stopped (if ours) at exit
  return server;
}

std::string PgTestServer::UrlFor(const std::string& name) const {
  return "postgres:///" + name + "?host=" + socket_dir_ + "&port=" + kPort + "&user=postgres";
}

PgTestServer::PgTestServer() {
  // The ctest fixture's server, if it is up.
  socket_dir_ = std::string(MLFAAS_TEST_PG_DIR) + "/sock";
  if (fs::exists(socket_dir_ + "/.s.PGSQL." + kPort) && Connectable(UrlFor("postgres"))) {
    state_ = State::kReady;
    return;
  }
  if (!PostgresInstalled()) {
    state_ = State::kNotInstalled;
    reason_ =
        "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/postgres; Debian "
        "package postgresql): the PostgreSQL registry backend is not tested";
    return;
  }
  // Our own: under a /tmp directory the server's user can reach.
  std::string tmpl = (fs::temp_directory_path() / "mlfaas-pg.XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr || chmod(tmpl.c_str(), 0755) != 0) {
    reason_ = "cannot create a directory for PostgreSQL under /tmp";
    return;
  }
  private_base_ = tmpl;
  const std::string dir = private_base_ + "/srv";
  auto r = mlfaas::testing::RunCommand({"bash", MLFAAS_PG_SERVER_SCRIPT, "start", dir}, {},
                                       std::chrono::seconds(120));
  socket_dir_ = dir + "/sock";
  if (r.exit_code != 0 || !Connectable(UrlFor("postgres"))) {
    reason_ =
        "pg_server.sh start failed (exit " + std::to_string(r.exit_code) + "): " + r.out + r.err;
    return;
  }
  state_ = State::kReady;
}

PgTestServer::~PgTestServer() {
  if (private_base_.empty()) return;
  mlfaas::testing::RunCommand({"bash", MLFAAS_PG_SERVER_SCRIPT, "stop", private_base_ + "/srv"}, {},
                              std::chrono::seconds(60));
  std::error_code ec;
  fs::remove_all(private_base_, ec);
}

StatusOr<std::string> PgTestServer::CreateDatabase() {
  if (state_ != State::kReady) return Unavailable(reason_);
  static std::atomic<int> counter{0};
  std::random_device rd;
  const std::string name = "mlfaas_t" + std::to_string(getpid()) + "_" + std::to_string(counter++) +
                           "_" + std::to_string(rd() % 1000000);
  MLFAAS_ASSIGN_OR_RETURN(auto admin, PgDb::Connect(UrlFor("postgres")));
  // An identifier cannot be a parameter; `name` is ours ([a-z0-9_]).
  MLFAAS_RETURN_IF_ERROR(admin->Exec("CREATE DATABASE " + name).status());
  return UrlFor(name);
}

Status PgTestServer::DropDatabase(const std::string& url) {
  const size_t begin = url.find(":///") + 4, end = url.find('?');
  const std::string name = url.substr(begin, end - begin);
  MLFAAS_ASSIGN_OR_RETURN(auto admin, PgDb::Connect(UrlFor("postgres")));
  return admin->Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)").status();
}

}  // namespace mlfaas::registry::testing
