// Fixture for tests that run `mlfaas serve` as a user does: the real binary over a real registry
// under a temp home, port 0, custom runtimes packaged as zips.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <zip.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <thread>

#include "common/fs.h"
#include "common/sha256.h"
#include "gateway/gateway_fixture.h"
#include "gateway/http_client.h"
#include "testing/subprocess.h"

namespace mlfaas::testing {

// Our own memory cgroup's mlfaas directory (where gateways started by a test put theirs).
inline std::filesystem::path MlfaasMemoryCgroups() {
  std::ifstream in("/proc/self/cgroup");
  for (std::string line; std::getline(in, line);) {
    auto a = line.find(':'), b = line.find(':', a + 1);
    if (line.substr(a + 1, b - a - 1) == "memory") {
      return std::filesystem::path("/sys/fs/cgroup/memory") /
             std::filesystem::path(line.substr(b + 1)).relative_path() / "mlfaas";
    }
  }
  return {};
}

// The groups (memory controller) named after gateway `pid` ("<pid>.<name>").
inline std::set<std::string> GroupsOwnedBy(pid_t pid) {
  std::set<std::string> out;
  std::error_code ec;
  const std::string prefix = std::to_string(pid) + ".";
  for (const auto& e : std::filesystem::directory_iterator(MlfaasMemoryCgroups(), ec)) {
    if (e.path().filename().string().starts_with(prefix)) out.insert(e.path().string());
  }
  return out;
}

inline constexpr auto kServeTimeout = std::chrono::seconds(120);

inline std::string InvokePath(const std::string& fn) {
  return "/2015-03-31/functions/" + fn + "/invocations";
}

// A python custom runtime that runs `body` (the body of `def handle(ev):`, indented) for each
// event and answers its return value.
// With `snapshot`, it speaks the fork protocol when started as a snapshot template
// (libmlfaas-snapshot.so, as examples/python/snapshot.py does): the loop runs in each forked
// instance.
inline std::string PyRuntime(const std::string& body, bool snapshot = false) {
  const std::string fork = snapshot ? R"PY(
if os.environ.get("MLFAAS_SNAPSHOT_FD"):
    import ctypes
    lib = ctypes.PyDLL(os.environ["MLFAAS_SNAPSHOT_LIB"])
    ctypes.pythonapi.PyOS_BeforeFork()
    if lib.mlfaas_snapshot_serve(ctypes.c_longlong(0)) != 0:
        sys.exit("fork protocol failed")
    ctypes.pythonapi.PyOS_AfterFork_Child()
)PY"
                                    : "";
  return std::string(R"PY(#!/usr/bin/python3
import json, os, sys, urllib.request)PY") +
         fork + R"PY(
base = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"
def handle(ev):
)PY" + body +
         R"PY(
while True:
    with urllib.request.urlopen(base + "/invocation/next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        ev = json.loads(r.read())
    out = json.dumps(handle(ev)).encode()
    urllib.request.urlopen(urllib.request.Request(
        base + "/invocation/" + rid + "/response", data=out, method="POST")).read()
)PY";
}

// An mlfaas API key as `mlfaas key create --json` prints it.
struct Creds {
  std::string id;
  std::string secret;
  std::string bearer() const { return "Bearer " + id + ":" + secret; }
};

