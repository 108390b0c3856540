#include "package/zip_io.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>

namespace mlfaas::package::internal {
namespace {

// Every entry gets the DOS timestamp 2020-01-01 00:00:00 (set directly, independent of TZ) so
// identical content gives identical zip bytes.
constexpr zip_uint16_t kDosDate = ((2020 - 1980) << 9) | (1 << 5) | 1;
constexpr zip_uint16_t kDosTime = 0;

std::string ZipErrorString(zip_error_t* err) {
  std::string s = zip_error_strerror(err);
  zip_error_fini(err);
  return s;
}

}  // namespace

StatusOr<std::unique_ptr<ZipReader>> ZipReader::Open(std::string_view bytes) {
  if (bytes.size() < 4 || std::memcmp(bytes.data(), "PK", 2) != 0) {
    return DataLoss("not a zip file");
  }
  zip_error_t err;
  zip_error_init(&err);
  zip_source_t* src = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &err);
  if (src == nullptr) return Internal("zip source: " + ZipErrorString(&err));
  zip_t* za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &err);
  if (za == nullptr) {
    zip_source_free(src);
    return DataLoss("truncated or corrupted zip: " + ZipErrorString(&err));
  }
  zip_error_fini(&err);
  return std::unique_ptr<ZipReader>(new ZipReader(za));
}

ZipReader::~ZipReader() { zip_discard(za_); }

int64_t ZipReader::num_entries() const { return zip_get_num_entries(za_, 0); }

std::string ZipReader::name(int64_t index) const {
  const char* n = zip_get_name(za_, static_cast<zip_uint64_t>(index), ZIP_FL_ENC_GUESS);
  return n ? n : "";
}

int64_t ZipReader::Locate(const std::string& name) const {
  return zip_name_locate(za_, name.c_str(), 0);
}

uint32_t ZipReader::UnixMode(int64_t index) const {
  zip_uint8_t opsys = 0;
  zip_uint32_t attr = 0;
  if (zip_file_get_external_attributes(za_, static_cast<zip_uint64_t>(index), 0, &opsys, &attr) !=
          0 ||
      opsys != ZIP_OPSYS_UNIX) {
    return 0;
  }
  return attr >> 16;
}

StatusOr<std::string> ZipReader::Read(int64_t index, uint64_t max_bytes) const {
  const std::string entry = name(index);
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat_index(za_, static_cast<zip_uint64_t>(index), 0, &st) != 0 ||
      !(st.valid & ZIP_STAT_SIZE)) {
    return DataLoss("corrupted zip: cannot stat " + entry);
  }
  if (st.size > max_bytes) {
    return InvalidArgument(entry + " is too large (" + std::to_string(st.size) + " bytes)");
  }
  zip_file_t* f = zip_fopen_index(za_, static_cast<zip_uint64_t>(index), 0);
  if (f == nullptr) {
    return DataLoss("corrupted zip: cannot open " + entry + ": " + zip_strerror(za_));
  }
  // The recorded size is the archive's claim, not a fact: memory grows with the bytes that
  // actually come out (a 128-byte zip may claim a 4 GiB entry; see package_reader_fuzz's seeds).
  std::string out;
  out.reserve(std::min<uint64_t>(st.size, uint64_t{1} << 20));
  Status status;
  char buf[64 * 1024];
  while (true) {
    zip_int64_t n = zip_fread(f, buf, sizeof buf);
    if (n < 0) {
      status = DataLoss("corrupted zip: reading " + entry + ": " +
                        zip_error_strerror(zip_file_get_error(f)));
      break;
    }
    if (n == 0) break;
    if (static_cast<uint64_t>(n) > st.size - out.size()) {
      status = DataLoss("corrupted zip: " + entry + " is longer than recorded");
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  zip_fclose(f);
  if (!status.ok()) return status;
  if (out.size() != st.size) {
    return DataLoss("corrupted zip: " + entry + " is shorter than recorded");
  }
  return out;
}

StatusOr<std::string> BuildZip(const std::vector<ZipEntry>& entries) {
  zip_error_t err;
  zip_error_init(&err);
  zip_source_t* buf = zip_source_buffer_create(nullptr, 0, 0, &err);
  if (buf == nullptr) return Internal("zip source: " + ZipErrorString(&err));
  zip_t* za = zip_open_from_source(buf, ZIP_TRUNCATE, &err);
  if (za == nullptr) {
    zip_source_free(buf);
    return Internal("zip open: " + ZipErrorString(&err));
  }
  zip_source_keep(buf);
  for (const ZipEntry& e : entries) {
    zip_source_t* s = zip_source_buffer(za, e.bytes.data(), e.bytes.size(), 0);
    zip_int64_t idx = s ? zip_file_add(za, e.name.c_str(), s, ZIP_FL_ENC_UTF_8) : -1;
    if (idx < 0) {
      if (s) zip_source_free(s);
      std::string msg = zip_strerror(za);
      zip_discard(za);
      zip_source_free(buf);
      return Internal("zip add " + e.name + ": " + msg);
    }
    auto i = static_cast<zip_uint64_t>(idx);
    zip_set_file_compression(za, i, ZIP_CM_DEFLATE, 9);
    zip_file_set_dostime(za, i, kDosTime, kDosDate, 0);
    zip_file_set_external_attributes(za, i, 0, ZIP_OPSYS_UNIX, (S_IFREG | (e.mode & 07777)) << 16);
  }
  if (zip_close(za) != 0) {
    std::string msg = zip_strerror(za);
    zip_discard(za);
    zip_source_free(buf);
    return Internal("zip close: " + msg);
  }
  std::string out;
  if (zip_source_open(buf) == 0) {
    zip_source_seek(buf, 0, SEEK_END);
    zip_int64_t size = zip_source_tell(buf);
    zip_source_seek(buf, 0, SEEK_SET);
    out.resize(size > 0 ? static_cast<size_t>(size) : 0);
    zip_int64_t n = zip_source_read(buf, out.data(), out.size());
    zip_source_close(buf);
    if (n != size) out.clear();
  }
  zip_source_free(buf);
  if (out.empty()) return Internal("zip: cannot read back the archive");
  return out;
}

}  // namespace mlfaas::package::internal
