#include "model/gate.h"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace mlfaas::model {
namespace {

constexpr const char* kMetrics[] = {"auc", "pr_auc", "f1", "precision", "recall", "accuracy"};

std::string Trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// A whole decimal number ("0.99", "-1e-3"); nullopt for anything else.
std::optional<double> Number(const std::string& s) {
  if (s.empty()) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (errno != 0 || end != s.c_str() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

StatusOr<GateTerm> ParseTerm(const std::string& raw) {
  const std::string t = Trim(raw);
  if (t.empty()) return InvalidArgument("the gate has an empty term");
  const size_t op_at = t.find_first_of("<>=");
  if (op_at == std::string::npos) {
    return InvalidArgument("gate term '" + t + "' has no comparison (>=, >, <=, <)");
  }
  GateTerm term;
  term.metric = Trim(t.substr(0, op_at));
  bool known = false;
  for (const char* m : kMetrics) known = known || term.metric == m;
  if (!known) {
    return InvalidArgument("gate term '" + t + "': unknown metric '" + term.metric +
                           "' (auc, pr_auc, f1, precision, recall, accuracy)");
  }
  size_t op_len = t.size() > op_at + 1 && t[op_at + 1] == '=' ? 2 : 1;
  term.op = t.substr(op_at, op_len);
  if (term.op != ">=" && term.op != ">" && term.op != "<=" && term.op != "<") {
    return InvalidArgument("gate term '" + t + "': unknown comparison '" + term.op + "'");
  }
  std::string rhs = Trim(t.substr(op_at + op_len));
  if (rhs.rfind("current", 0) == 0) {
    term.relative = true;
    std::string rest = Trim(rhs.substr(7));
    if (!rest.empty()) {
      if (rest[0] != '+' && rest[0] != '-') {
        return InvalidArgument("gate term '" + t + "': expected current+N or current-N");
      }
      auto v = Number(Trim(rest.substr(1)));
      if (!v) return InvalidArgument("gate term '" + t + "': '" + rest + "' is not a number");
      term.value = rest[0] == '-' ? -*v : *v;
    }
    return term;
  }
  auto v = Number(rhs);
  if (!v) {
    return InvalidArgument("gate term '" + t + "': '" + rhs + "' is neither a number nor current");
  }
  term.value = *v;
  return term;
}

bool Holds(double lhs, const std::string& op, double rhs) {
  if (op == ">=") return lhs >= rhs;
  if (op == ">") return lhs > rhs;
  if (op == "<=") return lhs <= rhs;
  return lhs < rhs;
}

}  // namespace

double MetricValue(const BinaryMetrics& m, const std::string& metric) {
  if (metric == "auc") return m.auc;
  if (metric == "pr_auc") return m.average_precision;
  if (metric == "f1") return m.f1;
  if (metric == "precision") return m.precision;
  if (metric == "recall") return m.recall;
  if (metric == "accuracy") return m.accuracy;
  return std::numeric_limits<double>::quiet_NaN();
}

StatusOr<std::vector<GateTerm>> ParseGate(const std::string& spec) {
  if (Trim(spec).empty()) return InvalidArgument("the gate is empty");
  std::vector<GateTerm> out;
  size_t start = 0;
  while (true) {
    const size_t comma = spec.find(',', start);
    MLFAAS_ASSIGN_OR_RETURN(GateTerm term, ParseTerm(spec.substr(start, comma - start)));
    out.push_back(term);
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

GateVerdict EvaluateGate(const std::vector<GateTerm>& gate, const BinaryMetrics& current,
                         const BinaryMetrics& candidate) {
  GateVerdict v;
  v.pass = !gate.empty();
  for (const GateTerm& t : gate) {
    const double lhs = MetricValue(candidate, t.metric);
    const double base = t.relative ? MetricValue(current, t.metric) : 0.0;
    const double rhs = t.relative ? base + t.value : t.value;
    const bool ok = std::isfinite(lhs) && std::isfinite(rhs) && Holds(lhs, t.op, rhs);
    v.pass = v.pass && ok;
    std::string how;
    if (t.relative) {
      how = t.value == 0 ? " (current)" : fmt::format(" (current{:+g})", t.value);
    }
    if (!v.reason.empty()) v.reason += "; ";
    v.reason += fmt::format(
        "{} {:.5f} {} {:.5f}{}: {}", t.metric, lhs, t.op, rhs, how,
        ok ? "pass" : (std::isfinite(lhs) && std::isfinite(rhs) ? "FAIL" : "FAIL (undefined)"));
  }
  return v;
}

}  // namespace mlfaas::model
