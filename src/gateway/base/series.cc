#include "gateway/base/series.h"

#include <algorithm>
#include <set>

namespace mlfaas::gateway {

nlohmann::json PointJson(const SeriesPoint& p) {
  nlohmann::json avg = nullptr;
  nlohmann::json max = nullptr;
  if (p.timed > 0) {
    avg = p.sum_ms / static_cast<double>(p.timed);
    max = p.max_ms;
  }
  return {{"hits", p.hits},
          {"errors", p.errors},
          {"avg_ms", avg},
          {"max_ms", max},
          {"instances", p.instances},
          {"concurrent", p.concurrent},
          {"cold_starts", p.cold_starts}};
}

// Makes the track's newest point the one of `epoch_s` (empty points for the seconds between,
// at most kPoints of them), drops points older than kPoints seconds.
void Series::Append(Track& track, int64_t epoch_s, int instances, int concurrent) {
  auto& pts = track.points;
  if (!pts.empty() && pts.back().t >= epoch_s) return;
  int64_t from = pts.empty() ? epoch_s : pts.back().t + 1;
  from = std::max(from, epoch_s - static_cast<int64_t>(kPoints) + 1);
  for (int64_t t = from; t <= epoch_s; ++t) {
    SeriesPoint p;
    p.t = t;
    p.instances = instances;
    p.concurrent = concurrent;
    pts.push_back(p);
  }
  while (!pts.empty() && pts.front().t <= epoch_s - static_cast<int64_t>(kPoints)) pts.pop_front();
}

void Series::Add(int64_t epoch_s, const std::map<std::string, Metrics::FunctionCounts>& totals,
                 const std::map<std::string, double>& max_ms, const Metrics::Live& live) {
  std::map<std::string, int> instances;
  for (const auto& [key, n] : live.instances) instances[std::get<0>(key)] += n;
  std::set<std::string> names;
  for (const auto& [f, c] : totals) names.insert(f);
  for (const auto& [f, n] : instances) names.insert(f);
  for (const auto& [f, n] : live.concurrent) names.insert(f);
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [f, track] : tracks_) names.insert(f);
  last_t_ = std::max(last_t_, epoch_s);
  for (const std::string& f : names) {
    Track& track = tracks_[f];
    const auto conc = live.concurrent.find(f);
    const int running = conc == live.concurrent.end() ? 0 : conc->second;
    const auto inst = instances.find(f);
    Append(track, last_t_, inst == instances.end() ? 0 : inst->second, running);
    SeriesPoint& p = track.points.back();
    p.instances = inst == instances.end() ? 0 : inst->second;
    p.concurrent = running;
    const auto now = totals.find(f);
    if (now == totals.end()) continue;
    const Metrics::FunctionCounts& c = now->second;
    // Counters only grow; a smaller reading (never expected) adds nothing rather than wrapping.
    auto grew = [](uint64_t a, uint64_t b) { return a > b ? a - b : 0; };
    p.hits += grew(c.counts.invocations, track.last.counts.invocations);
    p.errors += grew(c.counts.errors, track.last.counts.errors);
    p.cold_starts += grew(c.cold_starts, track.last.cold_starts);
    p.timed += grew(c.counts.timed, track.last.counts.timed);
    p.sum_ms += std::max(0.0, c.duration_sum_ms - track.last.duration_sum_ms);
    if (auto m = max_ms.find(f); m != max_ms.end()) p.max_ms = std::max(p.max_ms, m->second);
    track.last = c;
  }
}

std::vector<SeriesPoint> Series::Points(const std::string& function) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = tracks_.find(function);
  if (it == tracks_.end()) return {};
  return {it->second.points.begin(), it->second.points.end()};
}

std::map<std::string, SeriesPoint> Series::Latest(int64_t* t) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<std::string, SeriesPoint> out;
  for (const auto& [f, track] : tracks_) {
    if (!track.points.empty()) out[f] = track.points.back();
  }
  if (t) *t = last_t_;
  return out;
}

}  // namespace mlfaas::gateway
