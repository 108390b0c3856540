#include "registry/pg_db.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>

namespace mlfaas::registry {
namespace {

constexpr int kMaxSerializationRetries = 5;

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int v = 0;
      auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
      if (ec == std::errc() && p == s.data() + i + 3) {
        out += static_cast<char>(v);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

// Every spelling of the password `url` carries: in the URI's userinfo, in a `password=`
// parameter, raw and percent-decoded, and as libpq parses it.
std::vector<std::string> PasswordsIn(std::string_view url) {
  std::vector<std::string> out;
  auto add = [&out](std::string_view p) {
    if (p.empty()) return;
    out.emplace_back(p);
    out.push_back(PercentDecode(p));
  };
  if (size_t scheme = url.find("://"); scheme != std::string_view::npos) {
    std::string_view rest = url.substr(scheme + 3);
    rest = rest.substr(0, rest.find('?'));
    if (size_t at = rest.rfind('@'); at != std::string_view::npos) {
      std::string_view userinfo = rest.substr(0, at);
      if (size_t colon = userinfo.find(':'); colon != std::string_view::npos) {
        add(userinfo.substr(colon + 1));
      }
    }
  }
  for (size_t pos = url.find("password="); pos != std::string_view::npos;
       pos = url.find("password=", pos + 1)) {
    std::string_view v = url.substr(pos + 9);
    add(v.substr(0, v.find_first_of("& ")));
  }
  char* err = nullptr;
  if (PQconninfoOption* opts = PQconninfoParse(std::string(url).c_str(), &err)) {
    for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
      if (std::string_view(o->keyword) == "password" && o->val != nullptr) add(o->val);
    }
    PQconninfoFree(opts);
  }
  if (err != nullptr) PQfreemem(err);
  // Longest first, so a password containing another candidate is replaced whole.
  std::sort(out.begin(), out.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return out;
}

std::string ReplaceAll(std::string s, const std::string& what, const std::string& with) {
  for (size_t pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + with.size())) {
    s.replace(pos, what.size(), with);
  }
  return s;
}

}  // namespace

PgParam PgInt(int64_t v) { return std::to_string(v); }
PgParam PgReal(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return std::string(buf);
}
PgParam PgBool(bool v) { return std::string(v ? "true" : "false"); }

std::string PgRows::Text(int row, int col) const {
  return std::string(PQgetvalue(r_.get(), row, col),
                     static_cast<size_t>(PQgetlength(r_.get(), row, col)));
}
int64_t PgRows::Int(int row, int col) const {
  return std::strtoll(PQgetvalue(r_.get(), row, col), nullptr, 10);
}
double PgRows::Real(int row, int col) const {
  return std::strtod(PQgetvalue(r_.get(), row, col), nullptr);
}
bool PgRows::Bool(int row, int col) const { return PQgetvalue(r_.get(), row, col)[0] == 't'; }

std::string RedactPassword(std::string_view message, std::string_view url) {
  std::string s(message);
  for (const std::string& p : PasswordsIn(url)) s = ReplaceAll(std::move(s), p, "***");
  // One line: libpq's messages end in a newline and may hold a tab-indented hint.
  std::string out;
  for (char c : s) {
    if (c == '\n' || c == '\r') {
      if (!out.empty() && out.back() != ' ') out += "; ";
    } else {
      const bool space = c == '\t' || c == ' ';
      if (!(space && !out.empty() && out.back() == ' ')) out += space ? ' ' : c;
    }
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == ';')) out.pop_back();
  return out;
}

std::string RedactedUrl(std::string_view url) { return RedactPassword(url, url); }

PgDb::PgDb(std::string url, PGconn* conn)
    : url_(std::move(url)), display_(RedactedUrl(url_)), conn_(conn) {}

