#include "gateway/frontend/dashboard_feed.h"

#include <utility>

#include "common/json.h"

namespace mlfaas::gateway {

std::string SampleEvent(int64_t t, const std::map<std::string, SeriesPoint>& latest,
                        const auth::ScopeSet& scopes, const std::string& function) {
  nlohmann::json functions = nlohmann::json::object();
  if (!function.empty()) {
    auto it = latest.find(function);
    SeriesPoint empty;
    empty.t = t;
    functions[function] = PointJson(it == latest.end() ? empty : it->second);
  } else {
    for (const auto& [name, p] : latest) {
      if (scopes.Allows(auth::Action::kRead, name)) functions[name] = PointJson(p);
    }
  }
  return "event: sample\ndata: " + DumpJson({{"t", t}, {"functions", std::move(functions)}}) +
         "\n\n";
}

void DashboardFeed::Sample(int64_t epoch_s, Metrics& metrics, const Metrics::Live& live) {
  series_.Add(epoch_s, metrics.FunctionTotals(), metrics.TakeMaxDurations(), live);
  int64_t t = 0;
  const auto latest = series_.Latest(&t);
  std::vector<Subscriber> subs;
  std::vector<Subscriber> ended;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::erase_if(subscribers_, [&](const Subscriber& s) {
      if (s.stream->closed()) return true;
      if (epoch_s < s.ends_at) return false;
      ended.push_back(s);
      return true;
    });
    subs = subscribers_;
  }
  for (const Subscriber& s : ended) s.stream->Close();
  for (const Subscriber& s : subs) s.stream->Write(SampleEvent(t, latest, s.scopes, s.function));
}

bool DashboardFeed::Subscribe(std::shared_ptr<BodyStream> stream, auth::ScopeSet scopes,
                              std::string function, int64_t now_s) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::erase_if(subscribers_, [](const Subscriber& s) { return s.stream->closed(); });
    if (subscribers_.size() >= kMaxStreams) return false;
    subscribers_.push_back({stream, scopes, function, now_s + kMaxStreamSeconds});
  }
  // The newest sample at once: a page that reconnects misses no second.
  int64_t t = 0;
  const auto latest = series_.Latest(&t);
  if (t > 0) stream->Write(SampleEvent(t, latest, scopes, function));
  return true;
}

size_t DashboardFeed::streams() const {
  std::lock_guard<std::mutex> lock(mu_);
  return subscribers_.size();
}

void DashboardFeed::CloseAll() {
  std::vector<Subscriber> subs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    subs.swap(subscribers_);
  }
  for (const Subscriber& s : subs) s.stream->Close();
}

}  // namespace mlfaas::gateway
