// An in-memory numeric data set: named feature columns (row-major) and an optional 0/1 label.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mlfaas::model {

struct Dataset {
  std::vector<std::string> features;  // column names, in the order of x's columns
  std::vector<double> x;              // row-major, rows() * features.size() raw values
  bool has_label = false;
  std::vector<uint8_t> y;  // 0/1 per row when has_label, else empty
  // Rows dropped because they were invalid (only with skip_invalid).
  size_t invalid_rows = 0;
  // "file:line: reason" of the first few invalid rows (at most 5), for reports.
  std::vector<std::string> invalid_examples;

  size_t num_features() const { return features.size(); }
  size_t rows() const { return features.empty() ? 0 : x.size() / features.size(); }
  const double* row(size_t i) const { return x.data() + i * features.size(); }
};

}  // namespace mlfaas::model
