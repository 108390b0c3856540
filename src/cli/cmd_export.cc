// `mlfaas export lambda|knative FUNCTION[:QUALIFIER] --out DIR`: one function version, with its
// configuration and the function's aliases, as files another platform deploys: a SAM template
// and a provided.al2023 zip (docs/deploy/aws-lambda.md), or a Knative Service and the
// Containerfile of its image (docs/deploy/knative.md). The text comes from src/deploy/; this file
// reads the home and writes DIR, all or nothing (a staging directory renamed into place).
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "cli/cli.h"
#include "common/fs.h"
#include "deploy/export_input.h"
#include "deploy/knative_export.h"
#include "deploy/lambda_export.h"
#include "package/package.h"
#include "registry/registry.h"

namespace mlfaas::cli {
namespace {

namespace fs = std::filesystem;

struct ExportArgs {
  std::string target;  // FUNCTION[:QUALIFIER]
  std::string out;
  std::string bootstrap;
  std::string image;  // knative
  std::string name;   // knative
};

// What an export reads from the home.
struct ExportSource {
  deploy::ExportInput input;
  std::string package_zip;  // the stored package of the version
};

StatusOr<ExportSource> LoadExportSource(const CliContext& ctx, const std::string& target) {
  const size_t colon = target.find(':');
  const std::string function = target.substr(0, colon);
  const std::string qualifier = colon == std::string::npos ? "" : target.substr(colon + 1);
  if (!registry::IsValidFunctionName(function)) {
    return InvalidArgument("invalid function name '" + function + "'");
  }
  if (colon != std::string::npos && qualifier.empty()) {
    return InvalidArgument("empty qualifier in '" + target + "' (expected " + function +
                           ":VERSION, " + function + ":ALIAS or " + function + ":$LATEST)");
  }
  MLFAAS_ASSIGN_OR_RETURN(auto reg, registry::OpenRegistry(ctx.home, ctx.registry));
  MLFAAS_RETURN_IF_ERROR(reg->GetFunction(function).status());
  ExportSource src;
  src.input.producer = "mlfaas " MLFAAS_VERSION;
  // uniform01 = 1 never picks a canary: an alias exports its primary version.
  MLFAAS_ASSIGN_OR_RETURN(src.input.version, reg->Resolve(function, qualifier, 1.0));
  if (!qualifier.empty() && qualifier != registry::kLatest && !deploy::IsVersionNumber(qualifier)) {
    src.input.via_alias = qualifier;
  }
  MLFAAS_ASSIGN_OR_RETURN(src.input.aliases, reg->ListAliases(function));
  MLFAAS_ASSIGN_OR_RETURN(src.package_zip, reg->PackagePath(src.input.version.code_digest));
  return src;
}

// --bootstrap, else mlfaas-bootstrap beside the running mlfaas: an executable regular file.
StatusOr<fs::path> BootstrapPath(const CliContext& ctx, const std::string& flag) {
  const fs::path path =
      flag.empty() ? ctx.self_exe.parent_path() / "mlfaas-bootstrap" : fs::path(flag);
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    return InvalidArgument("bootstrap " + path.string() +
                           " is missing (build the mlfaas-bootstrap target, or pass "
                           "--bootstrap PATH)");
  }
  if (::access(path.c_str(), X_OK) != 0) {
    return InvalidArgument("bootstrap " + path.string() + " is not executable");
  }
  return path;
}

// DIR may not exist yet, or be an empty directory.
Status CheckOutDir(const fs::path& out) {
  std::error_code ec;
  const fs::file_status st = fs::symlink_status(out, ec);
  if (!fs::exists(st)) return Status::Ok();
  if (!fs::is_directory(st) || !fs::is_empty(out, ec) || ec) {
    return InvalidArgument("--out " + out.string() + " exists and is not an empty directory");
  }
  return Status::Ok();
}

// A directory beside DIR, removed unless Commit() renamed it to DIR. Non-copyable.
class ExportStaging {
 public:
  static StatusOr<std::unique_ptr<ExportStaging>> Create(const fs::path& out) {
    const fs::path abs = fs::absolute(out).lexically_normal();
    const fs::path target = abs.has_filename() ? abs : abs.parent_path();
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    if (ec) return Internal("cannot create " + target.parent_path().string() + ": " + ec.message());
    std::string tmpl = (target.parent_path() / ("." + target.filename().string() + ".XXXXXX"));
    if (::mkdtemp(tmpl.data()) == nullptr) {
      return Internal("cannot create a directory beside " + target.string());
    }
    return std::unique_ptr<ExportStaging>(new ExportStaging(tmpl, target));
  }
  ~ExportStaging() {
    std::error_code ec;
    if (!committed_) fs::remove_all(dir_, ec);
  }
  ExportStaging(const ExportStaging&) = delete;
  ExportStaging& operator=(const ExportStaging&) = delete;

