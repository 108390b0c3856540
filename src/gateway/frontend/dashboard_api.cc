// The dashboard (docs/dashboard.md): its page under /ui/ (the files compiled in, src/ui: open,
// they hold no data), and the JSON it reads, each route with the read scope:
//   GET /v1/dashboard                     the functions table (the functions the caller may read)
//   GET /v1/dashboard/functions/{name}    one function: config, aliases, versions with their
//                                         training metrics, retraining, canaries, the series
//   GET /v1/dashboard/stream[?function=F] server-sent events, a sample a second (dashboard_feed.h)
//   GET /v1/dashboard/reports[/{id}]      the bench's reports under <home>/reports (read:*)
// Counters come from Metrics, the same that /metrics renders. Registry and database work runs
// off the io threads (Offload).
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <utility>

#include "common/fs.h"
#include "common/json.h"
#include "gateway/frontend/dashboard_feed.h"
#include "gateway/frontend/router.h"
#include "registry/config_json.h"
#include "registry/usage_report.h"
#include "ui/assets.h"

namespace mlfaas::gateway {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr size_t kMaxRetrainRuns = 50;
constexpr size_t kMaxReports = 100;
constexpr uint64_t kMaxReportBytes = 32ull << 20;
constexpr uint64_t kMaxManifestBytes = 4ull << 20;

// The page's policy: its own files only, nothing from elsewhere. Inline scripts are allowed for
// the bench reports, which the page shows in a sandboxed srcdoc frame (a srcdoc document has its
// parent's policy); the page's own code is in app.js and inserts data as text only.
constexpr const char* kPagePolicy =
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; frame-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'";

Response AssetResponse(const Request& req, const ui::Asset& a) {
  Response res{http::status::ok, 11};
  res.set(http::field::etag, std::string(a.etag));
  res.set(http::field::cache_control, "no-cache");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Referrer-Policy", "no-referrer");
  const auto match = req[http::field::if_none_match];
  if (std::string_view(match.data(), match.size()) == a.etag) {
    res.result(http::status::not_modified);
    return res;
  }
  res.set(http::field::content_type, std::string(a.content_type));
  if (a.name == "index.html") res.set("Content-Security-Policy", kPagePolicy);
  res.body() = std::string(a.body);
  return res;
}

bool HandleAsset(const Request& req, std::string_view path, Responder& respond) {
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    respond(JsonErrorResponse(http::status::method_not_allowed, "MethodNotAllowed",
                              "use GET " + std::string(path)));
    return true;
  }
  if (path == "/ui") {
    Response res{http::status::moved_permanently, 11};
    res.set(http::field::location, "/ui/");
    return respond(std::move(res)), true;
  }
  std::string_view name = path.substr(4);
  if (name.empty()) name = "index.html";
  const ui::Asset* a = ui::FindAsset(name);
  if (!a) {
    return respond(JsonErrorResponse(http::status::not_found, "NotFound",
                                     "no such dashboard file: " + std::string(name.substr(0, 64)))),
           true;
  }
  return respond(AssetResponse(req, *a)), true;
}

json AliasesJson(const std::vector<registry::AliasInfo>& aliases) {
  json out = json::array();
  for (const auto& a : aliases) {
    out.push_back({{"name", a.name},
                   {"version", a.version},
                   {"canary_version", a.canary_version ? json(*a.canary_version) : json(nullptr)},
                   {"canary_weight", a.canary_weight},
                   {"description", a.description}});
  }
  return out;
}

// The upper bound (ms) of the bucket holding quantile q of `c`'s durations; null without any.
json Quantile(const Metrics::VersionCounts& c, double q) {
  if (c.timed == 0) return nullptr;
  const double rank = q * static_cast<double>(c.timed);
  for (size_t i = 0; i < c.buckets.size(); ++i) {
    if (static_cast<double>(c.buckets[i]) >= rank) return Metrics::kBucketsMs[i];
  }
  return Metrics::kBucketsMs.back();  // beyond the last bound: at least that
}