class ServeFixture : public ::testing::Test {
 protected:
  // `mlfaas key create --name NAME --scope S... --json` in this home.
  Creds NewKey(const std::string& name, const std::vector<std::string>& scopes) {
    std::vector<std::string> args = {"key", "create", "--name", name, "--json"};
    for (const auto& s : scopes) args.insert(args.end(), {"--scope", s});
    auto r = Mlfaas(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    if (!j.is_object()) {
      ADD_FAILURE() << r.out;
      return {};
    }
    return {j["AccessKeyId"].get<std::string>(), j["SecretAccessKey"].get<std::string>()};
  }

  // `aws lambda ARGS...` (Debian's AWS CLI v2, /usr/bin/aws) against the gateway on `port`, with
  // these credentials and nothing from the user's AWS configuration.
  CommandResult AwsLambda(uint16_t port, const Creds& c, std::vector<std::string> args) {
    const std::string aws = "/usr/bin/aws";
    EXPECT_TRUE(std::filesystem::exists(aws)) << "Debian's awscli is missing (scripts/deps.sh)";
    args.insert(args.begin(),
                {aws, "--endpoint-url", "http://127.0.0.1:" + std::to_string(port), "lambda"});
    return RunCommand(args,
                      {{"AWS_ACCESS_KEY_ID", c.id},
                       {"AWS_SECRET_ACCESS_KEY", c.secret},
                       {"AWS_DEFAULT_REGION", "us-west-2"},
                       {"AWS_PAGER", ""},
                       {"AWS_CONFIG_FILE", "/dev/null"},
                       {"AWS_SHARED_CREDENTIALS_FILE", "/dev/null"},
                       {"AWS_EC2_METADATA_DISABLED", "true"},
                       {"AWS_MAX_ATTEMPTS", "1"}},
                      std::chrono::seconds(60));
  }

  // A failed test shows the end of the gateway's output (its log, and a sanitizer's report).
  void TearDown() override {
    if (!HasFailure() || log_.empty()) return;
    const std::string text = Slurp(log_);
    const size_t keep = 16 * 1024;
    std::cerr << "--- end of " << log_ << " ---\n"
              << (text.size() > keep ? text.substr(text.size() - keep) : text) << "\n---\n";
  }

  CommandResult Mlfaas(std::vector<std::string> args) {
    args.insert(args.begin(), {MLFAAS_BIN, "--home", (tmp_.path() / "home").string()});
    return RunCommand(args, {}, kServeTimeout);
  }

  // Creates `fn` ($LATEST) running `script` as its custom runtime, with `flags` added.
  void Create(const std::string& fn, const std::string& script, int memory_mb = kTestMemoryMb,
              std::vector<std::string> flags = {}) {
    std::vector<std::string> args = {"function",
                                     "create",
                                     fn,
                                     "--package",
                                     BootstrapZip(script).string(),
                                     "--runtime",
                                     "provided",
                                     "--memory",
                                     std::to_string(memory_mb)};
    args.insert(args.end(), flags.begin(), flags.end());
    auto r = Mlfaas(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  std::filesystem::path Home() { return tmp_.path() / "home"; }

  // The extracted code trees under <home>/code.
  std::vector<std::filesystem::path> CodeDirs() {
    std::vector<std::filesystem::path> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(Home() / "code", ec)) {
      if (e.is_directory() && IsSha256Hex(e.path().filename().string())) out.push_back(e.path());
    }
    return out;
  }
  // The one extracted code tree (empty path when there is none).
  std::filesystem::path CodeDir() {
    auto dirs = CodeDirs();
    return dirs.empty() ? std::filesystem::path() : dirs.front();
  }

  // A zip holding an executable `bootstrap` (custom runtime "provided"), the python one unless
  // told otherwise: stored (not compressed), a regular file with mode 0755, as python's zipfile
  // writes it with external_attr = 0o100755 << 16. Written with libzip here, not by a python3
  // process per zip.
  std::filesystem::path BootstrapZip(const std::string& script = kPythonBootstrap) {
    std::filesystem::path zip = tmp_.path() / "py.zip";
    int err = 0;
    zip_t* za = zip_open(zip.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
    if (za == nullptr) {
      ADD_FAILURE() << "zip_open " << zip << ": error " << err;
      return zip;
    }
    zip_source_t* src = zip_source_buffer(za, script.data(), script.size(), 0);
    const zip_int64_t idx = src ? zip_file_add(za, "bootstrap", src, ZIP_FL_ENC_UTF_8) : -1;
    if (idx < 0) {
      if (src) zip_source_free(src);
      ADD_FAILURE() << "zip_file_add: " << zip_strerror(za);
      zip_discard(za);
      return zip;
    }
    const auto i = static_cast<zip_uint64_t>(idx);
    EXPECT_EQ(zip_set_file_compression(za, i, ZIP_CM_STORE, 0), 0) << zip_strerror(za);
    EXPECT_EQ(zip_file_set_external_attributes(za, i, 0, ZIP_OPSYS_UNIX,
                                               static_cast<zip_uint32_t>(S_IFREG | 0755) << 16),
              0)
        << zip_strerror(za);
    if (zip_close(za) != 0) {  // writes `script` out
      ADD_FAILURE() << "zip_close " << zip << ": " << zip_strerror(za);
      zip_discard(za);
    }
    return zip;
  }

  // Starts `mlfaas serve --port 0` (at the default isolation, strict) and returns the port it
  // printed.
  uint16_t Serve(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {MLFAAS_BIN,  "--home", (tmp_.path() / "home").string(),
                                     "serve",     "--port", "0",
                                     "--threads", "2"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    log_ = (tmp_.path() / ("serve-" + std::to_string(++serves_) + ".log")).string();
    server_ = std::make_unique<BackgroundProcess>(argv, std::map<std::string, std::string>{}, log_);
    std::regex re("listening on http://127\\.0\\.0\\.1:(\\d+)");
    for (int i = 0; i < 2000; ++i) {
      std::smatch m;
      std::string text = Slurp(log_);
      if (std::regex_search(text, m, re)) return static_cast<uint16_t>(std::stoi(m[1]));
      if (!server_->Running()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "serve did not start: " << Slurp(log_);
    return 0;
  }

  std::vector<int> WorkerPids(uint16_t port) {
    HttpClient c(port);
    nlohmann::json st = nlohmann::json::parse(c.Get("/v1/status").body);
    std::vector<int> pids;
    for (auto& f : st["functions"])
      for (auto& v : f["versions"])
        for (auto& i : v["instances"]) pids.push_back(i["pid"].get<int>());
    return pids;
  }

  TempDir tmp_{"mlfaas-serve"};
  std::string log_;
  int serves_ = 0;
  std::unique_ptr<BackgroundProcess> server_;
};

}  // namespace mlfaas::testing
