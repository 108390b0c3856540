// Reads numeric CSV files (plain or gzip, detected from content) with a header row.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/status.h"
#include "model/dataset.h"
#include "model/linear_model.h"

namespace mlfaas::model {

struct CsvOptions {
  // Feature columns to read, by header name, in this order. Other columns are ignored.
  std::vector<std::string> features;
  // Label column (values 0 or 1). Empty: no label.
  std::string label;
  // When false, a missing label column is an error; when true, has_label says if it was found.
  bool label_optional = false;
  // Values must be >= 0 when the transform needs it (kLog01).
  Transform transform = Transform::kNone;
  // Invalid rows (missing value, non-numeric, NaN/Inf, negative under log, label not 0/1) fail the
  // read with "file:line: reason" unless skip_invalid, which drops and counts them.
  bool skip_invalid = false;
};

// Errors: InvalidArgument for an unreadable/empty file, a missing column or an invalid row.
// Fast path: the file is decompressed into memory once and parsed with std::from_chars.
StatusOr<Dataset> ReadCsv(const std::filesystem::path& path, const CsvOptions& options);

// Same on already-decompressed text; `name` is used in error messages instead of a path.
StatusOr<Dataset> ParseCsv(std::string_view text, const std::string& name,
                           const CsvOptions& options);

}  // namespace mlfaas::model
