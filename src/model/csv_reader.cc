#include "model/csv_reader.h"

#include <zlib.h>

#include <charconv>
#include <cmath>
#include <cstring>

namespace mlfaas::model {
namespace {

constexpr size_t kMaxExamples = 5;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

std::vector<std::string_view> SplitHeader(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t comma = line.find(',', start);
    out.push_back(Trim(line.substr(start, comma - start)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

// Column layout: for each CSV column, the dataset slot it feeds (-1 ignored, d = label).
struct Layout {
  std::vector<int> slot;
  size_t d = 0;
  bool has_label = false;
};

StatusOr<Layout> MakeLayout(std::string_view header, const std::string& name, const CsvOptions& o) {
  std::vector<std::string_view> cols = SplitHeader(header);
  Layout layout;
  layout.slot.assign(cols.size(), -1);
  layout.d = o.features.size();
  auto find = [&](const std::string& want) -> int {
    for (size_t k = 0; k < cols.size(); ++k) {
      if (cols[k] == want) return static_cast<int>(k);
    }
    return -1;
  };
  for (size_t j = 0; j < o.features.size(); ++j) {
    int k = find(o.features[j]);
    if (k < 0) return InvalidArgument(name + ": column '" + o.features[j] + "' not in header");
    layout.slot[k] = static_cast<int>(j);
  }
  if (!o.label.empty()) {
    int k = find(o.label);
    if (k >= 0) {
      layout.slot[k] = static_cast<int>(layout.d);
      layout.has_label = true;
    } else if (!o.label_optional) {
      return InvalidArgument(name + ": label column '" + o.label + "' not in header");
    }
  }
  return layout;
}

// Parses one data line into `vals` (d features, then label). Returns "" or the reason.
std::string ParseLine(std::string_view line, const Layout& L, const CsvOptions& o, double* vals) {
  size_t k = 0;
  const char* p = line.data();
  const char* end = p + line.size();
  while (true) {
    const char* comma = static_cast<const char*>(std::memchr(p, ',', end - p));
    const char* fe = comma ? comma : end;
    if (k < L.slot.size() && L.slot[k] >= 0) {
      const int s = L.slot[k];
      const std::string& col = static_cast<size_t>(s) < L.d ? o.features[s] : o.label;
      std::string_view f = Trim(std::string_view(p, fe - p));
      if (f.empty()) return "column '" + col + "' is empty";
      double v;
      auto [ptr, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
      if (ec != std::errc() || ptr != f.data() + f.size()) {
        return "column '" + col + "': '" + std::string(f) + "' is not a number";
      }
      if (!std::isfinite(v)) return "column '" + col + "' is not finite";
      if (static_cast<size_t>(s) == L.d) {
        if (v != 0.0 && v != 1.0)
          return "label '" + col + "' must be 0 or 1, got " + std::string(f);
      } else if (v < 0 && o.transform == Transform::kLog01) {
        return "column '" + col + "' is negative (" + std::string(f) +
               "); log transform needs >= 0";
      }
      vals[s] = v;
    }
    ++k;
    if (!comma) break;
    p = comma + 1;
  }
  if (k != L.slot.size()) {
    return "expected " + std::to_string(L.slot.size()) + " columns, got " + std::to_string(k);
  }
  return "";
}

}  // namespace

StatusOr<Dataset> ParseCsv(std::string_view text, const std::string& name, const CsvOptions& o) {
  if (o.features.empty()) return InvalidArgument("no feature columns given");
  size_t nl = text.find('\n');
  std::string_view header = text.substr(0, nl);
  if (Trim(header).empty()) return InvalidArgument(name + ": empty file (no header)");
  MLFAAS_ASSIGN_OR_RETURN(Layout L, MakeLayout(header, name, o));
  Dataset ds;
  ds.features = o.features;
  ds.has_label = L.has_label;
  ds.x.reserve(text.size() / 8);
  std::vector<double> vals(L.d + 1);
  size_t line_no = 1;
  size_t pos = nl == std::string_view::npos ? text.size() : nl + 1;
  while (pos < text.size()) {
    ++line_no;
    size_t e = text.find('\n', pos);
    if (e == std::string_view::npos) e = text.size();
    std::string_view line = text.substr(pos, e - pos);
    pos = e + 1;
    if (Trim(line).empty()) continue;
    std::string why = ParseLine(line, L, o, vals.data());
    if (!why.empty()) {
      std::string msg = name + ":" + std::to_string(line_no) + ": " + why;
      if (!o.skip_invalid) {
        return InvalidArgument(msg + " (use --skip-invalid to drop invalid rows)");
      }
      if (ds.invalid_examples.size() < kMaxExamples) ds.invalid_examples.push_back(msg);
      ++ds.invalid_rows;
      continue;
    }
    ds.x.insert(ds.x.end(), vals.begin(), vals.begin() + L.d);
    if (L.has_label) ds.y.push_back(vals[L.d] != 0.0);
  }
  return ds;
}

StatusOr<Dataset> ReadCsv(const std::filesystem::path& path, const CsvOptions& o) {
  const std::string name = path.string();
  gzFile f = gzopen(name.c_str(), "rb");
  if (f == nullptr) return InvalidArgument("cannot open " + name + ": " + std::strerror(errno));
  gzbuffer(f, 1 << 17);
  std::string text;
  size_t used = 0;
  while (true) {
    if (text.size() - used < (1 << 20)) text.resize(std::max<size_t>(text.size() * 2, 1 << 22));
    int n = gzread(f, text.data() + used, static_cast<unsigned>(text.size() - used));
    if (n < 0) {
      int errnum = 0;
      std::string err = gzerror(f, &errnum);
      gzclose(f);
      return InvalidArgument(name + ": cannot read (" + err + ")");
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  gzclose(f);
  text.resize(used);
  return ParseCsv(text, name, o);
}

}  // namespace mlfaas::model
