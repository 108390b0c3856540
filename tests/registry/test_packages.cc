#include "registry/test_packages.h"

#include <sys/stat.h>
#include <zip.h>

#include <stdexcept>

#include "package/package.h"
#include "testing/sample_manifest.h"

namespace mlfaas::registry::testing {

void WriteModelPackage(const std::filesystem::path& path, int variant) {
  package::Manifest m = package::sample::SampleManifest();
  m.model.coef[0] += variant;
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