  const fs::path& dir() const { return dir_; }
  const fs::path& target() const { return target_; }

  Status Commit() {
    MLFAAS_RETURN_IF_ERROR(CheckOutDir(target_));
    std::error_code ec;
    fs::remove(target_, ec);      // an empty directory, or nothing
    ::chmod(dir_.c_str(), 0755);  // mkdtemp made it 0700
    fs::rename(dir_, target_, ec);
    if (ec) return Internal("cannot rename " + dir_.string() + " to " + target_.string());
    committed_ = true;
    return Status::Ok();
  }

 private:
  ExportStaging(fs::path dir, fs::path target) : dir_(std::move(dir)), target_(std::move(target)) {}
  fs::path dir_, target_;
  bool committed_ = false;
};

// The package's manifest.json bytes, checked against the version's model digest.
StatusOr<std::string> ManifestOf(const ExportSource& src, const fs::path& scratch) {
  std::error_code ec;
  fs::create_directory(scratch, ec);
  if (ec) return Internal("cannot create " + scratch.string() + ": " + ec.message());
  MLFAAS_RETURN_IF_ERROR(package::ExtractPackage(src.package_zip, scratch));
  const fs::path manifest = scratch / "manifest.json";
  MLFAAS_ASSIGN_OR_RETURN(package::Manifest m, package::ReadManifestFile(manifest));
  const std::string& want = src.input.version.model_digest;
  if (!want.empty() && m.digest != want) {
    return DataLoss("the stored package's manifest digest does not match version " +
                    src.input.version.version);
  }
  MLFAAS_ASSIGN_OR_RETURN(std::string bytes, ReadFile(manifest));
  fs::remove_all(scratch, ec);
  return bytes;
}

Status CopyExecutable(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::copy_file(from, to, ec);
  if (!ec) fs::permissions(to, fs::perms(0755), ec);
  if (ec) return Internal("cannot copy " + from.string() + ": " + ec.message());
  return Status::Ok();
}

void Report(const ExportStaging& staging, const std::vector<std::string>& files,
            const std::vector<std::string>& warnings, const std::string& next) {
  for (const std::string& w : warnings) std::cerr << "mlfaas: warning: " << w << "\n";
  for (const std::string& f : files)
    std::cout << "wrote " << (staging.target() / f).string() << "\n";
  std::cout << next << "\n";
}

Status RunExportLambda(const CliContext& ctx, const ExportArgs& a) {
  MLFAAS_ASSIGN_OR_RETURN(ExportSource src, LoadExportSource(ctx, a.target));
  const bool provided = src.input.version.config.runtime == "provided";
  fs::path bootstrap;
  if (!provided) {
    MLFAAS_ASSIGN_OR_RETURN(bootstrap, BootstrapPath(ctx, a.bootstrap));
  }
  MLFAAS_ASSIGN_OR_RETURN(deploy::Generated sam, deploy::SamTemplate(src.input));
  MLFAAS_RETURN_IF_ERROR(CheckOutDir(a.out));
  MLFAAS_ASSIGN_OR_RETURN(auto staging, ExportStaging::Create(a.out));
  const fs::path zip = staging->dir() / deploy::kSamCodeUri;
  if (provided) {
    // A "provided" package is already a Lambda bundle with its own bootstrap.
    std::error_code ec;
    fs::copy_file(src.package_zip, zip, ec);
    if (ec) return Internal("cannot copy the package: " + ec.message());
  } else {
    MLFAAS_ASSIGN_OR_RETURN(std::string manifest, ManifestOf(src, staging->dir() / ".package"));
    MLFAAS_RETURN_IF_ERROR(deploy::WriteLambdaZip(zip, bootstrap, manifest));
  }
  MLFAAS_RETURN_IF_ERROR(WriteFileAtomic(staging->dir() / "template.yaml", sam.text));
  MLFAAS_RETURN_IF_ERROR(staging->Commit());
  Report(*staging, {deploy::kSamCodeUri, "template.yaml"}, sam.warnings,
         "deploy: cd " + staging->target().string() + " && sam deploy --guided");
  return Status::Ok();
}

Status RunExportKnative(const CliContext& ctx, const ExportArgs& a) {
  MLFAAS_ASSIGN_OR_RETURN(ExportSource src, LoadExportSource(ctx, a.target));
  if (src.input.version.config.runtime == "provided") {
    return InvalidArgument("function " + src.input.version.function +
                           " has runtime 'provided': its own bootstrap has no --http adapter, "
                           "so only the built-in runtime exports to Knative");
  }
  MLFAAS_ASSIGN_OR_RETURN(fs::path bootstrap, BootstrapPath(ctx, a.bootstrap));
  MLFAAS_ASSIGN_OR_RETURN(deploy::Generated svc,
                          deploy::KnativeService(src.input, {a.image, a.name}));
  MLFAAS_RETURN_IF_ERROR(CheckOutDir(a.out));
  MLFAAS_ASSIGN_OR_RETURN(auto staging, ExportStaging::Create(a.out));
  const fs::path& dir = staging->dir();
  MLFAAS_ASSIGN_OR_RETURN(std::string manifest, ManifestOf(src, dir / ".package"));
  MLFAAS_RETURN_IF_ERROR(CopyExecutable(bootstrap, dir / "bootstrap"));
  MLFAAS_RETURN_IF_ERROR(WriteFileAtomic(dir / "manifest.json", manifest));
  MLFAAS_RETURN_IF_ERROR(WriteFileAtomic(dir / "Containerfile", deploy::Containerfile(src.input)));
  MLFAAS_RETURN_IF_ERROR(WriteFileAtomic(dir / "service.yaml", svc.text));
  MLFAAS_RETURN_IF_ERROR(staging->Commit());
  const std::string t = staging->target().string();
  Report(*staging, {"Containerfile", "bootstrap", "manifest.json", "service.yaml"}, svc.warnings,
         "deploy: podman build -t " + a.image + " " + t + " && podman push " + a.image +
             " && kubectl apply -f " + t + "/service.yaml");
  return Status::Ok();
}

void AddCommonOptions(CLI::App* cmd, ExportArgs& a) {
  cmd->add_option("FUNCTION", a.target,
                  "FUNCTION[:QUALIFIER]: a version number, an alias (its primary version) or "
                  "$LATEST (the default)")
      ->required();
  cmd->add_option("--out", a.out, "Directory to write (new, or empty)")
      ->required()
      ->type_name("DIR");
  cmd->add_option("--bootstrap", a.bootstrap,
                  "The static runtime to ship as bootstrap (default: mlfaas-bootstrap beside "
                  "this mlfaas)")
      ->type_name("PATH");
}

}  // namespace

