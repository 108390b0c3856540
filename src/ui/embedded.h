// The table cmake/EmbedFiles.cmake generates (internal to assets.cc).
#pragma once

#include <cstddef>

namespace mlfaas::ui::detail {

struct EmbeddedFile {
  const char* name;  // null ends the table
  const unsigned char* data;
  size_t size;
  const char* etag;  // the first 16 hex digits of the file's sha256
};
extern const EmbeddedFile kEmbedded[];

}  // namespace mlfaas::ui::detail
