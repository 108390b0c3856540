#include "registry/test_packages.h"

#include <sys/stat.h>
#include <zip.h>

#include <stdexcept>

#include "package/package.h"

namespace mlfaas::registry::testing {

void WriteModelPackage(const std::filesystem::path& path, int variant) {
  package::Manifest m;
  m.name = "kdd99-anomaly";
  m.model.features = {"duration", "src_bytes", "dst_bytes"};
  m.model.transform = model::Transform::kLog01;
  m.model.mean = {-2.2, 5.4, 7.6};
  m.model.scale = {0.3, 0.6, 1.9};
  m.model.coef = {0.5 + variant, 4.25, -2.0};
  m.model.intercept = -9.5;
  m.model.threshold = 0.5;
  m.metrics = {{"auc", 0.998}, {"f1", 0.995}};
  m.training_data_sha256 = std::string(64, 'a');
  m.rows = {{"train", 800}, {"test", 200}, {"invalid", 0}};
  m.training = {{"solver", "newton"}, {"iterations", 9}};
  m.created_at = "2026-01-01T00:00:00Z";
  m.producer = "mlfaas 0.1.0";
  Status st = package::WritePackage(path, m);
  if (!st.ok()) throw std::runtime_error(st.ToString());
}

void WriteBootstrapZip(const std::filesystem::path& path, bool executable) {
  static const std::string kScript = "#!/bin/sh\necho bootstrap\n";
  int err = 0;
  zip_t* za = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  if (za == nullptr) throw std::runtime_error("zip_open failed");
  zip_source_t* src = zip_source_buffer(za, kScript.data(), kScript.size(), 0);
  zip_int64_t idx = zip_file_add(za, "bootstrap", src, ZIP_FL_OVERWRITE);
  if (idx < 0) throw std::runtime_error("zip_file_add failed");
  zip_uint32_t mode = S_IFREG | (executable ? 0755 : 0644);
  zip_file_set_external_attributes(za, static_cast<zip_uint64_t>(idx), 0, ZIP_OPSYS_UNIX,
                                   mode << 16);
  if (zip_close(za) != 0) throw std::runtime_error("zip_close failed");
}

}  // namespace mlfaas::registry::testing