// Metered usage priced, per function (null: no usage store here).
StatusOr<std::map<std::string, json>> CostByFunction(ApiContext& ctx) {
  std::map<std::string, json> out;
  if (!ctx.usage) return out;
  if (ctx.flush_usage) ctx.flush_usage();  // best effort: what is pending shows next time
  MLFAAS_ASSIGN_OR_RETURN(auto rows, ctx.usage->Query("", 0));
  std::map<std::string, std::vector<registry::UsageRecord>> by;
  for (auto& r : rows) by[r.function].push_back(std::move(r));
  const auto prices = registry::PricesFor(registry::Arch::kX86);
  for (const auto& [f, rs] : by) {
    const json total = registry::CostReportJson(rs, prices, 0)["total"];
    const double gbs = total.value("gb_seconds", 0.0) + total.value("provisioned_gb_seconds", 0.0) +
                       total.value("snapshot_gb_seconds", 0.0);
    out[f] = {{"gb_seconds", gbs}, {"usd", total["usd"].value("total", 0.0)}};
  }
  return out;
}

// Lambda's console says "per minute": the series' last 60 points.
double PerMinute(const std::vector<SeriesPoint>& points) {
  uint64_t hits = 0;
  const size_t n = points.size();
  for (size_t i = n > 60 ? n - 60 : 0; i < n; ++i) hits += points[i].hits;
  return static_cast<double>(hits);
}

json FunctionRow(ApiContext& ctx, const registry::FunctionInfo& f, const Principal& who,
                 const std::map<std::string, Metrics::FunctionCounts>& totals,
                 const Metrics::Live& live, const std::map<std::string, json>& costs) {
  const auto& c = f.latest.config;
  json row = {{"name", f.name},
              {"runtime", c.runtime},
              {"memory_mb", c.memory_mb},
              {"timeout_s", c.timeout_s},
              {"model_loading", c.model_loading},
              {"max_concurrency_per_instance", c.max_concurrency_per_instance},
              {"can_deploy", who.scopes.Allows(auth::Action::kDeploy, f.name)}};
  auto aliases = ctx.registry->ListAliases(f.name);
  row["aliases"] = AliasesJson(aliases.ok() ? *aliases : std::vector<registry::AliasInfo>{});
  json versions = json::array();
  if (auto vs = ctx.registry->ListVersions(f.name); vs.ok()) {
    for (const auto& v : *vs) {
      if (v.version != registry::kLatest) versions.push_back(v.version);
    }
  }
  row["versions"] = std::move(versions);
  json instances = json::object();
  for (const auto& [key, n] : live.instances) {
    if (std::get<0>(key) != f.name) continue;
    instances[std::get<2>(key)] = instances.value(std::get<2>(key), 0) + n;
  }
  row["instances"] = std::move(instances);
  auto conc = live.concurrent.find(f.name);
  row["concurrent"] = conc == live.concurrent.end() ? 0 : conc->second;
  const auto t = totals.find(f.name);
  const Metrics::FunctionCounts counts = t == totals.end() ? Metrics::FunctionCounts{} : t->second;
  row["invocations"] = counts.counts.invocations;
  row["errors"] = counts.counts.errors;
  row["throttles"] = counts.throttles;
  row["cold_starts"] = counts.cold_starts;
  row["p50_ms"] = Quantile(counts.counts, 0.5);
  row["p99_ms"] = Quantile(counts.counts, 0.99);
  row["invocations_per_minute"] =
      ctx.dashboard ? PerMinute(ctx.dashboard->series().Points(f.name)) : 0.0;
  auto cost = costs.find(f.name);
  row["cost"] = cost != costs.end() ? cost->second
                : ctx.usage         ? json{{"gb_seconds", 0.0}, {"usd", 0.0}}
                                    : json(nullptr);
  return row;
}