StatusOr<std::unique_ptr<PgDb>> PgDb::Connect(const std::string& url) {
  // Keywords before dbname are defaults the URL may override.
  const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* values[] = {"10", "mlfaas", url.c_str(), nullptr};
  std::unique_ptr<PgDb> db(new PgDb(url, PQconnectdbParams(keys, values, /*expand_dbname=*/1)));
  if (db->conn_ == nullptr) return Internal("libpq: out of memory");
  // Server notices ("relation ... already exists, skipping") are not for the user's terminal.
  PQsetNoticeProcessor(
      db->conn_.get(), [](void*, const char*) {}, nullptr);
  if (db->Broken()) {
    return Unavailable("cannot connect to the registry database " + db->display_ + ": " +
                       RedactPassword(PQerrorMessage(db->conn_.get()), url));
  }
  return db;
}

Status PgDb::Reconnect() {
  PQreset(conn_.get());
  if (Broken()) {
    return Unavailable("lost the registry database " + display_ + " and could not reconnect: " +
                       RedactPassword(PQerrorMessage(conn_.get()), url_));
  }
  return Status::Ok();
}

Status PgDb::ErrorOf(const PGresult* r) {
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  last_sqlstate_ = state ? state : "";
  const char* primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string msg = RedactPassword(primary ? primary : PQerrorMessage(conn_.get()), url_);
  std::string_view code = state ? state : "";
  if (Broken() || code.starts_with("08") || code.starts_with("57P")) {
    return Unavailable("registry database " + display_ + ": " + msg);
  }
  if (code == "40001" || code == "40P01") {
    return Unavailable("registry database: transaction conflict (" + msg + ")");
  }
  if (code.starts_with("23")) return FailedPrecondition("registry database: " + msg);
  return Internal("registry database: " + msg +
                  (code.empty() ? "" : " (SQLSTATE " + std::string(code) + ")"));
}

StatusOr<PgRows> PgDb::Exec(const std::string& sql, const std::vector<PgParam>& params) {
  last_sqlstate_.clear();
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const PgParam& p : params) values.push_back(p ? p->c_str() : nullptr);
  PgRows rows(PQexecParams(conn_.get(), sql.c_str(), static_cast<int>(values.size()), nullptr,
                           values.data(), nullptr, nullptr, /*resultFormat=*/0));
  ExecStatusType status = PQresultStatus(rows.raw());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) return ErrorOf(rows.raw());
  return rows;
}

Status PgDb::ExecScript(const std::string& sql) {
  last_sqlstate_.clear();
  PGresult* r = PQexec(conn_.get(), sql.c_str());
  Status st = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK
                  ? Status::Ok()
                  : ErrorOf(r);
  PQclear(r);
  return st;
}

Status PgDb::InTxn(TxnMode mode, const std::function<Status()>& body) {
  const std::string begin =
      mode == TxnMode::kRead ? "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY" : "BEGIN";
  bool reconnected = false;
  for (int attempt = 0;; ++attempt) {
    if (Broken()) {
      if (reconnected) return Unavailable("registry database " + display_ + " is unreachable");
      MLFAAS_RETURN_IF_ERROR(Reconnect());
      reconnected = true;
    }
    Status st = Exec(begin).status();
    if (st.ok()) st = body();
    bool commit_sent = false;
    if (st.ok()) {
      commit_sent = true;
      st = Exec("COMMIT").status();
      if (st.ok()) return st;
    }
    // A deadlock or serialization failure: the transaction was rolled back whole.
    const bool conflict = last_sqlstate_ == "40001" || last_sqlstate_ == "40P01";
    if (!commit_sent && !Broken()) (void)Exec("ROLLBACK");
    // The server discarded the transaction: run it again, once, on a new connection.
    if (Broken() && !reconnected && !commit_sent) {
      MLFAAS_RETURN_IF_ERROR(Reconnect());
      reconnected = true;
      continue;
    }
    if (conflict && !Broken() && attempt < kMaxSerializationRetries) continue;
    return st;
  }
}

}  // namespace mlfaas::registry
