// Fuzz target: bytes as a code package (zip) and as its manifest.
//
//  1. As a zip on disk (a temp dir of this process): package::InspectCode (what the registry
//     runs on an upload), ReadPackage / ReadPackageBytes (with digest check), and
//     ExtractPackage into a fresh directory, which must not create anything outside it.
//  2. As manifest.json text: ParseManifestText / ReadManifestFile (for text starting with '{';
//     digest checked, so mostly refused) and ManifestFromJson on the parsed value (no digest:
//     whoever uploads a package computes its digest, so it guards nothing against a hostile
//     author). A manifest it accepts must survive ToJson -> ManifestFromJson, and its model must
//     score: the built-in handler's answer to valid rows is JSON, each probability in [0, 1].
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>

#include "common/json.h"
#include "fuzz_util.h"
#include "model/predictor.h"
#include "package/manifest.h"
#include "package/manifest_file.h"
#include "package/package.h"
#include "runtime/model_handler.h"

namespace {

using namespace mlfaas;
using nlohmann::json;
namespace fs = std::filesystem;

using fuzz::Fail;

const fs::path& Tmp() {
  static fuzz::TempDir dir("pkg");
  return dir.path();
}

void WriteFile(const fs::path& p, std::string_view bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) Fail("cannot write the input to the temp dir");
}

std::set<std::string> Names(const fs::path& dir) {
  std::set<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) out.insert(e.path().filename().string());
  return out;
}

// Extracted trees may hold read-only directories: make them writable so they can be removed.
void RemoveTree(const fs::path& dir) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) {
      fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
    }
  }
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::add, ec);
  fs::remove_all(dir, ec);
}

void CheckZip(std::string_view bytes) {
  const fs::path zip = Tmp() / "in.zip";
  WriteFile(zip, bytes);
  auto info = package::InspectCode(zip);
  auto read = package::ReadPackage(zip);
  auto read_bytes = package::ReadPackageBytes(bytes);
  if (read.ok() != read_bytes.ok()) Fail("ReadPackage and ReadPackageBytes disagree");
  if (read.ok() && info.ok() && (!info->manifest || info->manifest->digest != read->digest)) {
    Fail("InspectCode and ReadPackage disagree on the manifest");
  }
  // A readable package is also valid code, unless it ships a bootstrap without the exec bit.
  if (read.ok() && !info.ok() &&
      info.status().message().find("bootstrap is not executable") == std::string::npos) {
    Fail("a readable package fails InspectCode", info.status().ToString());
  }
  if (!bytes.starts_with("PK")) return fs::remove(zip), void();  // not a zip: nothing to extract
  const fs::path box = Tmp() / "x";
  const fs::path root = box / "root";
  fs::create_directories(root);
  (void)package::ExtractPackage(zip, root);
  if (Names(Tmp()) != std::set<std::string>{"in.zip", "x"}) {
    Fail("extraction created something outside its directory (temp dir)");
  }
  if (Names(box) != std::set<std::string>{"root"}) {
    Fail("extraction created something outside its directory (box)");
  }
  RemoveTree(box);
  fs::remove(zip);
}

void CheckModelScores(const package::Manifest& m) {
  if (!model::Predictor::Validate(m.model).ok()) Fail("ManifestFromJson accepted an invalid model");
  auto predictor = std::make_shared<const model::Predictor>(m.model);
  runtime::ModelHandler handler(predictor, {m.name, "1", m.digest});
  for (double x : {0.0, 1.0, 0.9, 1e300}) {
    json row = json::object();
    for (const std::string& f : m.model.features) row[f] = x;
    const std::string event = DumpJson(json{{"instances", json::array({row, row})}});
    runtime::Response r = handler.HandleEvent(event);
    if (r.is_error) Fail("a valid row was refused", r.error_message + "\n" + event);
    auto out = ParseJson(r.payload);
    if (!out.ok()) Fail("the handler's result is not valid JSON", r.payload);
    for (const json& p : (*out)["predictions"]) {
      auto prob = JsonNumber(p, "probability");
      if (!prob || !(*prob >= 0.0 && *prob <= 1.0)) Fail("probability outside [0, 1]", r.payload);
    }
  }
}

void CheckManifest(std::string_view bytes) {
  auto text = package::internal::ParseManifestText(std::string(bytes));
  if (bytes.starts_with("{")) {  // as the runtime reads it from $LAMBDA_TASK_ROOT
    const fs::path file = Tmp() / "manifest.json";
    WriteFile(file, bytes);
    auto loose = package::ReadManifestFile(file);
    fs::remove(file);
    if (loose.ok() != text.ok()) Fail("ReadManifestFile and ParseManifestText disagree");
  }
  auto parsed = ParseJson(bytes);
  if (!parsed.ok()) return;
  auto m = package::ManifestFromJson(*parsed);
  if (!m.ok()) return;
  const json again = package::ToJson(*m);
  auto m2 = package::ManifestFromJson(again);
  if (!m2.ok()) Fail("ToJson of an accepted manifest is refused", m2.status().ToString());
  if (package::ComputeDigest(package::ToJson(*m2)) != package::ComputeDigest(again)) {
    Fail("manifest does not round-trip", DumpJson(again));
  }
  CheckModelScores(*m);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  CheckZip(bytes);
  CheckManifest(bytes);
  return 0;
}