Response Overview(ApiContext& ctx, const Principal& who) {
  auto functions = ctx.registry->ListFunctions();
  if (!functions.ok()) return StatusResponse(functions.status());
  auto costs = CostByFunction(ctx);
  if (!costs.ok()) return StatusResponse(costs.status());
  const auto totals = ctx.metrics.FunctionTotals();
  const auto live = ctx.manager.LiveCounts();
  json rows = json::array();
  for (const auto& f : *functions) {
    if (who.scopes.Allows(auth::Action::kRead, f.name)) {
      rows.push_back(FunctionRow(ctx, f, who, totals, live, *costs));
    }
  }
  return JsonResponse(http::status::ok,
                      {{"now_ms", ctx.clock.EpochMillis()},
                       {"auth", ctx.guard && ctx.guard->enforced() ? "enforced" : "off"},
                       {"chart_library", ui::ChartLibraryVendored()},
                       {"functions", std::move(rows)}});
}

// The manifest of `v`'s package: its kind and quality report (nulls when it has none).
std::pair<json, json> KindAndMetrics(ApiContext& ctx, const registry::VersionInfo& v) {
  if (!ctx.code) return {nullptr, nullptr};
  auto dir = ctx.code->CodeDir(v);
  if (!dir.ok()) return {nullptr, nullptr};
  const fs::path path = *dir / "manifest.json";
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec || size > kMaxManifestBytes) return {nullptr, nullptr};
  auto text = ReadFile(path);
  if (!text.ok()) return {nullptr, nullptr};
  auto m = ParseJson(*text);
  if (!m.ok() || !m->is_object()) return {nullptr, nullptr};
  const json* metrics = JsonField(*m, "metrics");
  return {json(JsonString(*m, "kind", "logistic_regression")),
          metrics && metrics->is_object() ? *metrics : json(nullptr)};
}

json SeriesJson(const std::vector<SeriesPoint>& points) {
  json s = {{"interval_s", 1}};
  json t = json::array(), hits = json::array(), errors = json::array(), avg = json::array(),
       max = json::array(), instances = json::array(), concurrent = json::array(),
       cold = json::array();
  for (const auto& p : points) {
    const json pj = PointJson(p);
    t.push_back(p.t);
    hits.push_back(p.hits);
    errors.push_back(p.errors);
    avg.push_back(pj["avg_ms"]);
    max.push_back(pj["max_ms"]);
    instances.push_back(p.instances);
    concurrent.push_back(p.concurrent);
    cold.push_back(p.cold_starts);
  }
  s["t"] = std::move(t);
  s["hits"] = std::move(hits);
  s["errors"] = std::move(errors);
  s["avg_ms"] = std::move(avg);
  s["max_ms"] = std::move(max);
  s["instances"] = std::move(instances);
  s["concurrent"] = std::move(concurrent);
  s["cold_starts"] = std::move(cold);
  return s;
}

json TrainingJson(ApiContext& ctx, const std::string& function) {
  json runs = json::array();
  json canaries = json::array();
  if (!ctx.training) return {{"runs", runs}, {"canaries", canaries}};
  if (auto rs = ctx.training->RetrainRuns(function); rs.ok()) {
    std::vector<registry::RetrainRun> all = std::move(*rs);
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.id > b.id; });
    for (size_t i = 0; i < all.size() && i < kMaxRetrainRuns; ++i) {
      runs.push_back(registry::RetrainRunJson(all[i]));
    }
  }
  if (auto cs = ctx.training->Canaries(false); cs.ok()) {
    for (const auto& d : *cs) {
      if (d.function != function) continue;
      canaries.push_back({{"alias", d.alias},
                          {"canary_version", d.canary_version},
                          {"weight", d.weight},
                          {"step", d.step},
                          {"bake_ms", d.bake_ms},
                          {"status", d.status},
                          {"reason", d.reason},
                          {"retrain_run", d.retrain_run},
                          {"created_at", d.created_at},
                          {"updated_at", d.updated_at}});
    }
  }
  return {{"runs", std::move(runs)}, {"canaries", std::move(canaries)}};
}

