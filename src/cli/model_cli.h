// Helpers shared by the model commands (cmd_model.cc: train; cmd_predict.cc: predict, package
// inspect). Internal to the CLI.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "common/status.h"
#include "model/metrics.h"
#include "registry/training_store.h"

namespace mlfaas::cli {

using SteadyClock = std::chrono::steady_clock;

double SecondsSince(SteadyClock::time_point t0);
// One progress line on stderr, only when stderr is a terminal.
void Progress(const std::string& line);
std::string NowRfc3339();
// InvalidArgument when the directory `out` would be written in does not exist.
Status CheckWritable(const std::filesystem::path& out);
// "a,b,c" -> {"a","b","c"}; InvalidArgument for an empty or repeated name.
StatusOr<std::vector<std::string>> SplitFeatures(const std::string& s);
// The confusion matrix and rates, shared by `train` and `predict --data`.
void PrintMetrics(const model::BinaryMetrics& m, const std::string& what);

// Datasets in the registry (cmd_retrain.cc). `train --data FILE` registers FILE under its base
// name (or "data-<digest prefix>" when that is not a valid name); `train --dataset NAME` reads
// the stored bytes.
struct ResolvedDataset {
  registry::DatasetInfo info;
  std::filesystem::path path;  // the verified blob
};
std::string DatasetNameForFile(const std::filesystem::path& file, const std::string& sha256);
StatusOr<registry::DatasetInfo> RegisterDataFile(const std::filesystem::path& home,
                                                 const std::filesystem::path& file);
StatusOr<registry::DatasetInfo> RegisterDataFile(registry::TrainingStore& store,
                                                 const std::filesystem::path& file);
StatusOr<ResolvedDataset> ResolveDataset(const std::filesystem::path& home,
                                         const std::string& name);

// `predict` and `package inspect` (cmd_predict.cc).
void RegisterPredictCommands(CLI::App& app, CliContext& ctx);

}  // namespace mlfaas::cli
