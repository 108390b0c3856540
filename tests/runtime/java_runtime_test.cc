// examples/java: the plain-Java custom runtime, bundled with make_bundle.sh and extracted as the
// gateway does, must answer every event like the built-in C++ handler (ModelHandler) under each
// model-loading strategy, and refuse bad configurations and tampered manifests with InitError.
//
// javac is slow, so the jar is compiled once and kept in a cache beside the test binaries
// (make_bundle.sh's MLFAAS_JAVA_JAR_CACHE, keyed by a hash of the sources); ctest runs every
// test in a process of its own, and each builds its bundle from that jar.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <regex>

#include "common/fs.h"
#include "package/manifest.h"
#include "package/package.h"
#include "runtime/fake_runtime_api.h"
#include "runtime/model_handler.h"
#include "runtime/test_model.h"
#include "testing/subprocess.h"
#include "testing/system_python.h"

namespace mlfaas::runtime {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::BackgroundProcess;
using testing::FakeRuntimeApi;
using testing::PostedResult;

constexpr auto kJavaTimeout = std::chrono::seconds(30);
const std::string kJavaExample = std::string(MLFAAS_SOURCE_DIR) + "/examples/java";

// True if `name` is an executable file in a PATH directory.
bool OnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    fs::path p = fs::path(dirs.substr(start, end - start)) / name;
    if (access(p.c_str(), X_OK) == 0) return true;
    start = end + 1;
  }
  return false;
}

// Marks every descriptor above stderr close-on-exec, so that a child started next inherits none.
// The Runtime API's listening socket must not outlive FakeRuntimeApi in the Java process: once
// the events run out the fake closes the connection, java.net.http retries an idempotent GET on
// a fresh connection, and an inherited listener would accept it and never answer.
void CloseOnExecAll() {
  std::vector<int> fds;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc/self/fd", ec)) {
    int fd = std::atoi(e.path().filename().c_str());
    if (fd > 2) fds.push_back(fd);
  }
  for (int fd : fds) {
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0) fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  }
}

// Where make_bundle.sh keeps compiled jars: <build dir>/java-jar-cache (next to bin/).
fs::path JarCache() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return fs::temp_directory_path() / "mlfaas-java-jar-cache";
  return exe.parent_path().parent_path() / "java-jar-cache";
}

// The manifest the Java runtime is tested with: the test model plus members that exercise the
// digest's canonical form (covered by it, ignored by readers): doubles that nlohmann writes with
// 17 digits where 16 round-trip, the fixed/exponent boundaries, -0.0, integers at the int64 and
// uint64 limits, an integer literal beyond uint64 (a double), 1E2 (a double), -0 (an integer),
// non-ASCII keys whose UTF-16 and UTF-8 orders differ, and every kind of string escape.
std::string TrickyManifest(const std::string& plain_manifest) {
  json j = json::parse(plain_manifest);
  j.erase("digest");
  j["training"]["loss"] = -19.544966090680848;
  j["training"]["numbers"] = {4.1752050594835004e+78,
                              -6.6475395447848324,
                              1e15,
                              1e16,
                              1e-5,
                              0.0001,
                              123456789.125,
                              -0.0,
                              5e-324,
                              1.7976931348623157e308,
                              2.0509539202133382};
  j["training"]["limits"] = {{"i64min", INT64_MIN}, {"u64max", UINT64_MAX}};
  j["x-text"] = "tab\t quote\" back\\ nl\n ctl\x01 del\x7f é \xf0\x9d\x84\x9e \xef\xbf\xbf";
  j["x-keys"] = {{"\xf0\x9d\x84\x9e", 1}, {"\xef\xbf\xbf", 2}, {"z", 3}, {"\xc3\xa9", 4}};
  std::string text = j.dump();
  // Literals whose parsed type matters: only raw text can hold them.
  text.insert(1, R"("x-raw":{"beyond":100000000000000000000000,"exp":1E2,"negzero":-0,)"
                 R"("esc":"\u00e9\/\ud834\udd1e"},)");
  const std::string digest = package::ComputeDigest(json::parse(text));
  text.insert(1, "\"digest\":\"" + digest + "\",");
  return text;
}

