#include "loadtest/criteria.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <regex>

#include "loadtest/duration.h"

namespace mlfaas::loadtest {
namespace {

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

Status ParseSubject(const std::string& s, Criterion& c) {
  static const std::regex kPct(R"(p(\d{1,2}(\.\d+)?|100))");
  std::smatch m;
  if (s == "avg-rt") {
    c.subject = Criterion::Subject::kAvgRt;
  } else if (s == "max-rt") {
    c.subject = Criterion::Subject::kMaxRt;
  } else if (s == "hits") {
    c.subject = Criterion::Subject::kHits;
  } else if (s == "fail") {
    c.subject = Criterion::Subject::kFail;
  } else if (s == "succ") {
    c.subject = Criterion::Subject::kSucc;
  } else if (std::regex_match(s, m, kPct)) {
    c.subject = Criterion::Subject::kPercentile;
    c.percentile = std::stod(m[1].str());
  } else {
    return InvalidArgument("unknown subject '" + s +
                           "': expected avg-rt, max-rt, pNN, hits, fail or succ");
  }
  return Status::Ok();
}

Status ParseThreshold(const std::string& s, Criterion& c) {
  static const std::regex kNum(R"((\d+(\.\d+)?)\s*(ms|s|%)?)");
  std::smatch m;
  if (!std::regex_match(s, m, kNum)) {
    return InvalidArgument("bad threshold '" + s + "': expected a number, e.g. 150ms, 2s, 5%");
  }
  const bool latency = c.subject == Criterion::Subject::kAvgRt ||
                       c.subject == Criterion::Subject::kMaxRt ||
                       c.subject == Criterion::Subject::kPercentile;
  const std::string unit = m[3].str();
  c.threshold = std::stod(m[1].str());
  if (unit == "%") {
    if (c.subject != Criterion::Subject::kFail && c.subject != Criterion::Subject::kSucc) {
      return InvalidArgument("'%' threshold only applies to fail and succ: '" + s + "'");
    }
    c.percent = true;
  } else if (!unit.empty() && !latency) {
    return InvalidArgument("time unit on a count subject: '" + s + "'");
  } else if (unit == "s") {
    c.threshold *= 1000;
  }
  return Status::Ok();
}

Criterion::Cmp CmpFrom(const std::string& op) {
  if (op == ">") return Criterion::Cmp::kGt;
  if (op == ">=") return Criterion::Cmp::kGe;
  if (op == "<") return Criterion::Cmp::kLt;
  if (op == "<=") return Criterion::Cmp::kLe;
  return Criterion::Cmp::kEq;
}

std::string FormatValue(const Criterion& c, double v) {
  char buf[64];
  switch (c.subject) {
    case Criterion::Subject::kHits:
      std::snprintf(buf, sizeof buf, "%.0f", v);
      break;
    case Criterion::Subject::kFail:
    case Criterion::Subject::kSucc:
      std::snprintf(buf, sizeof buf, c.percent ? "%.2f%%" : "%.0f", v);
      break;
    default:
      std::snprintf(buf, sizeof buf, "%.2fms", v);
  }
  return buf;
}

}  // namespace

StatusOr<Criterion> ParseCriterion(std::string_view text) {
  static const std::regex kMain(
      R"(\s*([a-z0-9.\-]+)\s*(>=|<=|==|=|>|<)\s*([0-9.]+\s*(?:ms|s|%)?)\s*(?:(for|within)\s+(\S+))?\s*)");
  static const std::regex kAction(R"(\s*(stop|continue)\s+as\s+(failed|non-failed)\s*)");
  Criterion c;
  c.text = Trim(text);
  const std::string label = "criterion '" + c.text + "'";
  const std::string where = label + ": ";
  const std::string s(text);
  const size_t comma = s.find(',');
  const std::string main = s.substr(0, comma);
  std::smatch m;
  if (!std::regex_match(main, m, kMain)) {
    return InvalidArgument(where +
                           "expected <subject><op><threshold> [for|within <time>], e.g. "
                           "\"p99>50ms for 10s, stop as failed\"");
  }
  MLFAAS_RETURN_IF_ERROR(ParseSubject(m[1].str(), c).WithPrefix(label));
  c.cmp = CmpFrom(m[2].str());
  MLFAAS_RETURN_IF_ERROR(ParseThreshold(Trim(m[3].str()), c).WithPrefix(label));
  if (m[4].matched) {
    c.logic = m[4].str() == "for" ? Criterion::Logic::kFor : Criterion::Logic::kWithin;
    auto tf = ParseDuration(m[5].str());
    if (!tf.ok()) return tf.status().WithPrefix(label);
    c.timeframe_s = static_cast<int>(std::llround(ToSeconds(*tf)));
    if (c.timeframe_s < 1) return InvalidArgument(where + "timeframe must be at least 1s");
  }
  if (comma != std::string::npos) {
    const std::string action = s.substr(comma + 1);
    if (!std::regex_match(action, m, kAction)) {
      return InvalidArgument(where + "expected 'stop|continue as failed|non-failed' after ','");
    }
    c.stop = m[1].str() == "stop";
    c.fail = m[2].str() == "failed";
  }
  return c;
}

void Window::Merge(const Window& other) {
  latency.Merge(other.latency);
  hits += other.hits;
  failures += other.failures;
}

double SubjectValue(const Criterion& c, const Window& w) {
  auto share = [&](int64_t n) {
    return c.percent ? (w.hits ? 100.0 * static_cast<double>(n) / w.hits : 0.0)
                     : static_cast<double>(n);
  };
  switch (c.subject) {
    case Criterion::Subject::kAvgRt:
      return w.latency.mean() / 1e6;
    case Criterion::Subject::kMaxRt:
      return static_cast<double>(w.latency.max()) / 1e6;
    case Criterion::Subject::kPercentile:
      return static_cast<double>(w.latency.Percentile(c.percentile)) / 1e6;
    case Criterion::Subject::kHits:
      return static_cast<double>(w.hits);
    case Criterion::Subject::kFail:
      return share(w.failures);
    case Criterion::Subject::kSucc:
      return share(w.hits - w.failures);
  }
  return 0;
}

bool Compare(Criterion::Cmp cmp, double value, double threshold) {
  switch (cmp) {
    case Criterion::Cmp::kGt:
      return value > threshold;
    case Criterion::Cmp::kGe:
      return value >= threshold;
    case Criterion::Cmp::kLt:
      return value < threshold;
    case Criterion::Cmp::kLe:
      return value <= threshold;
    case Criterion::Cmp::kEq:
      return std::fabs(value - threshold) < 1e-9;
  }
  return false;
}

CriteriaEvaluator::CriteriaEvaluator(std::vector<Criterion> criteria) {
  for (auto& c : criteria) {
    if (c.logic == Criterion::Logic::kWithin) {
      max_window_ = std::max(max_window_, static_cast<size_t>(c.timeframe_s));
    }
    CriterionResult r;
    r.criterion = std::move(c);
    r.message = "not triggered";
    results_.push_back(std::move(r));
  }
  streak_.assign(results_.size(), 0);
}

bool CriteriaEvaluator::OnSecond(int64_t second, const Window& w) {
  if (max_window_ > 0) {
    recent_.push_back(w);
    if (recent_.size() > max_window_) recent_.pop_front();
  }
  bool stop = false;
  for (size_t i = 0; i < results_.size(); ++i) {
    CriterionResult& r = results_[i];
    const Criterion& c = r.criterion;
    if (r.triggered || c.logic == Criterion::Logic::kTotal) continue;
    double value = 0;
    bool hit = false;
    if (c.logic == Criterion::Logic::kFor) {
      value = SubjectValue(c, w);
      streak_[i] = Compare(c.cmp, value, c.threshold) ? streak_[i] + 1 : 0;
      hit = streak_[i] >= c.timeframe_s;
    } else if (recent_.size() >= static_cast<size_t>(c.timeframe_s)) {
      Window agg;
      for (size_t k = recent_.size() - c.timeframe_s; k < recent_.size(); ++k)
        agg.Merge(recent_[k]);
      value = SubjectValue(c, agg);
      hit = Compare(c.cmp, value, c.threshold);
    }
    if (!hit) continue;
    r.triggered = true;
    r.value = value;
    r.at_seconds = static_cast<double>(second + 1);
    r.message = "triggered at " + std::to_string(second + 1) + "s (value " + FormatValue(c, value) +
                ")" + (c.stop ? ", test stopped" : "");
    stop = stop || c.stop;
  }
  return stop;
}

void CriteriaEvaluator::Finish(const Window& total) {
  for (CriterionResult& r : results_) {
    const Criterion& c = r.criterion;
    if (c.logic != Criterion::Logic::kTotal) continue;
    r.value = SubjectValue(c, total);
    r.triggered = Compare(c.cmp, r.value, c.threshold);
    r.message = std::string(r.triggered ? "triggered" : "not triggered") +
                " (whole run: " + FormatValue(c, r.value) + ")";
  }
}

bool CriteriaEvaluator::Failed() const {
  return std::any_of(results_.begin(), results_.end(),
                     [](const CriterionResult& r) { return r.triggered && r.criterion.fail; });
}

}  // namespace mlfaas::loadtest
