#include "loadtest/matrix_run.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <streambuf>

#include "common/fs.h"
#include "common/json.h"
#include "loadtest/http_get.h"
#include "loadtest/plan_parser.h"
#include "loadtest/report.h"
#include "loadtest/runner.h"
#include "loadtest/self_gateway.h"
#include "loadtest/study_scenarios.h"

namespace mlfaas::loadtest {
namespace {

constexpr char kEvent[] = R"({"duration": 0, "src_bytes": 215, "dst_bytes": 45076})";
constexpr int kFunctionTimeoutS = 30;
constexpr int kReportPagesFromStart = 2;  // each page rescans the log: bound the cost
constexpr int kQuickReportPages = 20;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Rewrites one terminal line with `prefix` + each line written to it (the runner's per-second
// live line), so a long matrix shows where it is without scrolling.
class LiveLineBuf : public std::streambuf {
 public:
  explicit LiveLineBuf(std::ostream& out) : out_(out) {}
  void set_prefix(std::string p) { prefix_ = std::move(p); }

 protected:
  int overflow(int c) override {
    if (c == traits_type::eof()) return 0;
    if (c != '\n') {
      if (!(c == ' ' && !line_.empty() && line_.back() == ' ')) line_ += static_cast<char>(c);
      return c;
    }
    out_ << "\r\033[K" << prefix_ << line_ << std::flush;
    line_.clear();
    return c;
  }

 private:
  std::ostream& out_;
  std::string prefix_;
  std::string line_;
};

// Progress: on a terminal one line rewritten in place; otherwise one plain line per phase.
class Progress {
 public:
  Progress(std::ostream& out, bool tty) : out_(out), tty_(tty), buf_(out), live_(&buf_) {}
  // A phase begins ("[5/21] 512 MB · Python · snapshot: concurrency …").
  void Phase(const std::string& text) {
    if (tty_) {
      out_ << "\r\033[K" << text << std::flush;
      buf_.set_prefix(text + " ");
    } else {
      out_ << text << "\n" << std::flush;
    }
  }
  // A line that stays.
  void Line(const std::string& text) { out_ << (tty_ ? "\r\033[K" : "") << text << "\n"; }
  std::ostream* live() { return tty_ ? &live_ : nullptr; }

 private:
  std::ostream& out_;
  bool tty_;
  LiveLineBuf buf_;
  std::ostream live_;
};

bool OnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string_view rest = path ? path : "";
  while (!rest.empty()) {
    const size_t colon = rest.find(':');
    const std::string dir(rest.substr(0, colon));
    rest.remove_prefix(colon == std::string_view::npos ? rest.size() : colon + 1);
    if (!dir.empty() && access((dir + "/" + name).c_str(), X_OK) == 0) return true;
  }
  return false;
}

std::string QuickYaml() {
  return std::string(
             "execution:\n- concurrency: 4\n  ramp-up: 0s\n  hold-for: 1s\n  scenario: predict\n"
             "scenarios:\n  predict:\n    timeout: 60s\n    requests:\n"
             "    - url: http://127.0.0.1:9/\n      method: POST\n"
             "      headers: {Content-Type: application/json}\n      body: ") +
         kEvent + "\n";
}

std::string CpuYaml(int calls, int iterations) {
  return "execution:\n- concurrency: 1\n  iterations: " + std::to_string(calls) +
         "\n  scenario: predict\nscenarios:\n  predict:\n    timeout: 60s\n    requests:\n"
         "    - url: http://127.0.0.1:9/\n      method: POST\n"
         "      headers: {Content-Type: application/json}\n      body: {\"iterations\": " +
         std::to_string(iterations) + "}\n";
}

StatusOr<RunResult> RunScenario(const std::string& yaml, const std::string& name,
                                const std::string& url, double scale, bool samples,
                                const MatrixOptions& o, Progress& progress) {
  MLFAAS_ASSIGN_OR_RETURN(
      Plan plan, ParsePlanText(yaml, name, ".", {{"scenarios.predict.requests.0.url", url}}));
  RunOptions ro;
  ro.time_scale = scale;
  ro.threads = o.threads;
  ro.keep_samples = samples;
  ro.live = progress.live();
  ro.name = name;
  return RunPlan(plan, ro);
}

// "C W W W C": each keep-alive call cold (C), warm (W) or failed (E).
std::string KeepalivePattern(const RunResult& r) {
  std::string out;
  for (const Sample& s : r.samples) {
    if (!out.empty()) out += ' ';
    out += s.error != ErrorKind::kNone ? 'E' : s.cold_start ? 'C' : 'W';
  }
  return out;
}

double P50Ms(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[(v.size() - 1) / 2];
}

// Reads REPORT lines of `function` whose text contains `filter`, oldest first, from `since_ms`
// (0: everything kept), at most `max_pages` pages. `complete` when the log had no more.
struct ReportRead {
  std::vector<ReportLine> lines;
  bool complete = false;
};
StatusOr<ReportRead> ReadReports(const Url& gw, const std::string& function,
                                 const std::string& filter, int64_t since_ms, int max_pages) {
  ReportRead out;
  std::string token;
  for (int page = 0; page < max_pages; ++page) {
    std::string target =
        "/v1/functions/" + function + "/logs?limit=10000&filter=" + UrlEncode(filter);
    if (!token.empty()) {
      target += "&next_token=" + UrlEncode(token);
    } else if (since_ms > 0) {
      target += "&since=" + std::to_string(since_ms);
    }
    MLFAAS_ASSIGN_OR_RETURN(HttpReply reply, HttpGet(gw, target));
    if (reply.status != 200) {
      return Unavailable("GET " + target + ": HTTP " + std::to_string(reply.status) + ": " +
                         reply.body.substr(0, 200));
    }
    MLFAAS_ASSIGN_OR_RETURN(nlohmann::json j, ParseJson(reply.body));
    if (const nlohmann::json* events = JsonField(j, "events"); events && events->is_array()) {
      for (const nlohmann::json& e : *events) {
        if (auto line = ParseReportLine(JsonString(e, "text", ""))) out.lines.push_back(*line);
      }
    }
    token = JsonString(j, "next_token", "");
    if (!JsonBool(j, "truncated").value_or(false) || token.empty()) {
      out.complete = true;
      break;
    }
  }
  return out;
}

// Fills the REPORT-derived fields of `c`. Every line is read when the log is small; otherwise the
// first pages, every cold start's line ("Init Duration") and the last seconds' lines (all
// instances busy) give memory and init, and the cost comes from `metrics`.
Status ReadCellReports(const Url& gw, int64_t end_ms, bool quick, const std::string& metrics,
                       CellResult& c) {
  const std::string fn = c.cell.FunctionName();
  MLFAAS_ASSIGN_OR_RETURN(
      ReportRead all,
      ReadReports(gw, fn, "REPORT", 0, quick ? kQuickReportPages : kReportPagesFromStart));
  c.report_lines = static_cast<int64_t>(all.lines.size());
  std::vector<ReportLine> cold = all.lines;  // lines holding every cold start's Init Duration
  std::vector<ReportLine> tail;
  if (!all.complete) {
    MLFAAS_ASSIGN_OR_RETURN(ReportRead inits, ReadReports(gw, fn, "Init Duration", 0, 20));
    MLFAAS_ASSIGN_OR_RETURN(ReportRead last, ReadReports(gw, fn, "REPORT", end_ms - 2000, 1));
    cold = std::move(inits.lines);
    tail = std::move(last.lines);
  }
  std::vector<double> inits;
  for (const auto* v : {&all.lines, &cold, &tail}) {
    for (const ReportLine& l : *v)
      c.max_memory_mb = std::max(c.max_memory_mb, l.max_memory_used_mb);
  }
  for (const ReportLine& l : cold) {
    if (l.init_ms) inits.push_back(*l.init_ms);
  }
  if (!inits.empty()) c.init_p50_ms = P50Ms(inits);
  const LambdaPrices& x86 = PricesFor(Arch::kX86);
  if (all.complete) {
    int64_t mb_ms = 0;
    for (const ReportLine& l : all.lines) mb_ms += l.billed_ms * l.memory_size_mb;
    c.cost_per_million = CostPerMillion(c.report_lines, mb_ms, x86);
    c.cost_source = "REPORT";
  } else {
    const double gb_s = SumMetric(metrics, "mlfaas_gigabyte_seconds_total", fn) -
                        SumMetric(metrics, "mlfaas_snapshot_cache_gigabyte_seconds_total", fn);
    const auto n =
        static_cast<int64_t>(SumMetric(metrics, "mlfaas_invocation_duration_seconds_count", fn));
    c.cost_per_million =
        CostPerMillion(n, static_cast<int64_t>(std::llround(gb_s * 1024 * 1000)), x86);
    c.cost_source = "metrics";
  }
  return Status::Ok();
}

void FillClientStats(const RunResult* ka, const RunResult& main, CellResult& c) {
  const Histogram& h = main.total.window.latency;
  c.requests = h.count();
  c.avg_ms = h.mean() / 1e6;
  c.max_ms = static_cast<double>(h.max()) / 1e6;
  c.hits_per_s =
      main.elapsed_s > 0 ? static_cast<double>(main.total.window.hits) / main.elapsed_s : 0;
  Histogram cold = main.total.cold_latency;
  c.cold_starts = main.total.cold_starts;
  c.errors = main.total.window.failures;
  if (ka) {
    cold.Merge(ka->total.cold_latency);
    c.cold_starts += ka->total.cold_starts;
    c.errors += ka->total.window.failures;
    c.keepalive = KeepalivePattern(*ka);
  }
  c.cold_p50_ms = static_cast<double>(cold.Percentile(50)) / 1e6;
  c.cold_max_ms = static_cast<double>(cold.max()) / 1e6;
}

std::string DoneLine(const std::string& prefix, const CellResult& c) {
  return prefix + ": avg " + FormatNumber("%.2f ms", c.avg_ms) + ", max " +
         FormatNumber("%.1f ms", c.max_ms) + ", " + FormatNumber("%.1f hits/s", c.hits_per_s) +
         ", " + std::to_string(c.cold_starts) + " cold (p50 " +
         FormatNumber("%.1f ms", c.cold_p50_ms) + "), " + std::to_string(c.errors) + " errors" +
         (c.keepalive.empty() ? "" : ", keep-alive " + c.keepalive);
}

struct CpuRun {
  int memory_mb;
  std::vector<double> latency_ms;  // warm calls
};

std::vector<int> CpuSizes(bool quick) {
  return quick ? std::vector<int>{256, 1769} : std::vector<int>{256, 512, 1024, 1769};
}

// Writes the matrix's files into `dir`, which exists.
Status WriteMatrixReport(const std::filesystem::path& dir, const MatrixResult& r,
                         const std::string& markdown) {
  MLFAAS_RETURN_IF_ERROR(WriteFileAtomic(dir / "matrix.md", markdown));
  MLFAAS_RETURN_IF_ERROR(WriteFileAtomic(dir / "matrix.csv", MatrixCsv(r)));
  return WriteFileAtomic(dir / "report.html", MatrixHtml(r));
}

}  // namespace

Status RunMatrix(const MatrixOptions& options, std::ostream& out, std::ostream& progress_out) {
  MatrixOptions o = options;
  if (!(o.time_scale > 0)) return InvalidArgument("--time-scale must be > 0");
  if (o.keepalive_time_scale == 0) o.keepalive_time_scale = 24 * o.time_scale;
  if (!(o.keepalive_time_scale > 0) || o.keepalive_time_scale > 1200) {
    return InvalidArgument(
        "--keepalive-time-scale must be > 0 and at most 1200 (the idle timeout is whole "
        "seconds: 20 scenario minutes must stay >= 1 s)");
  }
  if (o.threads < 1 || o.threads > 16) return InvalidArgument("--threads must be 1..16");
  MatrixResult result;
  result.quick = o.quick;
  result.keepalive_scale = o.keepalive_time_scale;
  result.concurrency_scale = o.time_scale;
  result.command = o.command;
  CellPlan plan = EnumerateCells(o.spec);
  result.skipped = plan.skipped;
  if (!OnPath("javac") || !OnPath("java")) {
    std::vector<MatrixCell> kept;
    for (MatrixCell& c : plan.cells) {
      if (c.runtime == MatrixRuntime::kJava) {
        result.skipped.push_back({c, "no java/javac on PATH (a JDK 17 builds examples/java)"});
      } else {
        kept.push_back(std::move(c));
      }
    }
    plan.cells = std::move(kept);
  }
  if (plan.cells.empty()) return InvalidArgument("--matrix: no cell to run (see the skipped list)");
  MLFAAS_ASSIGN_OR_RETURN(auto data, FindStudyData(o.self_exe));

  std::vector<GatewayFunction> functions;
  for (const MatrixCell& c : plan.cells) {
    using Code = GatewayFunction::Code;
    const Code code = c.runtime == MatrixRuntime::kBuiltin  ? Code::kModel
                      : c.runtime == MatrixRuntime::kPython ? Code::kPythonBundle
                                                            : Code::kJavaBundle;
    functions.push_back({c.FunctionName(), code, c.memory_mb, c.strategy, kFunctionTimeoutS});
  }
  if (o.cpu) {
    for (int mb : CpuSizes(o.quick)) {
      functions.push_back(
          {"cpu-" + std::to_string(mb), GatewayFunction::Code::kCpuFixture, mb, "", 60});
    }
  }
  // 20 scenario minutes of the keep-alive's clock: instances survive its 6-, 10- and 15-minute
  // pauses and not its 30-minute one (the study's observation).
  const int idle_s =
      o.quick ? 60 : std::max(1, static_cast<int>(std::lround(1200 / o.keepalive_time_scale)));
  MLFAAS_ASSIGN_OR_RETURN(
      auto gateway, SelfGateway::StartWith(o.self_exe, data, functions, idle_s, progress_out));
  MLFAAS_ASSIGN_OR_RETURN(Url gw, ParseUrl(gateway->base_url()));

  Progress progress(progress_out, o.tty);
  const int n = static_cast<int>(plan.cells.size());
  std::vector<int64_t> end_ms;
  for (int i = 0; i < n; ++i) {
    CellResult c;
    c.cell = plan.cells[static_cast<size_t>(i)];
    const std::string url = gateway->InvokeUrl(c.cell.FunctionName());
    const std::string prefix =
        "[" + std::to_string(i + 1) + "/" + std::to_string(n) + "] " + c.cell.Label();
    if (o.quick) {
      progress.Phase(prefix + ": quick …");
      MLFAAS_ASSIGN_OR_RETURN(RunResult q,
                              RunScenario(QuickYaml(), "quick", url, 1, false, o, progress));
      FillClientStats(nullptr, q, c);
    } else {
      progress.Phase(prefix + ": keep-alive …");
      MLFAAS_ASSIGN_OR_RETURN(RunResult ka, RunScenario(kKeepaliveYaml, "keepalive.yaml", url,
                                                        o.keepalive_time_scale, true, o, progress));
      progress.Phase(prefix + ": concurrency …");
      MLFAAS_ASSIGN_OR_RETURN(RunResult cc, RunScenario(kConcurrencyYaml, "concurrency.yaml", url,
                                                        o.time_scale, false, o, progress));
      FillClientStats(&ka, cc, c);
    }
    end_ms.push_back(NowMs());
    progress.Line(DoneLine(prefix, c));
    result.cells.push_back(std::move(c));
  }

  std::vector<CpuRun> cpu_runs;
  if (o.cpu) {
    const int calls = o.quick ? 2 : 5;
    // Quick: ~25 ms of CPU a call, more than the 14.5 ms a 100-ms period gives 256 MB.
    const int iterations = o.quick ? 200000 : 2000000;
    for (int mb : CpuSizes(o.quick)) {
      progress.Phase("[cpu] " + std::to_string(mb) + " MB: " + std::to_string(calls) +
                     " calls of fixed CPU work …");
      // One unmeasured call first: the cold start.
      MLFAAS_ASSIGN_OR_RETURN(
          RunResult r,
          RunScenario(CpuYaml(calls + 1, iterations), "cpu",
                      gateway->InvokeUrl("cpu-" + std::to_string(mb)), 1, true, o, progress));
      CpuRun run{mb, {}};
      for (const Sample& s : r.samples) {
        if (!s.cold_start && s.error == ErrorKind::kNone)
          run.latency_ms.push_back(static_cast<double>(s.latency_ns) / 1e6);
      }
      cpu_runs.push_back(std::move(run));
    }
  }

  // The logs route writes the gateway's pending log lines before it reads: every REPORT line of
  // an invocation that has answered is there.
  progress.Phase("reading REPORT lines …");
  std::string metrics;
  if (auto m = HttpGet(gw, "/metrics"); m.ok() && m->status == 200) metrics = m->body;
  for (size_t i = 0; i < result.cells.size(); ++i) {
    MLFAAS_RETURN_IF_ERROR(ReadCellReports(gw, end_ms[i], o.quick, metrics, result.cells[i]));
  }
  for (const CpuRun& run : cpu_runs) {
    MLFAAS_ASSIGN_OR_RETURN(
        ReportRead rr, ReadReports(gw, "cpu-" + std::to_string(run.memory_mb), "REPORT", 0, 5));
    std::vector<double> warm;
    for (const ReportLine& l : rr.lines)
      if (!l.init_ms) warm.push_back(l.duration_ms);
    CpuPoint p;
    p.memory_mb = run.memory_mb;
    p.calls = static_cast<int>(run.latency_ms.size());
    p.duration_ms = P50Ms(warm);
    p.latency_ms = P50Ms(run.latency_ms);
    p.cpu_share = std::min(1.0, run.memory_mb / 1769.0);
    result.cpu.push_back(p);
  }
  progress.Line("done: " + std::to_string(result.cells.size()) + " cells");

  const std::string md = MatrixMarkdown(result);
  out << md;
  if (!o.report_dir.empty() || !o.home.empty()) out << "\n";
  out << std::flush;
  return WriteAndKeepReport(
      o.report_dir, o.home, "study-matrix",
      [&](const std::filesystem::path& dir) { return WriteMatrixReport(dir, result, md); }, out);
}

}  // namespace mlfaas::loadtest
