// `mlfaas bench run SCENARIO.yaml` and `mlfaas bench study`.
#include <unistd.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/cli.h"
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
};

void AddCommonFlags(CLI::App* cmd, BenchFlags& f) {
  cmd->add_option("--time-scale", f.time_scale,
                  "Compress scenario time by this factor (60: 1 min/s)");
  cmd->add_option("--report-dir", f.report_dir, "Write kpi.csv, junit.xml, report.html here");
  cmd->add_option("--threads", f.threads, "Client IO threads (1..16, default 2)");
  cmd->add_flag("-q,--quiet", f.quiet, "No live line per second");
}

Status RunBench(const BenchFlags& f) {
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
  if (!f.report_dir.empty()) {
    MLFAAS_RETURN_IF_ERROR(lt::WriteReportDir(f.report_dir, result, "mlfaas bench: " + opts.name));
    std::cout << "report: " << f.report_dir << "/report.html\n";
  }
  if (result.failed) return FailedPrecondition("pass/fail criteria failed");
  return Status::Ok();
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
  run->callback([flags, &ctx] { ctx.action = [flags] { return RunBench(*flags); }; });

  CLI::App* study = bench->add_subcommand("study", "Reproduce the reference study's two scenarios");
  study->add_option("--endpoint", flags->endpoint, "Invoke URL of an already running gateway");
  AddCommonFlags(study, *flags);
  study->callback([flags, &ctx] {
    ctx.action = [flags, &ctx] {
      lt::StudyOptions o;
      o.endpoint = flags->endpoint;
      o.time_scale = flags->time_scale;
      o.report_dir = flags->report_dir;
      o.threads = flags->threads;
      o.live = !flags->quiet && isatty(STDOUT_FILENO);
      o.self_exe = ctx.self_exe;
      o.home = ctx.home;
      return lt::RunStudy(o, std::cout);
    };
  });
}

}  // namespace mlfaas::cli