Response Detail(ApiContext& ctx, const Principal& who, const std::string& name) {
  auto f = ctx.registry->GetFunction(name);
  if (!f.ok()) return StatusResponse(f.status());
  json config = registry::ToJson(f->latest.config);  // as the registry stores it
  auto aliases = ctx.registry->ListAliases(name);
  if (!aliases.ok()) return StatusResponse(aliases.status());
  auto vs = ctx.registry->ListVersions(name);
  if (!vs.ok()) return StatusResponse(vs.status());
  json versions = json::array();
  for (auto it = vs->rbegin(); it != vs->rend(); ++it) {
    if (it->version == registry::kLatest) continue;
    auto [kind, metrics] = KindAndMetrics(ctx, *it);
    versions.push_back({{"version", it->version},
                        {"created_at", it->created_at},
                        {"description", it->description},
                        {"model_digest", it->model_digest},
                        {"kind", std::move(kind)},
                        {"metrics", std::move(metrics)}});
  }
  json training = TrainingJson(ctx, name);
  return JsonResponse(http::status::ok,
                      {{"name", name},
                       {"now_ms", ctx.clock.EpochMillis()},
                       {"can_deploy", who.scopes.Allows(auth::Action::kDeploy, name)},
                       {"config", std::move(config)},
                       {"aliases", AliasesJson(*aliases)},
                       {"versions", std::move(versions)},
                       {"retrain_runs", std::move(training["runs"])},
                       {"canaries", std::move(training["canaries"])},
                       {"series", SeriesJson(ctx.dashboard ? ctx.dashboard->series().Points(name)
                                                           : std::vector<SeriesPoint>{})}});
}

// A report's id is the name of its directory under <home>/reports.
bool ValidReportId(std::string_view id) {
  if (id.empty() || id.size() > 128 || id.front() == '.') return false;
  return std::all_of(id.begin(), id.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.';
  });
}

// The text of the report's <title> (its first 64 KiB), or its id.
std::string ReportTitle(const fs::path& file, const std::string& id) {
  std::ifstream in(file, std::ios::binary);
  std::string head(64 * 1024, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  const size_t open = head.find("<title>");
  const size_t close = head.find("</title>", open == std::string::npos ? 0 : open);
  if (open == std::string::npos || close == std::string::npos) return id;
  return head.substr(open + 7, std::min<size_t>(close - open - 7, 200));
}

Response Reports(ApiContext& ctx) {
  struct Entry {
    fs::file_time_type mtime;
    json j;
  };
  std::vector<Entry> entries;
  std::error_code ec;
  for (fs::directory_iterator it(ctx.reports_dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string id = it->path().filename().string();
    const fs::path file = it->path() / "report.html";
    std::error_code fec;
    if (!ValidReportId(id) || !fs::is_regular_file(file, fec)) continue;
    const auto mtime = fs::last_write_time(file, fec);
    const auto bytes = fs::file_size(file, fec);
    if (fec) continue;
    const auto sys = std::chrono::file_clock::to_sys(mtime);
    const int64_t ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(sys.time_since_epoch()).count();
    entries.push_back(
        {mtime,
         {{"id", id}, {"title", ReportTitle(file, id)}, {"created_ms", ms}, {"bytes", bytes}}});
  }
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.mtime > b.mtime; });
  json list = json::array();
  for (size_t i = 0; i < entries.size() && i < kMaxReports; ++i) list.push_back(entries[i].j);
  return JsonResponse(http::status::ok, {{"reports", std::move(list)}});
}

Response Report(ApiContext& ctx, const std::string& id) {
  if (ctx.reports_dir.empty()) return StatusResponse(NotFound("no report '" + id + "'"));
  const fs::path file = ctx.reports_dir / id / "report.html";
  std::error_code ec;
  const auto size = fs::file_size(file, ec);
  if (ec) return StatusResponse(NotFound("no report '" + id + "'"));
  if (size > kMaxReportBytes) return StatusResponse(ResourceExhausted("report too large to show"));
  auto text = ReadFile(file);
  if (!text.ok()) return StatusResponse(text.status());
  Response res{http::status::ok, 11};
  res.set(http::field::content_type, "text/html; charset=utf-8");
  // Opened on its own, it runs in an opaque origin, as in the page's sandboxed frame.
  res.set("Content-Security-Policy", "sandbox allow-scripts");
  res.set("X-Content-Type-Options", "nosniff");
  res.body() = std::move(*text);
  return res;
}

