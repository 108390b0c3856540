// `mlfaas bench run SCENARIO.yaml`, `mlfaas bench study` and `mlfaas bench study --matrix`.
#include <unistd.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "loadtest/matrix_run.h"
#include "loadtest/plan_parser.h"
#include "loadtest/report.h"
#include "loadtest/runner.h"
#include "loadtest/study.h"

namespace mlfaas::cli {
namespace {

namespace lt = mlfaas::loadtest;

struct BenchFlags {
  std::string scenario;
  std::vector<std::string> overrides;
  double time_scale = 1;
  std::string report_dir;
  bool samples = false;
  int threads = 2;
  bool quiet = false;
  std::string endpoint;
  // --matrix
  bool matrix = false;
  bool quick = false;
  bool no_cpu = false;
  std::string memory, runtimes, strategies;
  double keepalive_time_scale = 0;
  CLI::Option* time_scale_opt = nullptr;
};

void AddCommonFlags(CLI::App* cmd, BenchFlags& f) {
  f.time_scale_opt = cmd->add_option("--time-scale", f.time_scale,
                                     "Compress scenario time by this factor (60: 1 min/s; "
                                     "--matrix: the concurrency scenario's, default 10)");
  cmd->add_option("--report-dir", f.report_dir, "Write kpi.csv, junit.xml, report.html here");
  cmd->add_option("--threads", f.threads, "Client IO threads (1..16, default 2)");
  cmd->add_flag("-q,--quiet", f.quiet, "No live line per second");
}

Status RunBench(const BenchFlags& f, const CliContext& ctx) {
  std::vector<lt::Override> overrides;
  for (const std::string& o : f.overrides) {
    MLFAAS_ASSIGN_OR_RETURN(lt::Override parsed, lt::ParseOverride(o));
    overrides.push_back(std::move(parsed));
  }
  MLFAAS_ASSIGN_OR_RETURN(lt::Plan plan, lt::ParsePlanFile(f.scenario, overrides));
  lt::RunOptions opts;
  opts.time_scale = f.time_scale;
  opts.threads = f.threads;
  opts.keep_samples = f.samples;
  opts.live = !f.quiet && isatty(STDOUT_FILENO) ? &std::cout : nullptr;
  opts.name = std::filesystem::path(f.scenario).filename().string();
  MLFAAS_ASSIGN_OR_RETURN(lt::RunResult result, lt::RunPlan(plan, opts));
  std::cout << lt::FormatSummary(result) << std::flush;
  const std::string title = "mlfaas bench: " + opts.name;
  MLFAAS_RETURN_IF_ERROR(lt::WriteAndKeepReport(
      f.report_dir, ctx.home, std::filesystem::path(f.scenario).stem().string(),
      [&](const std::filesystem::path& dir) { return lt::WriteReportDir(dir, result, title); },
      std::cout));
  if (result.failed) return FailedPrecondition("pass/fail criteria failed");
  return Status::Ok();
}

Status RunMatrixCommand(const BenchFlags& f, const CliContext& ctx) {
  if (!f.endpoint.empty()) {
    return InvalidArgument("--matrix starts its own gateway: --endpoint cannot be given with it");
  }
  lt::MatrixOptions o;
  std::string cmd = "mlfaas bench study --matrix";
  if (!f.memory.empty()) {
    MLFAAS_ASSIGN_OR_RETURN(o.spec.memory_mb, lt::ParseMemoryList(f.memory));
    cmd += " --memory " + f.memory;
  }
  if (!f.runtimes.empty()) {
    MLFAAS_ASSIGN_OR_RETURN(o.spec.runtimes, lt::ParseRuntimeList(f.runtimes));
    cmd += " --runtimes " + f.runtimes;
  }
  if (!f.strategies.empty()) {
    MLFAAS_ASSIGN_OR_RETURN(o.spec.strategies, lt::ParseStrategyList(f.strategies));
    cmd += " --strategies " + f.strategies;
  }
  if (f.time_scale_opt && f.time_scale_opt->count() > 0) {
    o.time_scale = f.time_scale;
    cmd += " --time-scale " + lt::FormatNumber("%g", f.time_scale);
  }
  if (f.keepalive_time_scale != 0) {
    o.keepalive_time_scale = f.keepalive_time_scale;
    cmd += " --keepalive-time-scale " + lt::FormatNumber("%g", f.keepalive_time_scale);
  }
  o.quick = f.quick;
  o.cpu = !f.no_cpu;
  if (f.quick) cmd += " --quick";
  if (f.no_cpu) cmd += " --no-cpu";
  o.report_dir = f.report_dir;
  o.home = ctx.home;
  o.threads = f.threads;
  o.tty = !f.quiet && isatty(STDERR_FILENO);
  o.self_exe = ctx.self_exe;
  o.command = cmd;
  return lt::RunMatrix(o, std::cout, std::cerr);
}

Status RunStudyCommand(const BenchFlags& f, const CliContext& ctx) {
  if (f.matrix) return RunMatrixCommand(f, ctx);
  for (const auto& [given, name] :
       {std::pair{f.quick, "--quick"}, std::pair{f.no_cpu, "--no-cpu"},
        std::pair{!f.memory.empty(), "--memory"}, std::pair{!f.runtimes.empty(), "--runtimes"},
        std::pair{!f.strategies.empty(), "--strategies"},
        std::pair{f.keepalive_time_scale != 0, "--keepalive-time-scale"}}) {
    if (given) return InvalidArgument(std::string(name) + " needs --matrix");
  }
  lt::StudyOptions o;
  o.endpoint = f.endpoint;
  o.time_scale = f.time_scale;
  o.report_dir = f.report_dir;
  o.threads = f.threads;
  o.live = !f.quiet && isatty(STDOUT_FILENO);
  o.self_exe = ctx.self_exe;
  o.home = ctx.home;
  return lt::RunStudy(o, std::cout);
}

}  // namespace

void RegisterBenchCommands(CLI::App& app, CliContext& ctx) {
  auto flags = std::make_shared<BenchFlags>();
  CLI::App* bench = app.add_subcommand("bench", "Load-test an HTTP endpoint (Taurus-style YAML)");
  bench->require_subcommand(1);

  CLI::App* run = bench->add_subcommand("run", "Run a scenario file");
  run->add_option("scenario", flags->scenario, "Scenario YAML file")->required();
  run->add_option("-o", flags->overrides, "Override a setting: -o execution.0.concurrency=18");
  run->add_flag("--samples", flags->samples, "Also write every request to samples.csv");
  AddCommonFlags(run, *flags);
  run->callback([flags, &ctx] { ctx.action = [flags, &ctx] { return RunBench(*flags, ctx); }; });

  CLI::App* study = bench->add_subcommand("study", "Reproduce the reference study's two scenarios");
  study->add_option("--endpoint", flags->endpoint, "Invoke URL of an already running gateway");
  AddCommonFlags(study, *flags);
  study->add_flag("--matrix", flags->matrix,
                  "Memory x runtime x loading strategy, one private gateway, one table");
  study->add_option("--memory", flags->memory,
                    "--matrix: memory sizes in MB (default 256,512,1024)");
  study->add_option("--runtimes", flags->runtimes,
                    "--matrix: builtin,python,java (default all three)");
  study->add_option("--strategies", flags->strategies,
                    "--matrix: per-invoke,init,lazy,snapshot (default per-invoke,init,snapshot)");
  study->add_option("--keepalive-time-scale", flags->keepalive_time_scale,
                    "--matrix: the keep-alive scenario's compression (default 24x --time-scale)");
  study->add_flag("--quick", flags->quick,
                  "--matrix: one 1-second scenario per cell (a smoke test)");
  study->add_flag("--no-cpu", flags->no_cpu, "--matrix: skip the CPU-bound fixture");
  study->callback(
      [flags, &ctx] { ctx.action = [flags, &ctx] { return RunStudyCommand(*flags, ctx); }; });
}

}  // namespace mlfaas::cli