// Events beyond testing::TestEvents(): JSON edge cases, nesting at and past the bound, key order.
std::vector<std::string> MoreEvents() {
  std::vector<std::string> ev;
  ev.push_back(std::string(128 - 2, '[') + std::string(128 - 2, ']'));  // depth 126: an array
  ev.push_back(R"({"instances":)" + std::string(127, '[') + std::string(127, ']') + "}");  // 128
  ev.push_back(R"({"instances":)" + std::string(128, '[') + std::string(128, ']') + "}");  // 129
  ev.push_back(std::string(100000, '['));  // unterminated and far too deep
  ev.push_back(std::string(100000, '{'));
  ev.push_back(R"({"duration":0,"src_bytes":"[[[[[[[[","dst_bytes":1})");  // brackets in a string
  ev.push_back(R"({"duration":0,"duration":-1,"src_bytes":1,"dst_bytes":2})");  // last one wins
  ev.push_back(R"({"dur\u0061tion":0,"src_bytes":1,"dst_bytes":2})");           // escaped key
  ev.push_back(
      "{\"\xc3\xa9"
      "clair\":1,\"zeta\":1,\"duration\":0,\"src_bytes\":1,\"dst_bytes\":2}");
  ev.push_back("{\"\xf0\x9d\x84\x9e\":1,\"\xef\xbf\xbf\":1,\"duration\":0,\"src_bytes\":1}");
  ev.push_back(R"({"duration":-0,"src_bytes":18446744073709551615,"dst_bytes":1E2})");
  ev.push_back(R"({"duration":1e-400,"src_bytes":100000000000000000000000,"dst_bytes":0.5})");
  ev.push_back(R"({"duration":1e308,"src_bytes":0,"dst_bytes":0})");  // the score clamps
  ev.push_back(R"({"duration":0,"src_bytes":1.7976931348623157e308,"dst_bytes":1e300})");
  ev.push_back(" \t\r\n{\"duration\":0,\"src_bytes\":1,\"dst_bytes\":2}\n ");
  ev.push_back("\xef\xbb\xbf{\"duration\":0,\"src_bytes\":1,\"dst_bytes\":2}");  // UTF-8 BOM
  ev.push_back(R"({"duration":0,"src_bytes":1,"dst_bytes":2} x)");
  ev.push_back(R"({"duration":0,"src_bytes":1,"dst_bytes":2,})");
  ev.push_back(R"({"duration":01,"src_bytes":1,"dst_bytes":2})");
  ev.push_back(R"({"duration":.5,"src_bytes":1,"dst_bytes":2})");
  ev.push_back(R"({"duration":0,"src_bytes":1,"dst_bytes":Infinity})");
  ev.push_back(std::string(R"({"duration":0,"src_bytes":1,"dst_bytes":2)") + '\0' + "}");  // NUL
  ev.push_back("{\"a\x01\":1}");          // raw control character
  ev.push_back("{\"\xff\":1}");           // invalid UTF-8
  ev.push_back("{\"\xc0\xaf\":1}");       // overlong UTF-8
  ev.push_back(R"({"\ud800":1})");        // lone surrogate
  ev.push_back(R"({"\udc00\ud800":1})");  // reversed pair
  ev.push_back("");                       // empty body
  ev.push_back("null");
  ev.push_back(R"("just a string")");
  ev.push_back(R"({"instances":[{"duration":0,"src_bytes":1,"dst_bytes":2},null]})");
  ev.push_back(R"({"instances":null})");
  ev.push_back(R"({"a":1,"instances":[]})");  // key order decides which error comes first
  // A batch of 300 rows from tiny to huge values.
  std::string batch = R"({"instances":[)";
  for (int i = 0; i < 300; ++i) {
    if (i) batch += ',';
    const double v = std::ldexp(1.0 + i / 7.0, (i % 61) - 30);
    batch += R"({"duration":)" + std::to_string(i % 5) + R"(,"src_bytes":)" + json(v).dump() +
             R"(,"dst_bytes":)" + json(v * 3).dump() + "}";
  }
  ev.push_back(batch + "]}");
  return ev;
}

// |a - b| <= 1e-12 * max(|a|, |b|).
void ExpectRelativelyNear(double a, double b) {
  EXPECT_LE(std::fabs(a - b), 1e-12 * std::max(std::fabs(a), std::fabs(b))) << a << " vs " << b;
}

// Every probability in `body` is written in the shortest form that round-trips, laid out as
// std::to_chars (the built-in runtime's choice) does.
void ExpectShortestNumbers(const std::string& body) {
  static const std::regex re(R"("probability":([^}]*)\})");
  int found = 0;
  for (auto it = std::sregex_iterator(body.begin(), body.end(), re); it != std::sregex_iterator();
       ++it) {
    const std::string text = (*it)[1];
    double v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    ASSERT_TRUE(ec == std::errc() && p == text.data() + text.size()) << text;
    char buf[64];
    auto [end, ec2] = std::to_chars(buf, buf + sizeof buf, v);
    EXPECT_EQ(text, std::string(buf, end));
    ++found;
  }
  EXPECT_GT(found, 0) << body;
}

// The Java runtime's answer `java` to `event` equals the built-in handler's `cpp`: same kind,
// same error type and message (the JSON parsers' own details aside), same predictions.
void ExpectSameAsBuiltIn(const PostedResult& java, const Response& cpp) {
  ASSERT_EQ(java.kind == PostedResult::Kind::kError, cpp.is_error) << java.body;
  json j = json::parse(java.body);
  if (cpp.is_error) {
    EXPECT_EQ(java.error_type_header, cpp.error_type);
    EXPECT_EQ(j["errorType"], cpp.error_type);
    const std::string kParse = "event is not valid JSON: ";
    const std::string jm = j["errorMessage"], cm = cpp.error_message;
    if (cm.starts_with(kParse)) {
      EXPECT_TRUE(jm.starts_with(kParse)) << jm << " vs " << cm;
    } else {
      EXPECT_EQ(jm, cm);
    }
    return;
  }
  json c = json::parse(cpp.payload);
  // The model block byte for byte (same keys in the same order), then the predictions.
  const std::string kModel = R"(],"model":)";
  ASSERT_NE(java.body.find(kModel), std::string::npos) << java.body;
  EXPECT_EQ(java.body.substr(java.body.find(kModel)), cpp.payload.substr(cpp.payload.find(kModel)));
  EXPECT_EQ(j.size(), 2u);
  ASSERT_EQ(j["predictions"].size(), c["predictions"].size());
  for (size_t k = 0; k < c["predictions"].size(); ++k) {
    EXPECT_EQ(j["predictions"][k].size(), 2u);
    EXPECT_EQ(j["predictions"][k]["anomaly"], c["predictions"][k]["anomaly"]) << k;
    ExpectRelativelyNear(j["predictions"][k]["probability"].get<double>(),
                         c["predictions"][k]["probability"].get<double>());
  }
  // Same layout as the C++ result: {"predictions":[{"anomaly":..,"probability":..}],"model":..}
  EXPECT_TRUE(java.body.starts_with(R"({"predictions":[{"anomaly":)")) << java.body;
  ExpectShortestNumbers(java.body);
}

class JavaRuntimeTest : public ::testing::Test {
 protected:
  // Once per process: the bundle (the jar from the cache), extracted as the gateway does, with
  // the tricky manifest; a plain task root for the built-in handler.
  static void SetUpTestSuite() {
    if (!OnPath("javac") || !OnPath("java")) {
      setup_error_ =
          "javac/java not found: the Java example needs a JDK 17 "
          "(scripts/deps.sh installs default-jdk-headless)";
      return;
    }
    dir_ = new TempDir("mlfaas-java-runtime-test");
    const fs::path model_dir = dir_->path() / "model";
    fs::create_directories(model_dir);
    testing::WriteTaskRoot(model_dir);  // also leaves model.zip next to it
    const fs::path bundle = dir_->path() / "bundle.zip";
    auto r = testing::RunCommand(
        {kJavaExample + "/make_bundle.sh", (dir_->path() / "model.zip").string(), bundle.string()},
        testing::WithSystemPython({{"MLFAAS_JAVA_JAR_CACHE", JarCache().string()}}), kJavaTimeout);
    if (r.exit_code != 0) {
      setup_error_ = "make_bundle.sh failed: " + r.err;
      return;
    }
    fs::create_directories(BundleDir());
    Status st = package::ExtractPackage(bundle, BundleDir());
    if (!st.ok()) {
      setup_error_ = st.ToString();
      return;
    }
    auto plain = ReadFile(BundleDir() / "manifest.json");
    st = WriteFileAtomic(BundleDir() / "manifest.json", TrickyManifest(plain.value()));
    if (!st.ok()) setup_error_ = st.ToString();
  }

  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  void SetUp() override { ASSERT_TRUE(setup_error_.empty()) << setup_error_; }

  static fs::path BundleDir() { return dir_->path() / "bundle"; }

  // Runs the bundle's bootstrap with `loading` against a fresh Runtime API serving `events`;
  // the runtime's output is left in `log_`. With `exit_status`, waits for the runtime to exit
  // (which takes the JVM 300 ms while java.net.http's selector thread sits in epoll_wait) and
  // returns its wait status there; without, kills it once the events are answered.
  std::vector<PostedResult> Run(const std::string& loading, const std::vector<std::string>& events,
                                int* exit_status, const fs::path& task_root = BundleDir()) {
    FakeRuntimeApi api(events);
    CloseOnExecAll();
    log_ = dir_->path() / ("java-" + loading + ".log");
    BackgroundProcess worker({(BundleDir() / "bootstrap").string()},
                             {{"AWS_LAMBDA_RUNTIME_API", api.endpoint()},
                              {"_HANDLER", "predict"},
                              {"LAMBDA_TASK_ROOT", task_root.string()},
                              {"AWS_LAMBDA_FUNCTION_NAME", "kdd99-java"},
                              {"AWS_LAMBDA_FUNCTION_VERSION", "5"},
                              {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"},
                              {"MLFAAS_MODEL_LOADING", loading}},
                             log_.string());
    EXPECT_TRUE(api.Serve(kJavaTimeout, [&] { return testing::ChildAlive(worker.pid()); }))
        << "java runtime hung: " << testing::Slurp(log_.string());
    const int status = worker.StopWith(exit_status ? 0 : SIGKILL, kJavaTimeout);
    if (exit_status) *exit_status = status;
    next_calls_ = api.next_calls();
    return api.results();
  }

  // A copy of the bundle whose manifest was changed after its digest was computed.
  fs::path TamperedTaskRoot() {
    const fs::path root = dir_->path() / "tampered";
    fs::create_directories(root);
    json m = json::parse(ReadFile(BundleDir() / "manifest.json").value());
    m["threshold"] = 0.1;
    EXPECT_TRUE(WriteFileAtomic(root / "manifest.json", m.dump(2)).ok());
    return root;
  }

  static inline std::string setup_error_;
  static inline TempDir* dir_ = nullptr;
  fs::path log_;
  int next_calls_ = 0;
};

TEST_F(JavaRuntimeTest, BundleIsACustomRuntimeWithTheModel) {
  const fs::path bundle = dir_->path() / "bundle.zip";
  auto info = package::InspectCode(bundle);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_TRUE(info->has_bootstrap);
  ASSERT_TRUE(info->manifest.has_value());
  EXPECT_EQ(info->manifest->name, testing::TestManifest().name);
  EXPECT_TRUE(fs::exists(BundleDir() / "mlfaas-runtime.jar"));
  EXPECT_TRUE(fs::exists(BundleDir() / "snapshot_template.py"));
  // The tricky manifest is one mlfaas itself accepts.
  auto tricky = package::ReadManifestFile(BundleDir() / "manifest.json");
  EXPECT_TRUE(tricky.ok()) << tricky.status().ToString();
}

// One JVM per strategy: every event answered like ModelHandler, then exit 1 once the Runtime
// API goes away.
class JavaStrategyTest : public JavaRuntimeTest,
                         public ::testing::WithParamInterface<std::string> {};

TEST_P(JavaStrategyTest, AnswersLikeTheBuiltInHandler) {
  std::vector<std::string> events = testing::TestEvents();
  for (auto& e : MoreEvents()) events.push_back(std::move(e));

  auto manifest = package::ReadManifestFile(BundleDir() / "manifest.json");
  ASSERT_TRUE(manifest.ok()) << manifest.status().ToString();
  ModelHandler cpp(std::make_shared<const model::Predictor>(manifest->model),
                   ModelInfo{manifest->name, "5", manifest->digest});

  // Exiting once the Runtime API goes away does not depend on the strategy: checked once.
  int status = 0;
  auto java = Run(GetParam(), events, GetParam() == "init" ? &status : nullptr);
  const std::string log = testing::Slurp(log_.string());
  if (GetParam() == "init") {
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << status << "\n" << log;
  }
  ASSERT_EQ(java.size(), events.size()) << log;
  for (size_t i = 0; i < events.size(); ++i) {
    SCOPED_TRACE("event " + std::to_string(i) + ": " + events[i].substr(0, 200));
    EXPECT_EQ(java[i].request_id, "req-" + std::to_string(i));
    ExpectSameAsBuiltIn(java[i], cpp.HandleEvent(events[i]));
  }
  // The one init line on stdout names the strategy (and the model, when it loads at init).
  EXPECT_NE(log.find("strategy " + GetParam()), std::string::npos) << log;
  if (GetParam() == "init" || GetParam() == "snapshot") {
    EXPECT_NE(log.find("model kdd99-test digest " + manifest->digest + " loaded at init"),
              std::string::npos)
        << log;
  }
  if (GetParam() == "lazy") {
    EXPECT_NE(log.find("model kdd99-test digest " + manifest->digest + " loaded lazily"),
              std::string::npos)
        << log;
  }
  if (GetParam() == "snapshot") {
    EXPECT_NE(log.find("the JVM cannot be forked safely"), std::string::npos) << log;
    EXPECT_NE(log.find("snapshot falls back to init"), std::string::npos) << log;
  }
}

INSTANTIATE_TEST_SUITE_P(Loading, JavaStrategyTest,
                         ::testing::Values("init", "per-invoke", "lazy", "snapshot"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::erase(name, '-');
                           return name;
                         });

TEST_F(JavaRuntimeTest, UnknownModelLoadingIsAnInitError) {
  int status = 0;
  auto results = Run("sometimes", {"{}"}, &status);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << status;
  ASSERT_EQ(results.size(), 1u) << testing::Slurp(log_.string());
  EXPECT_EQ(results[0].kind, PostedResult::Kind::kInitError);
  EXPECT_EQ(results[0].error_type_header, "InitError");
  json body = json::parse(results[0].body);
  EXPECT_EQ(body["errorType"], "InitError");
  EXPECT_EQ(body["errorMessage"],
            "MLFAAS_MODEL_LOADING must be one of per-invoke | init | lazy | snapshot, not "
            "'sometimes'");  // as the built-in runtime says it
  EXPECT_EQ(next_calls_, 0) << "asked for work after a failed init";
}

// Loaded at init: an init error, with the message mlfaas's own reader gives.
TEST_F(JavaRuntimeTest, TamperedManifestIsAnInitError) {
  const fs::path root = TamperedTaskRoot();
  const std::string expected = package::ReadManifestFile(root / "manifest.json").status().message();
  ASSERT_NE(expected.find("digest mismatch"), std::string::npos) << expected;
  int status = 0;
  auto results = Run("init", {"{}"}, &status, root);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << status;
  ASSERT_EQ(results.size(), 1u) << testing::Slurp(log_.string());
  EXPECT_EQ(results[0].kind, PostedResult::Kind::kInitError);
  json body = json::parse(results[0].body);
  EXPECT_EQ(body["errorType"], "InitError");
  EXPECT_EQ(body["errorMessage"], expected);
  EXPECT_EQ(next_calls_, 0);
}

// Loaded on an invocation: that invocation fails with InitError. A lazy load is the instance's
// init, so the runtime exits; per-invoke goes on and fails the next invocation too.
class JavaLoadOnInvokeTest : public JavaRuntimeTest,
                             public ::testing::WithParamInterface<std::string> {};

TEST_P(JavaLoadOnInvokeTest, TamperedManifestFailsTheInvocation) {
  const fs::path root = TamperedTaskRoot();
  const std::string expected = package::ReadManifestFile(root / "manifest.json").status().message();
  const bool lazy = GetParam() == "lazy";
  int status = 0;
  const std::string event = R"({"duration":0,"src_bytes":1,"dst_bytes":2})";
  auto results = Run(GetParam(), {event, event}, lazy ? &status : nullptr, root);
  if (lazy) {
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << status;
  }
  ASSERT_EQ(results.size(), lazy ? 1u : 2u) << testing::Slurp(log_.string());
  for (size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i].kind, PostedResult::Kind::kError);
    EXPECT_EQ(results[i].request_id, "req-" + std::to_string(i));
    EXPECT_EQ(results[i].error_type_header, "InitError");
    json body = json::parse(results[i].body);
    EXPECT_EQ(body["errorType"], "InitError");
    EXPECT_EQ(body["errorMessage"], expected);
  }
  EXPECT_EQ(next_calls_, lazy ? 1 : 3);
}

INSTANTIATE_TEST_SUITE_P(Loading, JavaLoadOnInvokeTest, ::testing::Values("lazy", "per-invoke"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::erase(name, '-');
                           return name;
                         });

}  // namespace
}  // namespace mlfaas::runtime