void OpenStream(ApiContext& ctx, const Principal& who, const std::string& function,
                Responder& respond) {
  if (!ctx.dashboard) {
    return respond(LambdaError(http::status::not_found, "ResourceNotFoundException",
                               "this gateway has no dashboard feed"));
  }
  if (ctx.dashboard->streams() >= DashboardFeed::kMaxStreams) {
    return respond(LambdaError(http::status::service_unavailable, "ServiceException",
                               "too many dashboard streams open; retry shortly"));
  }
  Response head{http::status::ok, 11};
  head.set(http::field::content_type, "text/event-stream");
  head.set(http::field::cache_control, "no-cache");
  auto stream = respond.Stream(std::move(head));
  if (!stream) return;
  stream->Write("retry: 2000\n\n");
  if (!ctx.dashboard->Subscribe(stream, who.scopes, function, ctx.clock.EpochMillis() / 1000)) {
    stream->Close();
  }
}

}  // namespace

bool HandleDashboardApi(ApiContext& ctx, Request& req, Responder& respond, const Principal& who) {
  std::string_view target(req.target().data(), req.target().size());
  const std::string_view path = target.substr(0, target.find('?'));
  if (path == "/ui" || path.starts_with("/ui/")) return HandleAsset(req, path, respond);
  if (path != "/v1/dashboard" && !path.starts_with("/v1/dashboard/")) return false;
  std::vector<std::string> seg;
  if (!PathSegments(path, seg)) return respond(BadParam("malformed path")), true;
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    return respond(LambdaError(http::status::method_not_allowed, "MethodNotAllowed",
                               "use GET " + std::string(path))),
           true;
  }
  if (!ctx.registry) {
    return respond(LambdaError(http::status::not_found, "ResourceNotFoundException",
                               "this gateway has no registry to show")),
           true;
  }
  if (seg.size() == 2) {
    return Offload(ctx, respond, [&ctx, who] { return Overview(ctx, who); }), true;
  }
  if (seg.size() == 4 && seg[2] == "functions") {
    const std::string name = seg[3];
    if (!ValidFunctionName(name)) {
      return respond(BadParam("invalid function name '" + name.substr(0, 64) + "'")), true;
    }
    if (auto denied = Authorize(who, auth::Action::kRead, name, "mlfaas:GetDashboard")) {
      return respond(std::move(*denied)), true;
    }
    return Offload(ctx, respond, [&ctx, who, name] { return Detail(ctx, who, name); }), true;
  }
  if (seg.size() == 3 && seg[2] == "stream") {
    std::string function;
    if (!QueryParamOr400(target, "function", function, respond)) return true;
    if (!function.empty()) {
      if (!ValidFunctionName(function)) {
        return respond(BadParam("invalid function name '" + function.substr(0, 64) + "'")), true;
      }
      if (auto denied = Authorize(who, auth::Action::kRead, function, "mlfaas:GetDashboard")) {
        return respond(std::move(*denied)), true;
      }
    }
    return OpenStream(ctx, who, function, respond), true;
  }
  if ((seg.size() == 3 || seg.size() == 4) && seg[2] == "reports") {
    if (auto denied = AuthorizeAll(who, auth::Action::kRead, "mlfaas:GetReports")) {
      return respond(std::move(*denied)), true;
    }
    if (seg.size() == 3) return Offload(ctx, respond, [&ctx] { return Reports(ctx); }), true;
    const std::string id = seg[3];
    if (!ValidReportId(id)) return respond(BadParam("invalid report id")), true;
    return Offload(ctx, respond, [&ctx, id] { return Report(ctx, id); }), true;
  }
  return respond(LambdaError(http::status::not_found, "ResourceNotFoundException",
                             "no dashboard route " + std::string(path.substr(0, 128)))),
         true;
}

}  // namespace mlfaas::gateway