void RegisterExportCommands(CLI::App& app, CliContext& ctx) {
  auto* exp = app.add_subcommand("export", "Export a function version to AWS Lambda or Knative");
  exp->require_subcommand(1);

  auto la = std::make_shared<ExportArgs>();
  auto* lambda = exp->add_subcommand(
      "lambda", "Write function.zip (provided.al2023) and a SAM template.yaml into DIR");
  AddCommonOptions(lambda, *la);
  lambda->footer("docs/deploy/aws-lambda.md: the mapping of each setting, and deploying.");
  lambda->callback(
      [&ctx, la] { ctx.action = [&ctx, la]() -> Status { return RunExportLambda(ctx, *la); }; });

  auto kn = std::make_shared<ExportArgs>();
  auto* knative = exp->add_subcommand(
      "knative", "Write a Knative service.yaml and the Containerfile of its image into DIR");
  AddCommonOptions(knative, *kn);
  knative->add_option("--image", kn->image, "Image reference the service runs (push it there)")
      ->required()
      ->type_name("REF");
  knative->add_option("--name", kn->name,
                      "Knative service name (default: the function name, lowercased, _ as -)");
  knative->footer("docs/deploy/knative.md: the mapping of each setting, and deploying.");
  knative->callback(
      [&ctx, kn] { ctx.action = [&ctx, kn]() -> Status { return RunExportKnative(ctx, *kn); }; });
}

}  // namespace mlfaas::cli
