// mlfaas-bootstrap behind mlfaas's own HTTP Runtime API: packaged as a Lambda deployment zip
// would be (an executable `bootstrap` next to manifest.json), published as a `provided` function
// and invoked through `mlfaas serve`, which starts it in its sandbox and serves it the Runtime
// API over HTTP (custom runtimes always get HTTP: docs/runtime.md).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "gateway/http_client.h"
#include "package/package.h"
#include "runtime/model_handler.h"
#include "runtime/test_model.h"
#include "testing/mlfaas_server.h"
#include "testing/subprocess.h"

namespace mlfaas::runtime {
namespace {

using nlohmann::json;

TEST(BootstrapServeTest, ServesInvocationsAsAProvidedFunctionOverTheGatewaysRuntimeApi) {
  TempDir dir("mlfaas-bootstrap-serve-test");
  const auto task = dir.path() / "task";
  std::filesystem::create_directories(task);
  testing::WriteTaskRoot(task);
  const auto zip = dir.path() / "function.zip";
  auto zipped =
      testing::RunCommand({"/usr/bin/python3", "-c",
                           "import sys, zipfile\n"
                           "z = zipfile.ZipFile(sys.argv[3], 'w', zipfile.ZIP_DEFLATED)\n"
                           "i = zipfile.ZipInfo('bootstrap')\n"
                           "i.external_attr = 0o100755 << 16\n"
                           "z.writestr(i, open(sys.argv[1], 'rb').read())\n"
                           "z.write(sys.argv[2], 'manifest.json'); z.close()\n",
                           MLFAAS_BOOTSTRAP_BIN, (task / "manifest.json").string(), zip.string()});
  ASSERT_EQ(zipped.exit_code, 0) << zipped.err;

  const auto home = dir.path() / "home";
  auto created = testing::RunMlfaas(
      home, {"function", "create", "bs", "--package", zip.string(), "--runtime", "provided"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  testing::MlfaasServer server(home, (dir.path() / "serve.log").string());
  ASSERT_NE(server.port(), 0);

  auto manifest = package::ReadManifestFile(task / "manifest.json");
  ASSERT_TRUE(manifest.ok());
  ModelHandler reference(std::make_shared<const model::Predictor>(testing::TestManifest().model),
                         ModelInfo{manifest->name, "$LATEST", manifest->digest});
  testing::HttpClient client(server.port());
  for (const std::string& event : testing::TestEvents()) {
    auto r = client.Post("/2015-03-31/functions/bs/invocations", event);
    const Response want = reference.HandleEvent(event);
    if (r.status == 400) {  // Lambda's Invoke API refuses a payload that is not JSON itself
      EXPECT_NE(r.body.find("Could not parse request body into json"), std::string::npos);
      EXPECT_TRUE(want.is_error && want.error_message.starts_with("event is not valid JSON"))
          << event;
      continue;
    }
    ASSERT_EQ(r.status, 200) << event << r.body << server.log();
    if (want.is_error) {
      EXPECT_EQ(r.header("x-amz-function-error"), "Unhandled") << event;
      EXPECT_EQ(json::parse(r.body),
                json({{"errorType", want.error_type}, {"errorMessage", want.error_message}}));
    } else {
      EXPECT_EQ(r.header("x-amz-function-error"), "") << event;
      EXPECT_EQ(r.body, want.payload);
    }
  }
  const int status = server.process().StopWith(SIGTERM, std::chrono::seconds(15));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  // The bootstrap's init line, in the function's log (the gateway captures worker output;
  // its log files are complete once it stopped).
  auto logs = testing::RunMlfaas(home, {"logs", "bs"});
  EXPECT_NE(logs.out.find("model kdd99-test digest " + manifest->digest), std::string::npos)
      << "logs: " << logs.out << logs.err;
}

}  // namespace
}  // namespace mlfaas::runtime
