#include "runtime/test_model.h"

#include <gtest/gtest.h>

#include "package/package.h"
#include "testing/sample_manifest.h"

namespace mlfaas::testing {

package::Manifest TestManifest() {
  package::Manifest m = package::sample::SampleManifest();
  m.name = "kdd99-test";
  return m;
}

void WriteTaskRoot(const std::filesystem::path& task_root) {
  const auto zip = task_root.parent_path() / (task_root.filename().string() + ".zip");
  Status st = package::WritePackage(zip, TestManifest());
  ASSERT_TRUE(st.ok()) << st.ToString();
  st = package::ExtractPackage(zip, task_root);
  ASSERT_TRUE(st.ok()) << st.ToString();
}

std::vector<std::string> TestEvents() {
  return {
      R"({"duration":0,"src_bytes":215,"dst_bytes":45076})",
      R"({"duration":2,"src_bytes":54540,"dst_bytes":8314})",
      R"({"instances":[{"duration":0,"src_bytes":181,"dst_bytes":5450},)"
      R"({"src_bytes":1e6,"dst_bytes":0,"duration":12.5}]})",
      R"(not json)",
      R"([1,2,3])",
      R"({"duration":0,"src_bytes":215})",
      R"({"duration":0,"src_bytes":215,"dst_bytes":45076,"flag":1})",
      R"({"duration":0,"src_bytes":"215","dst_bytes":45076})",
      R"({"duration":0,"src_bytes":true,"dst_bytes":45076})",
      R"({"duration":0,"src_bytes":-1,"dst_bytes":45076})",
      R"({"duration":0,"src_bytes":1e400,"dst_bytes":45076})",
      R"({"duration":0,"src_bytes":NaN,"dst_bytes":45076})",
      R"({"instances":[]})",
      R"({"instances":{"duration":0}})",
      R"({"instances":[{"duration":0,"src_bytes":1,"dst_bytes":2},{"duration":0,"dst_bytes":1}]})",
      R"({"instances":[{"duration":0,"src_bytes":1,"dst_bytes":2}],"extra":1})",
      R"({"instances":[7]})",
  };
}

void ExpectSamePredictions(const nlohmann::json& a, const nlohmann::json& b) {
  EXPECT_EQ(a["model"], b["model"]);
  ASSERT_EQ(a["predictions"].size(), b["predictions"].size());
  for (size_t k = 0; k < a["predictions"].size(); ++k) {
    EXPECT_EQ(a["predictions"][k]["anomaly"], b["predictions"][k]["anomaly"]);
    EXPECT_NEAR(a["predictions"][k]["probability"].get<double>(),
                b["predictions"][k]["probability"].get<double>(), 1e-9);
  }
}

}  // namespace mlfaas::testing
